/** Watched models: `shadow`, `models promote-challenger`, `models canary start|status`, `models drift`. */
import type { Command } from 'commander';
import type { Action } from '../cli.js';
import { shadowJob } from '../watch/scores.js';
import { promoteChallenger, startCanary, canaryStatus } from '../watch/trials.js';
import { latestDrift } from '../db/watch.js';
import { registerJob, jobContext, renderResult } from './jobs.js';
import { intOption, numOption, dateOption } from './options.js';
import { explainForecast } from '../jobs/explain.js';
import { table, type Cell } from './render.js';

export function registerWatch(program: Command, action: Action): void {
  registerJob(program, action, shadowJob, (c) => c.addHelpText('after', '\nExample:\n  optiflow shadow --as-of 2026-11-23'));
  const models = program.commands.find((c) => c.name() === 'models') ?? program.command('models').description('model lifecycle');
  models.command('promote-challenger').description('move series to the challenger setting where it won every one of the last N weeks on live errors')
    .option('--weeks <n>', 'weeks the challenger must win (default: config watch.promoteWeeks, 4)', intOption('--weeks', 1))
    .option('--dry-run', 'show the decisions, change nothing')
    .addHelpText('after', '\nExample:\n  optiflow models promote-challenger --weeks 4 --dry-run')
    .action(action(async (ctx, o: { weeks?: number; dryRun?: boolean }) => {
      const r = await promoteChallenger(await jobContext(ctx), o);
      renderResult(ctx, 'promote-challenger', r);
    }));
  const canary = models.command('canary').description('roll a new engine setting out to a share of series first; rolled back by the nightly monitor if worse');
  canary.command('start').description('put a share of the series on a new engine setting')
    .option('--setting <setting>', 'engine setting, e.g. ets or ensemble(regression+ets) (default: config watch.canarySetting)')
    .option('--share <fraction>', 'share of the series (default: config watch.canaryShare, 0.1)', numOption('--share', (n) => n > 0 && n <= 1, 'in (0, 1]'))
    .addHelpText('after', '\nExample:\n  optiflow models canary start --setting "ensemble(regression+ets)" --share 0.1')
    .action(action(async (ctx, o: { setting?: string; share?: number }) => {
      renderResult(ctx, 'canary start', await startCanary(await jobContext(ctx), o));
    }));
  canary.command('status').description('canary trials: series, setting, start, decision')
    .action(action(async (ctx) => {
      const r = await canaryStatus(await jobContext(ctx));
      ctx.out(ctx.json ? JSON.stringify(r.rows, null, 2) + '\n' : table(r.rows as Record<string, Cell>[]));
    }));
  models.command('explain').description('why this model (the backtest of every candidate) and what each forecast day is made of')
    .argument('<sku>').option('--location <code>', 'location code (default MAIN)')
    .option('--date <date>', 'one forecast day (default: every day of the latest run on or before today)', dateOption('--date'))
    .addHelpText('after', '\nExample:\n  optiflow models explain SKU-00042 --date 2026-11-25')
    .action(action(async (ctx, sku: string, o: { location?: string; date?: string }) => {
      const r = await explainForecast(await jobContext(ctx), { sku, ...o });
      if (ctx.json) return ctx.out(JSON.stringify(r, null, 2) + '\n');
      const m = r.model as Record<string, unknown>;
      ctx.out(`${r.sku}@${r.location}: forecast run ${r.run_date}, model ${m.algorithm}${m.version ? ` v${m.version} (${m.status}, trained on data to ${m.train_end})` : ''}\n  why: ${m.reason ?? '-'}\n\n`);
      if (r.candidates.length) ctx.out('backtest of every candidate (lower RMSSE is better):\n' + table(r.candidates.map((c) => ({ ...c, chosen: c.chosen ? '<-' : '' })) as Record<string, Cell>[]) + '\n');
      const names = [...new Set(r.days.flatMap((d) => Object.keys(d.components)))];
      ctx.out('components of each forecast day (units/day; they sum to the stored forecast):\n');
      ctx.out(table(r.days.map((d) => ({ date: d.date, ...Object.fromEntries(names.map((n) => [n, d.components[n] ?? 0])), sum: d.sum, stored: d.stored })) as Record<string, Cell>[]));
      if (r.note) ctx.out(`note: ${r.note}\n`);
    }));
  models.command('drift').description('the latest drift measure per series (PSI, error ratio), flagged first')
    .action(action(async (ctx) => {
      const jc = await jobContext(ctx);
      // Flagged first, then by PSI (unmeasured last), then by series: the same order on every database.
      const rows = (await latestDrift(jc.db.kysely, jc.asOf))
        .sort((a, b) => b.flagged - a.flagged || (b.psi ?? -Infinity) - (a.psi ?? -Infinity) || (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0) || (a.location < b.location ? -1 : a.location > b.location ? 1 : 0))
        .map(({ flagged: _f, ...r }) => r) as Record<string, Cell>[];
      ctx.out(ctx.json ? JSON.stringify(rows, null, 2) + '\n' : rows.length ? table(rows) : 'no drift measured yet: the nightly `monitor` measures it\n');
    }));
}
