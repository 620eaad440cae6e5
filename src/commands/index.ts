/** Every command beyond the data commands. */
import type { Command } from 'commander';
import type { Action } from '../cli.js';
import { predictJob, trainJob, validateJob, listModels, showModel, rollbackModel } from '../jobs/forecasting.js';
import { registerJob, jobContext } from './jobs.js';
import { eventsImpactJob } from '../jobs/events-impact.js';
import { alertsJob } from '../jobs/alerts.js';
import { monitorJob } from '../jobs/monitor.js';
import { dormantJob, kpisJob, revenueJob, savingsJob, topUrgentJob, trendsJob } from '../jobs/dashboard.js';
import { intOption, listOption } from './options.js';
import { describeParams, table, type Cell } from './render.js';

export function registerCommands(program: Command, action: Action): void {
  registerJob(program, action, trainJob, (c) =>
    c.option('--force', 'retrain every series, not only those that need it')
      .option('--sku <list>', 'only these SKUs (comma-separated)', listOption)
      .addHelpText('after', '\nExample:\n  optiflow train --as-of 2026-11-23 --force'));
  registerJob(program, action, validateJob, (c) => c.addHelpText('after', '\nExample:\n  optiflow validate'));
  registerJob(program, action, predictJob, (c) =>
    c.option('--horizon <days>', 'days to forecast (default: config horizon, 30)', intOption('--horizon', 1))
      .addHelpText('after', '\nExample:\n  optiflow predict --as-of 2026-11-23 --horizon 28'));

  registerJob(program, action, eventsImpactJob, (c) => c.addHelpText('after', '\nExample:\n  optiflow events-impact --json'));
  registerJob(program, action, alertsJob, (c) => c.addHelpText('after', '\nExample:\n  optiflow alerts --as-of 2026-11-23'), undefined, ['severity', 'kind', 'sku', 'location', 'stockout_date', 'days_of_cover', 'suggested_qty', 'message']);
  registerJob(program, action, monitorJob, (c) => c.addHelpText('after', '\nExample:\n  optiflow monitor --json'));
  registerJob(program, action, kpisJob, (c) => c.option('--refresh', 'recompute even if the cached KPIs are fresh').addHelpText('after', '\nExample:\n  optiflow kpis --refresh'));
  registerJob(program, action, savingsJob, (c) => c.addHelpText('after', '\nExample:\n  optiflow savings'));
  registerJob(program, action, revenueJob, (c) => c.addHelpText('after', '\nExample:\n  optiflow revenue --json'));
  registerJob(program, action, trendsJob, (c) => c.addHelpText('after', '\nExample:\n  optiflow trends'));
  registerJob(program, action, topUrgentJob, (c) => c.option('--n <count>', 'how many alerts (default 10)', intOption('--n', 1)).addHelpText('after', '\nExample:\n  optiflow top-urgent --n 5'));
  registerJob(program, action, dormantJob, (c) => c.option('--days <n>', 'days without a sale (default 90)', intOption('--days', 1)).addHelpText('after', '\nExample:\n  optiflow dormant --days 120'));

  const models = program.command('models').description('model lifecycle: list, show, rollback');
  models.command('list').description('active and candidate models (all versions with --all)')
    .option('--sku <sku>', 'one SKU').option('--all', 'every version, retired and rejected too')
    .action(action(async (ctx, o: { sku?: string; all?: boolean }) => {
      const rows = await listModels(await jobContext(ctx), o);
      ctx.out(ctx.json ? JSON.stringify(rows, null, 2) + '\n' : table(rows as Record<string, Cell>[]));
    }));
  models.command('show').description('every version of a series\' model with its parameters, backtest metrics and reason')
    .argument('<sku>').option('--location <code>', 'location code (default MAIN)')
    .action(action(async (ctx, sku: string, o: { location?: string }) => {
      const rows = await showModel(await jobContext(ctx), sku, o.location);
      if (ctx.json) return ctx.out(JSON.stringify(rows, null, 2) + '\n');
      for (const m of rows) {
        ctx.out(`v${m.version}  ${m.status}  ${m.algorithm}  trained ${m.trained_at} on data to ${m.train_end}\n  reason: ${m.reason}\n`);
        for (const line of describeParams((m.params ?? {}) as Record<string, unknown>)) ctx.out(`  ${line}\n`);
        const metrics = m.metrics as Record<string, { rmsse: number; mase: number; wape: number | null; mape: number | null }>;
        ctx.out(table(Object.entries(metrics).map(([k, v]) => ({ candidate: k, rmsse: v.rmsse, mase: v.mase, wape: v.wape, mape: v.mape }))).replace(/^/gm, '  ') + '\n');
      }
    }));
  models.command('rollback').description('restore the previous version of a series\' model')
    .argument('<sku>').option('--location <code>', 'location code (default MAIN)')
    .action(action(async (ctx, sku: string, o: { location?: string }) => {
      const r = await rollbackModel(await jobContext(ctx), sku, o.location);
      ctx.out(ctx.json ? JSON.stringify({ sku, ...r }) + '\n' : `${sku}: rolled back from v${r.from} to v${r.to}\n`);
    }));
}
