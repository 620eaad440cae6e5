/** On-demand planning commands: suggest, optimize, patterns, quality-risk, simulate (and orders, override). */
import type { Command } from 'commander';
import type { Action } from '../cli.js';
import { suggestOrder, optimizePolicies, simulatePolicies } from '../jobs/planning.js';
import { analysePatterns } from '../jobs/patterns.js';
import { qualityRiskJob } from '../jobs/quality.js';
import { UsageError } from '../errors.js';
import { jobContext, registerJob } from './jobs.js';
import { intOption } from './options.js';
import { keyValues, table, type Cell } from './render.js';
import { registerOrders } from './orders.js';

const num = (flag: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UsageError(`${flag}: "${v}" is not a number`);
  return n;
};

export function registerPlanning(program: Command, action: Action): void {
  registerOrders(program, action);
  program
    .command('suggest')
    .description('the quantity to order now for one series: forecast + safety stock - stock - open orders, pack, MOQ, price breaks, shelf life')
    .argument('<sku>')
    .option('--location <code>', 'location code (default MAIN)')
    .option('--target-date <date>', 'cover demand until this date (default: today + lead time + review period)')
    .option('--safety-margin <fraction>', 'extra demand cover, e.g. 0.1 = +10 %', num('--safety-margin'))
    .option('--service-level <p>', 'probability of not running out, 0 < p < 1 (default: the series policy, else 0.95)', num('--service-level'))
    .option('--record', 'store the suggestion (purchase orders can refer to it; savings counts its price-break gain)')
    .addHelpText('after', '\nExample:\n  optiflow suggest SKU-00042 --service-level 0.98 --json')
    .action(action(async (ctx, sku: string, o: { location?: string; targetDate?: string; safetyMargin?: number; serviceLevel?: number; record?: boolean }) => {
      const r = await suggestOrder(await jobContext(ctx), { sku, ...o });
      if (ctx.json) return ctx.out(JSON.stringify(r, null, 2) + '\n');
      ctx.out(keyValues({
        sku: `${r.sku}@${r.location}`, quantity: r.quantity, 'order by': r.order_by, 'expected arrival': r.expected_arrival, 'projected stock-out': r.projected_stockout,
        supplier: r.supplier ? `${r.supplier.name} (${r.supplier.code}), lead time ${r.supplier.lead_time_days} d (${r.supplier.lead_time_source === 'receipts' ? `learned from ${r.supplier.receipts} receipts` : 'stated'}), review every ${r.supplier.review_period_days} d, MOQ ${r.supplier.moq}, pack ${r.supplier.pack_size}` : '-',
        ...(r.overrides.length ? { 'forecast override': r.overrides.join('; ') } : {}),
        'unit cost': r.unit_cost, 'total cost': r.total_cost, 'safety stock': `${r.safety_stock.units} (${r.safety_stock.method}, service level ${r.safety_stock.service_level})`,
        'on hand': r.on_hand, why: r.why, ...(r.suggestion_id ? { 'suggestion id': r.suggestion_id } : {}),
      }));
      if (r.alternatives.length) ctx.out('\nalternatives\n' + table(r.alternatives as unknown as Record<string, Cell>[]));
    }));

  program
    .command('optimize')
    .description('ABC/XYZ classes, service level per class, reorder point and order-up-to per series, under a budget and capacities')
    .option('--budget <amount>', 'total average stock value allowed', num('--budget'))
    .option('--capacity <list>', 'units per location, e.g. MAIN=50000,LOC-02=20000')
    .addHelpText('after', '\nExample:\n  optiflow optimize --budget 150000')
    .action(action(async (ctx, o: { budget?: number; capacity?: string }) => {
      if (o.budget !== undefined && o.budget <= 0) throw new UsageError(`--budget: ${o.budget} must be positive`);
      const capacity: Record<string, number> = {};
      for (const part of (o.capacity ?? '').split(',').filter(Boolean)) {
        const [k, v] = part.split('=');
        if (!k || !(Number(v) > 0)) throw new UsageError(`--capacity: "${part}" is not LOCATION=units`);
        capacity[k] = Number(v);
      }
      const r = await optimizePolicies(await jobContext(ctx), { budget: o.budget, capacity });
      if (ctx.json) return ctx.out(JSON.stringify(r, null, 2) + '\n');
      ctx.out(table(r.rows.slice(0, 50) as unknown as Record<string, Cell>[]) + (r.rows.length > 50 ? `... ${r.rows.length - 50} more (use --json)\n` : ''));
      ctx.out(keyValues(r.summary as Record<string, Cell>));
    }));

  program
    .command('patterns')
    .description('weekly and yearly seasonality, trend, dated anomalies, strongest correlations between products')
    .argument('[sku]')
    .option('--location <code>', 'location code (default MAIN)')
    .option('--top <n>', 'correlated pairs to show', intOption('--top', 1), 5)
    .addHelpText('after', '\nExample:\n  optiflow patterns SKU-00042')
    .action(action(async (ctx, sku: string | undefined, o: { location?: string; top: number }) => {
      const r = await analysePatterns(await jobContext(ctx), { sku, location: o.location, top: o.top });
      if (ctx.json) return ctx.out(JSON.stringify(r, null, 2) + '\n');
      if (sku) {
        const s = r.series[0];
        ctx.out(`${s.sku}@${s.location} (${s.category}), mean ${s.mean_daily}/day, trend ${s.trend.label}\n`);
        ctx.out('weekly shape   ' + Object.entries(s.weekly_shape).map(([k, v]) => `${k} ${v}`).join('  ') + `   strength ${s.weekly_strength?.toFixed(2)}\n`);
        ctx.out('yearly shape   ' + s.yearly_shape.map((v, i) => `${['J', 'F', 'M', 'A', 'M', 'J', 'J', 'A', 'S', 'O', 'N', 'D'][i]} ${v}`).join('  ') + `   strength ${s.yearly_strength?.toFixed(2)}\n`);
        ctx.out(`\nanomalies\n` + table(s.anomalies as unknown as Record<string, Cell>[]));
      } else {
        ctx.out(table(r.series.map((s) => ({ sku: s.sku, location: s.location, mean_daily: s.mean_daily, weekly_strength: s.weekly_strength, yearly_strength: s.yearly_strength, trend: s.trend.label, anomalies: s.anomalies.length }))));
      }
      ctx.out(`\ncorrelations (weekly demand, at least ${r.min_overlap_weeks} weeks in common)\n` + table([...r.correlations.positive, ...r.correlations.negative] as unknown as Record<string, Cell>[]));
    }));

  registerJob(program, action, qualityRiskJob, (c) => c.addHelpText('after', '\nExample:\n  optiflow quality-risk --json'));

  program
    .command('simulate')
    .description('replay history day by day, each morning knowing only what was known then, with optiflow\'s policy (orders per supplier on review days) and a static min/max baseline: fill rate, stock-outs, stock value, orders, purchase, holding, ordering cost, lost margin, total cost')
    .option('--policy <name>', 'optiflow, minmax or both', 'both')
    .option('--from <date>', 'first day (default: 180 days before --to)')
    .option('--to <date>', 'last day (default: yesterday)')
    .option('--refit-days <n>', 'refit the models every n days', intOption('--refit-days', 1), 7)
    .option('--service-level <p>', 'optiflow policy service level (default 0.95)', num('--service-level'))
    .option('--price-breaks', 'let the optiflow policy buy bigger lots at break prices (min/max pays list price)')
    .addHelpText('after', '\nExample:\n  optiflow simulate --from 2026-05-01 --to 2026-10-31')
    .action(action(async (ctx, o: { policy: string; from?: string; to?: string; refitDays: number; serviceLevel?: number; priceBreaks?: boolean }) => {
      if (o.serviceLevel !== undefined && !(o.serviceLevel > 0 && o.serviceLevel < 1)) throw new UsageError(`--service-level: ${o.serviceLevel} must be between 0 and 1`);
      if (!['optiflow', 'minmax', 'both'].includes(o.policy)) throw new UsageError(`--policy: "${o.policy}" must be optiflow, minmax or both`);
      const r = await simulatePolicies(await jobContext(ctx), { policy: o.policy as 'both', from: o.from, to: o.to, refitDays: o.refitDays, serviceLevel: o.serviceLevel, priceBreaks: o.priceBreaks });
      if (ctx.json) return ctx.out(JSON.stringify(r, null, 2) + '\n');
      ctx.out(`simulation ${r.from} .. ${r.to} (${r.days} days, ${r.series} series, models refitted every ${r.refit_days} days, service level ${r.service_level}, price breaks ${r.price_breaks ? 'on' : 'off'})\n`);
      ctx.out(table(r.rows as unknown as Record<string, Cell>[]));
      ctx.out('total cost = purchase cost of the demand + holding + ordering + lost margin; orders = purchase orders (supplier-days); formulas in docs/planning.md\n');
    }));
}
