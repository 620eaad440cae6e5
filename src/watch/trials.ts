/**
 * Champion/challenger promotion and canary roll-out, decided on live errors
 * (model_scores, see scores.ts), never on a backtest.
 *
 * promote-challenger: for each series, the last `weeks` whole weeks before
 * today (week k = the 7 days ending 7k days before today). The challenger wins
 * a week when, on the days both were scored (at least `watch.minDaysPerWeek`),
 * its mean absolute error is below the champion's. A series moves to the
 * challenger only when it won every one of those weeks and its MAE over them
 * is at least `watch.minImprovement` (5 %) below the champion's. The new model
 * version takes the challenger setting and keeps the champion's interval and
 * error history (the calibration of the live forecast) until the next `train`.
 *
 * canary: `models canary start` moves a share of the series (the first
 * ceil(share x n) by a hash of SKU@location, so the choice is stable and
 * spread over the catalogue) to a new engine setting. Their previous setting
 * keeps forecasting in shadow (`baseline`). After `watch.canaryDays` days the
 * nightly monitor compares, over the canary series and the days both were
 * scored, live MAE against the baseline's: worse (by any margin) rolls every
 * canary series back to its previous model; otherwise the canary is kept.
 */
import { createHash } from 'node:crypto';
import { addDays, daysBetween } from '../dates.js';
import { UsageError } from '../errors.js';
import { roundOrNull } from '../numbers.js';
import type { JobContext } from '../jobs/types.js';
import { nowIso } from '../jobs/types.js';
import { parseSetting } from './engine-adapter.js';
import { pairedErrors } from './scores.js';

interface ModelRow { id: number; product_id: number; location_id: number; version: number; algorithm: string; params: string; train_end: string; metrics: string; status: string }

function activeModels(ctx: JobContext): ModelRow[] {
  return ctx.sqlite.prepare(`select * from models where status = 'active' and train_end < ? order by product_id, location_id`).all(ctx.asOf) as ModelRow[];
}

/** A new active version of a series' model with another setting; the old one is retired. Returns the new id. */
function switchModel(ctx: JobContext, from: ModelRow, setting: string, reason: string, extraMetrics: Record<string, unknown>): number {
  const { sqlite } = ctx;
  const version = (sqlite.prepare('select max(version) as v from models where product_id = ? and location_id = ?').get(from.product_id, from.location_id) as { v: number }).v + 1;
  sqlite.prepare(`update models set status = 'retired' where id = ?`).run(from.id);
  const metrics = { ...JSON.parse(from.metrics), ...extraMetrics };
  return Number(sqlite
    .prepare(`insert into models (product_id, location_id, version, algorithm, params, trained_at, train_end, metrics, reason, status) values (?, ?, ?, ?, ?, ?, ?, ?, ?, 'active')`)
    .run(from.product_id, from.location_id, version, setting, from.params, nowIso(), from.train_end, JSON.stringify(metrics), reason).lastInsertRowid);
}

const mae = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

export interface PromotionRow { [k: string]: unknown; sku: string; location: string; champion: string; challenger: string; weeks_won: number; weeks_scored: number; champion_mae: number | null; challenger_mae: number | null; decision: string }

