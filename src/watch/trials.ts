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
import { inTransaction } from '../db/query.js';
import * as w from '../db/watch.js';
import { parseSetting } from './engine-adapter.js';

type ModelRow = w.ModelRow;

const mae = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/** Paired errors grouped by series ("productId:locationId"), oldest day first. */
function bySeries(rows: w.PairedError[]): Map<string, w.PairedError[]> {
  const m = new Map<string, w.PairedError[]>();
  for (const r of rows) {
    const k = `${r.product_id}:${r.location_id}`;
    (m.get(k) ?? m.set(k, []).get(k)!).push(r);
  }
  return m;
}

export interface PromotionRow { [k: string]: unknown; sku: string; location: string; champion: string; challenger: string; weeks_won: number; weeks_scored: number; champion_mae: number | null; challenger_mae: number | null; decision: string }

export async function promoteChallenger(ctx: JobContext, o: { weeks?: number; dryRun?: boolean } = {}) {
  const { asOf, config } = ctx;
  const q = ctx.db.kysely;
  const weeks = o.weeks ?? config.watch.promoteWeeks;
  const from = addDays(asOf, -7 * weeks);
  const names = await w.seriesNames(q);
  const underCanary = new Set((await w.runningCanaries(q)).map((t) => `${t.product_id}:${t.location_id}`));
  const pairsOf = bySeries(await w.pairedErrors(q, 'champion', 'challenger', from, asOf));
  const settings = await w.latestScoredSetting(q, 'challenger', from);
  const rows: PromotionRow[] = [];
  const moves: { m: ModelRow; setting: string; reason: string; champ: number; chall: number }[] = [];
  for (const m of await w.activeModels(q, asOf)) {
    const key = `${m.product_id}:${m.location_id}`;
    const n = names.get(key)!;
    const pairs = pairsOf.get(key) ?? [];
    const setting = settings.get(key);
    if (!setting) continue;
    let won = 0;
    let scored = 0;
    for (let k = 0; k < weeks; k++) {
      const wFrom = addDays(asOf, -7 * (k + 1));
      const wTo = addDays(asOf, -7 * k);
      const wk = pairs.filter((x) => x.date >= wFrom && x.date < wTo);
      if (wk.length < config.watch.minDaysPerWeek) continue;
      scored++;
      if (mae(wk.map((x) => x.eb)) < mae(wk.map((x) => x.ea))) won++;
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
    await inTransaction(ctx.db, async (trx) => {
      const versions = await w.maxVersions(trx);
      for (const x of moves) {
        const version = (versions.get(`${x.m.product_id}:${x.m.location_id}`) ?? x.m.version) + 1;
        const id = await w.switchModel(trx, x.m, version, x.setting, x.reason, { challenger_live: { weeks, mae: x.chall, champion_mae: x.champ } });
        await w.insertTrial(trx, { kind: 'challenger', product_id: x.m.product_id, location_id: x.m.location_id, setting: x.setting, model_id: id, previous_model_id: x.m.id, started_on: from, decided_on: asOf, status: 'promoted', details: JSON.stringify({ weeks, champion_mae: x.champ, challenger_mae: x.chall }) });
      }
    });
  }
  ctx.log.info(`promote-challenger: ${moves.length} of ${rows.length} series ${o.dryRun ? 'would move' : 'moved'} to the challenger`);
  return { summary: { weeks, series: rows.length, promoted: o.dryRun ? 0 : moves.length, would_promote: o.dryRun ? moves.length : 0 }, rows };
}

function hashRank(s: string): string {
  return createHash('sha1').update(s).digest('hex');
}

export async function startCanary(ctx: JobContext, o: { setting?: string; share?: number }) {
  const { asOf, config } = ctx;
  const q = ctx.db.kysely;
  const setting = (o.setting ?? config.watch.canarySetting).trim();
  if (!setting) throw new UsageError('--setting: no canary engine setting given (flag or config watch.canarySetting)');
  parseSetting(setting, '--setting');
  const share = o.share ?? config.watch.canaryShare;
  if (!(share > 0 && share <= 1)) throw new UsageError(`--share: ${share} must be in (0, 1]`);
  if ((await w.runningCanaries(q)).length)
    throw new UsageError('a canary is already running; wait for its decision (`optiflow models canary status`) before starting another');
  const names = await w.seriesNames(q);
  const eligible = (await w.activeModels(q, asOf)).filter((m) => m.algorithm !== setting);
  if (!eligible.length) throw new UsageError(`no active model to put under a canary (every one already uses "${setting}", or none is trained: \`optiflow train\`)`);
  const ranked = eligible.map((m) => ({ m, n: names.get(`${m.product_id}:${m.location_id}`)! })).sort((a, b) => (hashRank(`${a.n.sku}@${a.n.code}`) < hashRank(`${b.n.sku}@${b.n.code}`) ? -1 : 1));
  const chosen = ranked.slice(0, Math.ceil(share * ranked.length));
  const rows: Record<string, unknown>[] = [];
  await inTransaction(ctx.db, async (trx) => {
    const versions = await w.maxVersions(trx);
    for (const { m, n } of chosen) {
      const version = (versions.get(`${m.product_id}:${m.location_id}`) ?? m.version) + 1;
      const id = await w.switchModel(trx, m, version, setting, `canary from ${asOf}: ${setting} on ${Math.round(share * 100)} % of series, decided after ${config.watch.canaryDays} days`, {});
      await w.insertTrial(trx, { kind: 'canary', product_id: m.product_id, location_id: m.location_id, setting, model_id: id, previous_model_id: m.id, started_on: asOf, status: 'running' });
      rows.push({ sku: n.sku, location: n.code, from: m.algorithm, to: setting });
    }
  });
  ctx.log.info(`canary: ${chosen.length} of ${eligible.length} series on ${setting} from ${asOf}; decided on ${addDays(asOf, config.watch.canaryDays)}`);
  return { summary: { setting, share, series: chosen.length, eligible: eligible.length, decide_on: addDays(asOf, config.watch.canaryDays) }, rows };
}

/**
 * Decides running canaries that are `watch.canaryDays` old: rolls every canary
 * series back when the canary's live MAE is above its baseline's on the same
 * days and series, else keeps it. Called by the nightly monitor.
 */
export async function evaluateCanaries(ctx: JobContext): Promise<{ decided: string | null; canary_mae: number | null; baseline_mae: number | null; days: number }> {
  const { asOf, config } = ctx;
  const q = ctx.db.kysely;
  const running = await w.runningCanaries(q);
  if (!running.length) return { decided: null, canary_mae: null, baseline_mae: null, days: 0 };
  const started = running[0].started_on;
  const age = daysBetween(started, asOf);
  const ea: number[] = [];
  const eb: number[] = [];
  const pairsOf = bySeries(await w.pairedErrors(q, 'champion', 'baseline', started, asOf));
  for (const t of running)
    for (const x of pairsOf.get(`${t.product_id}:${t.location_id}`) ?? []) {
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
  await inTransaction(ctx.db, async (trx) => {
    for (const t of running) {
      if (worse) {
        await w.setModelStatus(trx, t.model_id!, 'rejected', `; rolled back on ${asOf}: live MAE ${canaryMae.toFixed(3)} above the previous setting's ${baselineMae.toFixed(3)}`);
        await w.setModelStatus(trx, t.previous_model_id!, 'active', '');
      }
      await w.closeTrial(trx, t.id, worse ? 'rolled_back' : 'kept', asOf, details);
    }
  });
  ctx.log[worse ? 'warn' : 'info'](`canary ${running[0].setting}: ${worse ? 'rolled back' : 'kept'} after ${age} days on ${running.length} series: live MAE ${canaryMae.toFixed(3)} vs previous setting ${baselineMae.toFixed(3)} on the same ${ea.length} series-days`);
  return { decided: worse ? 'rolled_back' : 'kept', canary_mae: roundOrNull(canaryMae, 4), baseline_mae: roundOrNull(baselineMae, 4), days: age };
}

export async function canaryStatus(ctx: JobContext) {
  return { rows: await w.canaryTrials(ctx.db.kysely, 500) };
}
