/** `orders` (today's draft purchase order per supplier) and `override` (planner forecast adjustments). */
import type { Command } from 'commander';
import { stringify } from 'csv-stringify/sync';
import type { Action } from '../cli.js';
import { draftOrders } from '../jobs/orders.js';
import { addOverride, listOverrides, overrideAudit, removeOverride } from '../jobs/overrides.js';
import { UsageError } from '../errors.js';
import { jobContext } from './jobs.js';
import { formatNumber, keyValues, table, type Cell } from './render.js';

const num = (flag: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UsageError(`${flag}: "${v}" is not a number`);
  return n;
};

export function registerOrders(program: Command, action: Action): void {
  program
    .command('orders')
    .description("today's draft purchase order per supplier: lines due within its review period, topped up to its minimum order value")
    .option('--csv', 'one CSV row per order line')
    .option('--record', 'store the drafts (order_drafts, order_draft_lines)')
    .option('--all-suppliers', 'draft for every supplier, not only those whose review day is today')
    .addHelpText('after', '\nExample:\n  optiflow orders --as-of 2026-11-23\n  optiflow orders --csv > orders.csv')
    .action(action(async (ctx, o: { csv?: boolean; record?: boolean; allSuppliers?: boolean }) => {
      const r = await draftOrders(await jobContext(ctx), { record: o.record, allSuppliers: o.allSuppliers });
      if (ctx.json) return ctx.out(JSON.stringify(r, null, 2) + '\n');
      if (o.csv) {
        const rows = r.drafts.flatMap((d) => d.lines.map((l) => ({
          supplier: d.supplier, location: d.location, sku: l.sku, quantity: l.quantity, pack_size: l.pack_size, moq: l.moq, unit_cost: l.unit_cost, value: l.value,
          reason: l.reason, draft_total: d.total, min_order_value: d.min_order_value, status: d.status, note: d.note ?? '', expected_arrival: d.expected_arrival, draft_id: d.draft_id ?? '',
        })));
        return ctx.out(stringify(rows, { header: true, columns: ['supplier', 'location', 'sku', 'quantity', 'pack_size', 'moq', 'unit_cost', 'value', 'reason', 'draft_total', 'min_order_value', 'status', 'note', 'expected_arrival', 'draft_id'] }));
      }
      for (const d of r.drafts) {
        ctx.out(`\n${d.supplier} (${d.supplier_name}) @ ${d.location}: review ${d.review_days}, lead time ${d.lead_time_days} d (${d.lead_time_source}), arrives ${d.expected_arrival}, covers until ${d.covers_until}\n`);
        ctx.out(table(d.lines as unknown as Record<string, Cell>[], ['sku', 'quantity', 'pack_size', 'moq', 'unit_cost', 'value', 'reason']));
        ctx.out(`total ${formatNumber(d.total, 'total')} (minimum order value ${formatNumber(d.min_order_value, 'value')}, order cost ${formatNumber(d.order_cost, 'cost')})${d.status === 'below_minimum' ? '  BELOW MINIMUM' : ''}${d.draft_id ? `  draft #${d.draft_id}` : ''}\n`);
        if (d.note) ctx.out(`note: ${d.note}\n`);
      }
      if (r.due_later.length) ctx.out('\nsuppliers with products due but no review day today\n' + table(r.due_later as unknown as Record<string, Cell>[]));
      ctx.out('\n' + keyValues(r.summary as Record<string, Cell>));
    }));

  const ov = program
    .command('override')
    .description('planner adjustment of a forecast: scale it (--factor) or set it (--qty) over dates; applied by predict, audited')
    .argument('[sku]')
    .option('--location <code>', 'location code (default MAIN)')
    .option('--from <date>', 'first day (YYYY-MM-DD)')
    .option('--to <date>', 'last day (YYYY-MM-DD)')
    .option('--factor <f>', 'multiply the forecast by f (1.3 = +30 %)', num('--factor'))
    .option('--qty <q>', 'forecast q units per day instead of the model', num('--qty'))
    .option('--reason <text>', 'why (shown next to every figure it changes)')
    .addHelpText('after', '\nExamples:\n  optiflow override SKU-00042 --from 2026-12-01 --to 2026-12-24 --factor 1.5 --reason "end-cap display"\n  optiflow override list\n  optiflow override remove 3')
    .action(action(async (ctx, sku: string | undefined, o: { location?: string; from?: string; to?: string; factor?: number; qty?: number; reason?: string }) => {
      if (!sku) throw new UsageError('override: give a SKU (or use override list | remove ID | audit)');
      if (!o.from || !o.to) throw new UsageError('override: --from and --to are required');
      const r = await addOverride(await jobContext(ctx), { sku, location: o.location, from: o.from, to: o.to, factor: o.factor, qty: o.qty, reason: o.reason ?? '' });
      ctx.out(ctx.json ? JSON.stringify(r, null, 2) + '\n' : keyValues(r as unknown as Record<string, Cell>));
    }));
  ov.command('list').description('active overrides (all, removed included, with --all)').option('--all', 'removed ones too')
    .action(action(async (ctx, o: { all?: boolean }) => {
      const rows = await listOverrides(await jobContext(ctx), o);
      ctx.out(ctx.json ? JSON.stringify(rows, null, 2) + '\n' : table(rows as Record<string, Cell>[]));
    }));
  ov.command('remove').description('deactivate an override (kept in the audit)').argument('<id>')
    .action(action(async (ctx, id: string) => {
      if (!/^\d+$/.test(id)) throw new UsageError(`override remove: "${id}" is not an override id (see optiflow override list)`);
      const r = await removeOverride(await jobContext(ctx), Number(id));
      ctx.out(ctx.json ? JSON.stringify(r) + '\n' : keyValues(r as unknown as Record<string, Cell>));
    }));
  ov.command('audit').description('who added or removed which override, and when')
    .action(action(async (ctx) => {
      const rows = await overrideAudit(await jobContext(ctx));
      ctx.out(ctx.json ? JSON.stringify(rows, null, 2) + '\n' : table(rows as Record<string, Cell>[]));
    }));
}