export function promoteChallenger(ctx: JobContext, o: { weeks?: number; dryRun?: boolean } = {}) {
  const { sqlite, asOf, config } = ctx;
  const weeks = o.weeks ?? config.watch.promoteWeeks;
  const from = addDays(asOf, -7 * weeks);
  const names = new Map((sqlite.prepare('select p.id as p, l.id as l, p.sku, l.code from products p cross join locations l').all() as { p: number; l: number; sku: string; code: string }[]).map((r) => [`${r.p}:${r.l}`, r]));
  const underCanary = new Set((sqlite.prepare(`select product_id || ':' || location_id as k from model_trials where kind = 'canary' and status = 'running'`).all() as { k: string }[]).map((r) => r.k));
  const rows: PromotionRow[] = [];
  const moves: { m: ModelRow; setting: string; reason: string; champ: number; chall: number }[] = [];
  for (const m of activeModels(ctx)) {
    const key = `${m.product_id}:${m.location_id}`;
    const n = names.get(key)!;
    const pairs = pairedErrors(sqlite, m.product_id, m.location_id, 'champion', 'challenger', from, asOf);
    const setting = (sqlite.prepare(`select setting from model_scores where product_id = ? and location_id = ? and role = 'challenger' and date >= ? order by date desc limit 1`).get(m.product_id, m.location_id, from) as { setting: string } | undefined)?.setting;
    if (!setting) continue;
    let won = 0;
    let scored = 0;
    for (let k = 0; k < weeks; k++) {
      const wFrom = addDays(asOf, -7 * (k + 1));
      const wTo = addDays(asOf, -7 * k);
      const w = pairs.filter((x) => x.date >= wFrom && x.date < wTo);
      if (w.length < config.watch.minDaysPerWeek) continue;
      scored++;
      if (mae(w.map((x) => x.eb)) < mae(w.map((x) => x.ea))) won++;
    }
    const champ = mae(pairs.map((x) => x.ea));
    const chall = mae(pairs.map((x) => x.eb));
    let decision: string;
    if (setting === m.algorithm) decision = 'kept: the challenger setting is already this series\' model';
    else if (underCanary.has(key)) decision = 'kept: the series is under a running canary';
    else if (scored < weeks) decision = `kept: ${scored} of ${weeks} weeks scored (needs ${config.watch.minDaysPerWeek}+ days a week on both)`;
    else if (won < weeks) decision = `kept: the challenger won ${won} of ${weeks} weeks`;
    else if (!(chall <= champ * (1 - config.watch.minImprovement))) decision = `kept: the challenger is ${champ > 0 ? ((1 - chall / champ) * 100).toFixed(1) : '0'} % better, under ${config.watch.minImprovement * 100} %`;
    else {
      decision = o.dryRun ? 'would promote' : 'promoted';
      moves.push({ m, setting, champ, chall, reason: `promoted from challenger on ${asOf}: won ${won} of ${weeks} weeks; live MAE ${chall.toFixed(3)} vs ${champ.toFixed(3)} (${m.algorithm} v${m.version})` });
    }
    rows.push({ sku: n.sku, location: n.code, champion: m.algorithm, challenger: setting, weeks_won: won, weeks_scored: scored, champion_mae: roundOrNull(champ, 3), challenger_mae: roundOrNull(chall, 3), decision });
  }
  if (!o.dryRun && moves.length) {
    const trial = sqlite.prepare(`insert into model_trials (kind, product_id, location_id, setting, model_id, previous_model_id, started_on, decided_on, status, details) values ('challenger', ?, ?, ?, ?, ?, ?, ?, 'promoted', ?)`);
    sqlite.transaction(() => {
      for (const x of moves) {
        const id = switchModel(ctx, x.m, x.setting, x.reason, { challenger_live: { weeks, mae: x.chall, champion_mae: x.champ } });
        trial.run(x.m.product_id, x.m.location_id, x.setting, id, x.m.id, from, asOf, JSON.stringify({ weeks, champion_mae: x.champ, challenger_mae: x.chall }));
      }
    })();
  }
  ctx.log.info(`promote-challenger: ${moves.length} of ${rows.length} series ${o.dryRun ? 'would move' : 'moved'} to the challenger`);
  return { summary: { weeks, series: rows.length, promoted: o.dryRun ? 0 : moves.length, would_promote: o.dryRun ? moves.length : 0 }, rows };
}

function hashRank(s: string): string {
  return createHash('sha1').update(s).digest('hex');
}

export function startCanary(ctx: JobContext, o: { setting?: string; share?: number }) {
  const { sqlite, asOf, config } = ctx;
  const setting = (o.setting ?? config.watch.canarySetting).trim();
  if (!setting) throw new UsageError('--setting: no canary engine setting given (flag or config watch.canarySetting)');
  parseSetting(setting, '--setting');
  const share = o.share ?? config.watch.canaryShare;
  if (!(share > 0 && share <= 1)) throw new UsageError(`--share: ${share} must be in (0, 1]`);
  if (sqlite.prepare(`select 1 from model_trials where kind = 'canary' and status = 'running' limit 1`).get())
    throw new UsageError('a canary is already running; wait for its decision (`optiflow models canary status`) before starting another');
  const names = new Map((sqlite.prepare('select p.id as p, l.id as l, p.sku, l.code from products p cross join locations l').all() as { p: number; l: number; sku: string; code: string }[]).map((r) => [`${r.p}:${r.l}`, r]));
  const eligible = activeModels(ctx).filter((m) => m.algorithm !== setting);
  if (!eligible.length) throw new UsageError(`no active model to put under a canary (every one already uses "${setting}", or none is trained: \`optiflow train\`)`);
  const ranked = eligible.map((m) => ({ m, n: names.get(`${m.product_id}:${m.location_id}`)! })).sort((a, b) => (hashRank(`${a.n.sku}@${a.n.code}`) < hashRank(`${b.n.sku}@${b.n.code}`) ? -1 : 1));
  const chosen = ranked.slice(0, Math.ceil(share * ranked.length));
  const trial = sqlite.prepare(`insert into model_trials (kind, product_id, location_id, setting, model_id, previous_model_id, started_on, status) values ('canary', ?, ?, ?, ?, ?, ?, 'running')`);
  const rows: Record<string, unknown>[] = [];
  sqlite.transaction(() => {
    for (const { m, n } of chosen) {
      const id = switchModel(ctx, m, setting, `canary from ${asOf}: ${setting} on ${Math.round(share * 100)} % of series, decided after ${config.watch.canaryDays} days`, {});
      trial.run(m.product_id, m.location_id, setting, id, m.id, asOf);
      rows.push({ sku: n.sku, location: n.code, from: m.algorithm, to: setting });
    }
  })();
  ctx.log.info(`canary: ${chosen.length} of ${eligible.length} series on ${setting} from ${asOf}; decided on ${addDays(asOf, config.watch.canaryDays)}`);
  return { summary: { setting, share, series: chosen.length, eligible: eligible.length, decide_on: addDays(asOf, config.watch.canaryDays) }, rows };
}

