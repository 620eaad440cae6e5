/** Operations commands: batch, health, cleanup, demo. */
import type { Command } from 'commander';
import type { Action } from '../cli.js';
import { runBatch } from '../batch/batch.js';
import { checkHealth } from '../batch/health.js';
import { cleanup } from '../batch/cleanup.js';
import { runDemo } from '../batch/demo.js';
import { UsageError } from '../errors.js';
import { jobContext } from './jobs.js';
import { intOption, listOption } from './options.js';
import { keyValues, table, type Cell } from './render.js';
import { onSignal } from '../signals.js';
import { startProgress } from './progress.js';
import winston from 'winston';
import { batchAllTenants } from './ops-admin.js';

export function registerOps(program: Command, action: Action): void {
  program
    .command('batch')
    .description('run the nightly jobs (or `batch weekly`: train, validate) in dependency order, with retries, checkpoint and lock')
    .argument('[kind]', 'nightly (default) or weekly', 'nightly')
    .option('--resume', 'continue the unfinished run for this run date')
    .option('--fresh', 'abandon an unfinished run and start over')
    .option('--only <jobs>', 'run only these jobs (comma-separated)', listOption)
    .option('--skip <jobs>', 'skip these jobs (comma-separated)', listOption)
    .option('--dry-run', 'print the order and the parallel groups, run nothing')
    .option('--concurrency <n>', 'jobs at once (default 4)', intOption('--concurrency', 1))
    .option('--all-tenants', 'run each tenant\'s batch in turn; a failing tenant does not stop the others (exit 1 names it)')
    .addHelpText('after', '\nExamples:\n  optiflow batch\n  optiflow batch --resume\n  optiflow batch weekly\n  optiflow batch --dry-run --json\n  optiflow batch --all-tenants --resume')
    .action(action(async (ctx, kind: string, o: { resume?: boolean; fresh?: boolean; only?: string[]; skip?: string[]; dryRun?: boolean; concurrency?: number; allTenants?: boolean }) => {
      if (kind !== 'nightly' && kind !== 'weekly') throw new UsageError(`batch: unknown kind "${kind}"; nightly or weekly`);
      if (o.resume && o.fresh) throw new UsageError('batch: --resume and --fresh exclude each other');
      if (o.allTenants) return batchAllTenants(ctx, kind, o);
      const jc = await jobContext(ctx);
      // A spinner for people at a terminal; cron and CI (no TTY) get plain log lines.
      const spinner = !ctx.json && !ctx.quiet && !o.dryRun ? startProgress(`${kind} batch starting`) : null;
      const onProgress = (steps: { name: string; status: string }[]) => {
        if (!spinner) return;
        const running = steps.filter((s) => s.status === 'running').map((s) => s.name);
        const done = steps.filter((s) => s.status === 'success').length;
        spinner.set(`${kind} batch: ${done}/${steps.length} done${running.length ? `, running ${running.join(', ')}` : ''}`);
      };
      let r;
      let unhook = () => undefined as void;
      try {
        r = await runBatch(jc, { kind, ...o, onProgress }, (h) => {
          unhook = onSignal(() => {
            spinner?.stop();
            h.interrupt();
          });
        });
      } finally {
        unhook();
        spinner?.stop();
      }
      if (ctx.json) ctx.out(JSON.stringify(r, null, 2) + '\n');
      else if (r.status === 'dry-run') {
        ctx.out(`order: ${r.order.join(' -> ')}\n`);
        r.levels.forEach((l, i) => ctx.out(`group ${i + 1}: ${l.join(', ')}\n`));
      } else {
        ctx.out(table(r.steps.map((s) => ({
          job: s.name, status: s.status, attempts: s.attempts,
          seconds: s.startedAt && s.finishedAt ? Math.round((Date.parse(s.finishedAt) - Date.parse(s.startedAt)) / 100) / 10 : null,
          error: s.error,
        }))));
        ctx.out(keyValues({ run: r.runId, run_date: r.runDate, status: r.status, resumed: r.resumed, ...(r.metrics as unknown as Record<string, Cell>) }));
      }
      return r.status === 'failed' ? 1 : 0;
    }));

  program
    .command('health')
    .description('check database, migrations, last batch, forecasts, models, disk, lock; exit 0 healthy, 1 degraded, 2 unhealthy')
    .addHelpText('after', '\nExample:\n  optiflow health --json')
    .action(action(async (ctx) => {
      const r = await checkHealth(ctx.config);
      if (ctx.json) ctx.out(JSON.stringify(r, null, 2) + '\n');
      else ctx.out(table(r.checks as unknown as Record<string, Cell>[]) + `overall: ${r.status}\n`);
      return r.exitCode;
    }));

  program
    .command('cleanup')
    .description('apply the retention rules of the config, report counts, vacuum')
    .option('--dry-run', 'count what would be removed')
    .addHelpText('after', '\nExample:\n  optiflow cleanup --dry-run')
    .action(action(async (ctx, o: { dryRun?: boolean }) => {
      const r = await cleanup(await ctx.db(), ctx.config, o);
      if (ctx.json) return ctx.out(JSON.stringify(r, null, 2) + '\n');
      ctx.out(table(Object.entries(r.removed).map(([t, n]) => ({ table: t, [r.dryRun ? 'would_remove' : 'removed']: n }))));
      ctx.out(r.vacuum ? `vacuumed (${r.vacuum})\n` : '');
    }));

  program
    .command('demo')
    .description('sample database (if none), training, the nightly batch and the dashboard summary')
    .option('--products <n>', 'products in the sample', intOption('--products', 1), 250)
    .addHelpText('after', '\nExample:\n  optiflow demo --db demo.db')
    .action(action(async (ctx, o: { products: number }) => {
      // The summary is the point of the demo: job lines go to the log file, the console shows warnings.
      if (!ctx.logLevelGiven)
        for (const t of ctx.log.transports) if (t instanceof winston.transports.Console) t.level = 'warn';
      const db = await ctx.db({ migrated: false });
      const r = await runDemo(db, { config: ctx.config, asOf: ctx.config.asOf, log: ctx.log }, o);
      if (ctx.json) return ctx.out(JSON.stringify(r, null, 2) + '\n');
      const k = r.kpis;
      ctx.out(`\noptiflow demo on ${r.db} (${r.sampleCreated ? 'sample data created' : 'existing data'}), today ${ctx.config.asOf}\n\n`);
      ctx.out(`training: ${r.train.trained} series in ${r.trainSeconds.toFixed(1)}s (${r.train.activated} activated, ${r.train.rejected} rejected by the quality gate, ${r.train.fallback} too short: fallback model)\n`);
      ctx.out(`nightly batch: ${r.batch.status} in ${r.batch.metrics?.duration_seconds}s, ${r.batch.metrics?.predictions_generated} forecasts, ${r.batch.metrics?.alerts_created} alerts\n\n`);
      ctx.out('dashboard\n' + keyValues({
        'alerts CRITIQUE': k.alerts.CRITIQUE, 'alerts ATTENTION': k.alerts.ATTENTION, 'alerts INFO': k.alerts.INFO,
        'stock value': k.stock_value, 'rotation (turns/year)': k.rotation_rate, 'critical products': k.critical_products, 'savings month to date': k.savings_mtd,
      }));
      ctx.out('\nmost urgent\n' + table(r.topUrgent.map((a) => ({ severity: a.severity as Cell, sku: a.sku as Cell, stockout: a.stockout_date as Cell, order: a.suggested_qty as Cell, message: a.message as Cell }))));
      return r.batch.status === 'success' ? 0 : 1;
    }));
}