/**
 * Decides running canaries that are `watch.canaryDays` old: rolls every canary
 * series back when the canary's live MAE is above its baseline's on the same
 * days and series, else keeps it. Called by the nightly monitor.
 */
export function evaluateCanaries(ctx: JobContext): { decided: string | null; canary_mae: number | null; baseline_mae: number | null; days: number } {
  const { sqlite, asOf, config } = ctx;
  const running = sqlite.prepare(`select * from model_trials where kind = 'canary' and status = 'running' order by id`).all() as { id: number; product_id: number; location_id: number; setting: string; model_id: number; previous_model_id: number; started_on: string }[];
  if (!running.length) return { decided: null, canary_mae: null, baseline_mae: null, days: 0 };
  const started = running[0].started_on;
  const age = daysBetween(started, asOf);
  const ea: number[] = [];
  const eb: number[] = [];
  for (const t of running)
    for (const x of pairedErrors(sqlite, t.product_id, t.location_id, 'champion', 'baseline', started, asOf)) {
      ea.push(x.ea);
      eb.push(x.eb);
    }
  const canaryMae = ea.length ? mae(ea) : null;
  const baselineMae = eb.length ? mae(eb) : null;
  if (age < config.watch.canaryDays) return { decided: null, canary_mae: roundOrNull(canaryMae, 4), baseline_mae: roundOrNull(baselineMae, 4), days: age };
  if (canaryMae === null || baselineMae === null) {
    ctx.log.warn(`canary ${running[0].setting}: ${age} days old and no day scored for both the canary and its baseline; is the nightly batch running \`shadow\` and \`monitor\`?`);
    return { decided: null, canary_mae: null, baseline_mae: null, days: age };
  }
  const worse = canaryMae > baselineMae;
  const details = JSON.stringify({ canary_mae: canaryMae, baseline_mae: baselineMae, days_scored: ea.length });
  const setStatus = sqlite.prepare("update models set status = ?, reason = coalesce(reason, '') || ? where id = ?");
  const close = sqlite.prepare('update model_trials set status = ?, decided_on = ?, details = ? where id = ?');
  sqlite.transaction(() => {
    for (const t of running) {
      if (worse) {
        setStatus.run('rejected', `; rolled back on ${asOf}: live MAE ${canaryMae.toFixed(3)} above the previous setting's ${baselineMae.toFixed(3)}`, t.model_id);
        setStatus.run('active', '', t.previous_model_id);
      }
      close.run(worse ? 'rolled_back' : 'kept', asOf, details, t.id);
    }
  })();
  ctx.log[worse ? 'warn' : 'info'](`canary ${running[0].setting}: ${worse ? 'rolled back' : 'kept'} after ${age} days on ${running.length} series: live MAE ${canaryMae.toFixed(3)} vs previous setting ${baselineMae.toFixed(3)} on the same ${ea.length} series-days`);
  return { decided: worse ? 'rolled_back' : 'kept', canary_mae: roundOrNull(canaryMae, 4), baseline_mae: roundOrNull(baselineMae, 4), days: age };
}

export function canaryStatus(ctx: JobContext) {
  const rows = ctx.sqlite
    .prepare(`select t.id, p.sku, l.code as location, t.setting, t.started_on, t.decided_on, t.status from model_trials t join products p on p.id = t.product_id join locations l on l.id = t.location_id where t.kind = 'canary' order by t.id desc limit 500`)
    .all() as Record<string, unknown>[];
  return { rows };
}
