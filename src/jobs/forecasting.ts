/**
 * The forecasting jobs: train (weekly), validate (weekly), predict (nightly),
 * and the model lifecycle (list, show, rollback).
 *
 * Lifecycle: `train` backtests every candidate per series and stores the
 * choice as a new version. The quality gate: a candidate passes when its
 * backtest RMSSE is at most `train.gateRmsse` (default 1.0) or, for series
 * with sales on most days, its backtest MAPE is below `train.gateMape` (15 %,
 * the original rule); and it must not be worse than seasonal naive where that
 * was a candidate. A failing candidate is `rejected` only when the series has
 * something no worse to keep: an incumbent whose algorithm backtested no
 * better, or (without an incumbent) the fallback level model, keeps the
 * series only if the backtest scored it at least as well; otherwise the
 * candidate itself becomes the series' `fallback` model, since any other
 * choice would hand the series to a model its own backtest scored worse.
 * A passing candidate of a series with no active model is activated at once;
 * otherwise it waits for `validate`, which refits both on the data before a
 * window that selection never saw (the days after the candidate's train end
 * when there are enough, else the holdout window kept out of selection) and
 * promotes the candidate if it is at least as good there.
 * Series too short for a backtest get a `fallback` level model (never
 * seasonal naive on intermittent data).
 * Per-series isolation: a series with unusable input (e.g. a quantity of
 * 1e308) is skipped and named; a series whose fit fails gets its fallback;
 * the run goes on and the summary counts and names them.
 */
import { borrowedForecast, borrowsForecast } from '../inventory/new-products.js';
import { overrideForecast } from './overrides.js';
import { addDays, daysBetween, fromDayNumber } from '../dates.js';
import { demandOnlySeries, filterHistory, historyFor, loadHistory, seriesKey, unknownDayCounts, unknownDayWarnings, type History } from '../db/history.js';
import { initBackend } from '../ml/backend.js';
import { OUTLIER_FACTOR, fallbackOf, forecastDetailed, forecastEach, intervalFrom, parseChoice, zeroRunInfo, type EngineOptions, type ZeroRunInfo } from '../ml/engine.js';
import type { ZeroRun } from '../ml/zero-runs.js';
import { firstKnownDay } from '../ml/models.js';
import { type GlobalModel } from '../ml/global-model.js';
import { loadGlobalModel, saveGlobalModel } from '../db/global-models.js';
import type { IntervalSpec } from '../ml/calibrate.js';
import { dayNumber } from '../dates.js';
import { normalQuantile, score } from '../ml/metrics.js';
import { MissingInputError, UsageError } from '../errors.js';
import { nowIso, type Job, type JobContext, type JobResult } from './types.js';
import { activeOverrides, hasSalesBefore, lastSaleBefore, likeProducts, locationIdByCode, productIdBySku, replaceForecasts, type ForecastValues } from '../db/forecasts.js';
import { activeSalesSeries, candidateModels, newestModelsBefore, lastTrainedAt, listModelRows, modelsForPredict, modelsInUse, insertModels, retireModels, rollbackPair, seriesModels, setModelStatus, versionsAndIncumbents, type ModelRow, type NewModel } from '../db/models.js';
import { inTransaction } from '../db/query.js';
import { retrainFlagged } from '../db/snapshot.js';
import { requireCoverage } from '../db/coverage.js';
import { formatScore, roundOrNull, roundTo } from '../numbers.js';
import { collectGarbage } from '../gc.js';

async function requireSales(ctx: JobContext): Promise<void> {
  if (!(await hasSalesBefore(ctx.db.kysely, ctx.asOf))) throw new MissingInputError(`sales history before ${ctx.asOf}`, 'optiflow import sales FILE (or optiflow sample)');
}

function engineOptions(ctx: JobContext, h: History, horizon: number): EngineOptions {
  return {
    startDay: h.startDay,
    horizon,
    holidays: h.holidays,
    nHolidays: h.holidayNames.length,
    origins: ctx.config.train.origins,
    backtestHorizon: ctx.config.train.backtestHorizon,
    interval: ctx.config.interval,
    globalModel: flag(ctx.config.train.globalModel),
    holdout: flag(ctx.config.train.holdout),
  };
}

/**
 * Trained models written per insert batch by `train`. Small: a model row (its JSON and the calibration that
 * made it) then dies young, in the garbage collector's young generation, instead of living until a batch of
 * hundreds is written and piling up in the old one (on 30,000 series, 2,000 a batch left ~0.2 GB of garbage and
 * 200 a batch ~0.1 GB: the process grew by that much while the models were written; 20 a batch, not measurably).
 */
const MODELS_PER_WRITE = 20;

/** Config booleans may arrive as strings from the environment. */
function flag(v: unknown): boolean {
  return v === true || v === 'true' || v === '1';
}

/** Names at most 10 problem series for a log line or summary. */
function nameSeries(items: { sku: string; location: string; problem: string }[]): string {
  const shown = items.slice(0, 10).map((p) => `${p.sku}@${p.location} (${p.problem})`);
  return shown.join('; ') + (items.length > 10 ? `; and ${items.length - 10} more` : '');
}

/** A series named in a warning (nameSeries), with whether it has stock records. */
type NamedSeries = { sku: string; location: string; problem: string; stockKnown?: boolean };

/** How a series' stop or pause (trailingZeroRun) reads in a warning. */
function stopText(run: ZeroRunInfo): string {
  return `no sale since ${run.since}, ${run.zeros} days, after ${roundTo(run.rate, 2)}/day`;
}

/** The series of a history with a stop or pause (forecastDetailed's stops, pauses), as nameSeries lists them. */
function stoppedSeries(hist: History, runs: (ZeroRun | null)[]): NamedSeries[] {
  const out: NamedSeries[] = [];
  runs.forEach((run, i) => {
    if (run) out.push({ sku: hist.refs[i].sku, location: hist.refs[i].location, problem: stopText(zeroRunInfo(run, hist.startDay)), stockKnown: hist.refs[i].stockKnown });
  });
  return out;
}

/**
 * The warning for series that stopped selling: their forecast follows the days since the stop, which cannot tell
 * a product no longer sold from one out of stock without stock records; the two fixes.
 */
function stopWarning(job: string, stopped: NamedSeries[]): string {
  const blind = stopped.filter((s) => !s.stockKnown);
  const seen = stopped.filter((s) => s.stockKnown);
  const parts: string[] = [];
  if (blind.length) parts.push(`Those without stock records (${blind.length}): if they were out of stock, import stock records with \`optiflow import stock FILE\` (stock-out days are then unknown demand, not zeros); if they are no longer sold, set active to 0 with \`optiflow import products FILE\`: ${nameSeries(blind)}`);
  if (seen.length) parts.push(`Those with stock on hand by their stock records (${seen.length}): if they are no longer sold, set active to 0 with \`optiflow import products FILE\` (the \`dormant\` job values their stock): ${nameSeries(seen)}`);
  return `${job}: ${stopped.length} series sold nothing over their last two weeks or more, too long for their rate before to be chance; forecast from the days since the stop (salesStop, docs/forecasting.md). ${parts.join('. ')}`;
}

/** The warning for series whose last days without a sale are a pause (trailingZeroRun): unknown to the models. */
function pauseWarning(job: string, paused: NamedSeries[]): string {
  return `${job}: ${paused.length} series sold nothing over their last days, too long for their rate to be chance and under two weeks: those days are unknown to the models, which forecast the level before (a closure, a stock count, a late import; from two weeks on a stop: docs/forecasting.md). If the shop was closed, record the days as an event with planned_uplift -1 (\`optiflow import events FILE\`); if the sales are late, import them with \`optiflow import sales FILE\`: ${nameSeries(paused)}`;
}

/** The stored global model for predict (trained before the run date), or null: predict then refits it on the history. */
async function loadGlobal(ctx: JobContext): Promise<GlobalModel | null> {
  try {
    return (await loadGlobalModel(ctx.db, ctx.asOf))?.model ?? null;
  } catch (e) {
    ctx.log.warn(`predict: stored global model unreadable (${(e as Error).message}); refitting it for this run`);
    return null;
  }
}

async function resolveSkus(ctx: JobContext, skus: string[] | undefined): Promise<Set<number> | null> {
  if (!skus?.length) return null;
  const ids = new Set<number>();
  for (const sku of skus) {
    const id = await productIdBySku(ctx.db.kysely, sku);
    if (id === undefined) throw new UsageError(`--sku: unknown SKU "${sku}"`);
    ids.add(id);
  }
  return ids;
}

/** Which series need training: no usable model, flagged by monitor, model too old, or forced. */
async function seriesToTrain(ctx: JobContext, force: boolean, productIds: Set<number> | null): Promise<{ only: Set<string>; reasons: Record<string, number> }> {
  const all = await activeSalesSeries(ctx.db.kysely);
  const active = await lastTrainedAt(ctx.db.kysely);
  // A flag raised on day D judges forecasts up to D-1: a model whose training data ends on D-1 or later
  // (train_end >= D-1) has already seen what raised it. Flags after the run date do not exist yet.
  const flagged = new Set(
    (await retrainFlagged(ctx.db, ctx.asOf)).map((r) => seriesKey(r.p, r.l)),
  );
  const only = new Set<string>();
  const reasons: Record<string, number> = { forced: 0, no_model: 0, flagged: 0, stale: 0 };
  for (const { p, l } of all) {
    if (productIds && !productIds.has(p)) continue;
    const key = seriesKey(p, l);
    const trained = active.get(key);
    let why: string | null = null;
    if (force || productIds) why = 'forced';
    else if (!trained) why = 'no_model';
    else if (flagged.has(key)) why = 'flagged';
    else if (daysBetween(trained.slice(0, 10), ctx.asOf) > ctx.config.train.maxModelAgeDays) why = 'stale';
    if (why) {
      only.add(key);
      reasons[why]++;
    }
  }
  return { only, reasons };
}

export const trainJob: Job = {
  name: 'train',
  readsHistory: true,
  description: 'choose and fit each series\' model by rolling-origin backtest; quality gate',
  dependsOn: [],
  async run(ctx, opts = {}) {
    await requireSales(ctx);
    await requireCoverage(ctx);
    const backend = await initBackend(ctx.log);
    const productIds = await resolveSkus(ctx, opts.sku as string[] | undefined);
    const { only, reasons } = await seriesToTrain(ctx, !!opts.force, productIds);
    const summary: JobResult['summary'] = { series: only.size, trained: 0, candidates: 0, activated: 0, rejected: 0, fallback: 0, backend, ...reasons };
    if (!only.size) {
      ctx.log.info('train: every series has a fresh model; nothing to do (use --force to retrain)');
      return { summary, rows: [] };
    }
    // Through the history cache (which this also refreshes for the nightly batch) unless it is switched off.
    const hist = ctx.config.historyCache
      ? filterHistory(await historyFor(ctx, ctx.config.train.historyDays, ctx.config.horizon), only)
      : await loadHistory(ctx.db, { asOf: ctx.asOf, days: ctx.config.train.historyDays, horizon: ctx.config.horizon, only });
    const unknown = unknownDayCounts(hist);
    ctx.log.info(`train: ${hist.series.length} series, ${hist.T} days before ${ctx.asOf}; unknown demand (series x days): ${unknown.stockoutDays} stock-out or closed, ${unknown.missingDays + unknown.staleDays} without sales rows (${unknown.missingDays} with none at the location, ${unknown.staleDays} at the end of a series)`);
    for (const w of unknownDayWarnings(hist, 'train')) ctx.log.warn(w);
    if (!hist.series.length) throw new MissingInputError(`sales of the ${only.size} series to train in the ${ctx.config.train.historyDays} days before ${ctx.asOf}`, 'optiflow import sales FILE, or a later --as-of');
    let globalModel: GlobalModel | null = null;
    // Each series' result is calibrated when its model row is made and released once written (its backtest
    // errors and interval are most of it): the results of every series are never held at once.
    const resultOf = await forecastEach(hist.series, { ...engineOptions(ctx, hist, ctx.config.horizon), onGlobal: (m) => (globalModel = m) });
    const nResults = hist.series.length;
    // After the refit only each series' demand is read (the gate's fallback): its prices, promotions and
    // censored-day floors, about half of the history's memory, are let go (this array is train's own).
    hist.series.forEach((s, i) => (hist.series[i] = demandOnlySeries(s)));
    const counts: Record<string, number> = {};
    const trainedAt = nowIso();
    const trainEnd = addDays(ctx.asOf, -1);
    const rows: Record<string, unknown>[] = [];
    const skipped: { sku: string; location: string; problem: string }[] = [];
    const rejectWhy: Record<string, number> = {};
    const outliers: { sku: string; location: string; problem: string }[] = [];
    const stopped: NamedSeries[] = [];
    const paused: NamedSeries[] = [];
    await inTransaction(ctx.db, async (trx) => {
      // Versions and incumbents of every series read once; each series is trained once per run.
      const { maxVersion, incumbent: incumbents } = await versionsAndIncumbents(trx);
      const retire: number[] = [];
      let insert: NewModel[] = [];
      for (let i = 0; i < nResults; i++) {
        const r = resultOf(i);
        counts[r.algorithm] = (counts[r.algorithm] ?? 0) + 1;
        const ref = hist.refs[i];
        if (r.outliers) outliers.push({ sku: ref.sku, location: ref.location, problem: r.outlierDays ?? `${r.outliers} day(s)` });
        if (r.stop) stopped.push({ sku: ref.sku, location: ref.location, problem: stopText(r.stop), stockKnown: ref.stockKnown });
        if (r.pause) paused.push({ sku: ref.sku, location: ref.location, problem: stopText(r.pause) });
        if (r.skipped) {
          skipped.push({ sku: ref.sku, location: ref.location, problem: r.problem ?? 'unusable input' });
          rows.push({ sku: ref.sku, location: ref.location, version: null, algorithm: null, rmsse: null, status: 'skipped', problem: r.problem });
          continue;
        }
        const version = (maxVersion.get(seriesKey(ref.productId, ref.locationId)) ?? 0) + 1;
        const incumbent = incumbents.get(seriesKey(ref.productId, ref.locationId));
        let status: string;
        let reason = r.reason;
        if (r.fallback) {
          status = incumbent && !incumbent.algorithm.startsWith('fallback:') ? 'rejected' : 'fallback';
          if (status === 'rejected') {
            reason += '; a trained model stays active';
            // Why the candidate fell back ("no backtest window with known demand"), for the account of a run that rejects every series.
            const why = (r.problem ?? r.reason.split(':')[0]).replace(/[\d.]+/g, '#');
            rejectWhy[why] = (rejectWhy[why] ?? 0) + 1;
          }
        } else {
          const g = gate(ctx, r.chosenRmsse, r.metrics[r.algorithm]?.mape ?? null, r.metrics.snaive?.trimmed, r.kind);
          reason += `; gate: ${g.why}`;
          if (g.pass) status = incumbent ? 'candidate' : 'active';
          else {
            // Never hand the series to a model its own backtest scored worse than this candidate.
            const keep = incumbent ? parseChoice(incumbent.algorithm).algos.join('+') : fallbackOf(hist.series[i].y);
            const keepScore = r.metrics[keep]?.trimmed;
            const keepBetter = keepScore !== undefined && keepScore <= r.chosenRmsse;
            if (keepBetter || (incumbent && keepScore === undefined)) {
              status = 'rejected';
              reason += incumbent ? `; ${incumbent.algorithm} stays active` : `; the fallback ${keep} (backtest ${formatScore(keepScore!)}) does at least as well`;
              rejectWhy[g.why.replace(/[\d.]+/g, '#')] = (rejectWhy[g.why.replace(/[\d.]+/g, '#')] ?? 0) + 1;
            } else {
              status = incumbent ? 'candidate' : 'fallback';
              reason += `; kept as ${status}: the alternative (${incumbent ? incumbent.algorithm : keep}) backtested worse (${formatScore(keepScore ?? NaN)})`;
            }
          }
        }
        // On a fallback: the engine's own (no candidate could be backtested) or the gate's (the candidate failed it and
        // the fallback did no better). A rejected candidate leaves the series on its trained model.
        if (status === 'fallback') summary.fallback = Number(summary.fallback) + 1;
        if (status === 'rejected') summary.rejected = Number(summary.rejected) + 1;
        if (status === 'candidate') summary.candidates = Number(summary.candidates) + 1;
        if (status === 'active') summary.activated = Number(summary.activated) + 1;
        if ((status === 'active' || status === 'fallback') && incumbent) retire.push(incumbent.id);
        const params = { ...r.params, holdout_rmsse: roundOrNull(r.holdoutRmsse, 4), carries_events: r.algorithm.includes('regression') ? ['holiday', 'promotion'] : [] };
        insert.push({ product_id: ref.productId, location_id: ref.locationId, version, algorithm: r.algorithm, params: JSON.stringify(params), trained_at: trainedAt, train_end: trainEnd, metrics: JSON.stringify(r.metrics), reason, status });
        rows.push({ sku: ref.sku, location: ref.location, version, algorithm: r.algorithm, rmsse: roundOrNull(r.chosenRmsse, 3), status });
        // Written a slice at a time (the same rows in the same order): the JSON of every model at once is not held.
        if (insert.length >= MODELS_PER_WRITE) {
          await insertModels(trx, insert);
          insert = [];
        }
      }
      await insertModels(trx, insert);
      await retireModels(trx, retire);
      const gm = globalModel as GlobalModel | null;
      if (gm) summary.global_model_id = await saveGlobalModel(trx, { model: gm, trainedAt, trainEnd, metrics: { series_choosing_it: Object.entries(counts).filter(([a]) => /global/.test(a)).reduce((n, [, c]) => n + c, 0) } });
    });
    summary.trained = nResults - skipped.length;
    summary.skipped = skipped.length;
    if (skipped.length) {
      summary.skipped_series = nameSeries(skipped);
      ctx.log.warn(`train: ${skipped.length} series skipped for unusable input: ${nameSeries(skipped)}`);
    }
    if (stopped.length) {
      summary.stopped_series = stopped.length;
      ctx.log.warn(stopWarning('train', stopped));
    }
    if (paused.length) {
      summary.paused_series = paused.length;
      ctx.log.warn(pauseWarning('train', paused));
    }
    if (outliers.length) {
      // Left out of the fits and scores (engine.ts, OUTLIER_FACTOR): say which, so a data error can be corrected at its source.
      summary.implausible_days_series = outliers.length;
      ctx.log.warn(`train: ${outliers.length} series with days of implausible demand, left out of the models (over ${OUTLIER_FACTOR}x the series' usual sale days; if a day is a data error, correct the sales file and re-import it with \`optiflow import sales FILE\`): ${nameSeries(outliers)}`);
    }
    ctx.log.info(`train: models chosen ${JSON.stringify(counts)}; ${summary.fallback} series on a fallback model`);
    if (nResults && Number(summary.rejected) + skipped.length === nResults) {
      // Every series rejected: say why, including the usual cause (history that ends long before --as-of).
      const last = { d: await lastSaleBefore(ctx.db.kysely, ctx.asOf) };
      const gap = last.d ? daysBetween(last.d, ctx.asOf) : null;
      const why = Object.entries(rejectWhy).sort((x, y) => y[1] - x[1]).map(([k, n]) => `${n} x ${k}`).join(', ');
      const stale = gap !== null && gap > ctx.config.train.backtestHorizon ? `; the sales history ends ${last.d}, ${gap} days before ${ctx.asOf}: the backtest windows hold no sales (import recent sales, or pass --as-of ${addDays(last.d!, 1)})` : '';
      summary.all_rejected = `${why || 'every series skipped'}${stale}`;
      ctx.log.warn(`train: every series was rejected or skipped: ${summary.all_rejected}`);
    }
    return { summary, rows, algorithms: counts };
  },
};

function gate(ctx: JobContext, rmsse: number, mape: number | null, snaive: number | undefined, kind: string): { pass: boolean; why: string } {
  const { gateRmsse, gateMape } = ctx.config.train;
  if (!Number.isFinite(rmsse)) return { pass: false, why: 'no finite backtest score' };
  if (snaive !== undefined && rmsse > snaive * 1.0001) return { pass: false, why: `RMSSE ${rmsse.toFixed(3)} worse than seasonal naive ${snaive.toFixed(3)}` };
  if (rmsse <= gateRmsse) return { pass: true, why: `RMSSE ${rmsse.toFixed(3)} <= ${gateRmsse}` };
  if (kind === 'smooth' && mape !== null && mape < gateMape) return { pass: true, why: `MAPE ${mape.toFixed(1)} % < ${gateMape} %` };
  return { pass: false, why: `RMSSE ${rmsse.toFixed(3)} > ${gateRmsse}${mape !== null && kind === 'smooth' ? ` and MAPE ${mape.toFixed(1)} % >= ${gateMape} %` : ''}` };
}

export const validateJob: Job = {
  name: 'validate',
  description: 'compare each candidate with the model it would replace on the last 28 days; promote or reject',
  dependsOn: ['train'],
  async run(ctx) {
    await initBackend(ctx.log);
    const cands = await candidateModels(ctx.db.kysely);
    const summary: JobResult['summary'] = { candidates: cands.length, approved: 0, rejected: 0 };
    if (!cands.length) return { summary, rows: [] };
    const only = new Set(cands.map((c) => seriesKey(c.product_id, c.location_id)));
    const incumbents = new Map<string, ModelRow>();
    for (const m of await modelsInUse(ctx.db.kysely)) incumbents.set(seriesKey(m.product_id, m.location_id), m);
    const hb = ctx.config.train.backtestHorizon;
    const hist = await loadHistory(ctx.db, { asOf: ctx.asOf, days: ctx.config.train.historyDays, horizon: hb, only });
    const byKey = new Map(hist.series.map((s, i) => [s.id, i]));
    const rows: Record<string, unknown>[] = [];
    // Candidates whose series is gone from the history (product deactivated, no sales) cannot be scored: rejected with the reason.
    const gone = cands.filter((c) => !byKey.has(seriesKey(c.product_id, c.location_id)));
    const live = cands.filter((c) => byKey.has(seriesKey(c.product_id, c.location_id)));
    // The window: the hb days after the candidate's train end when they have passed, else the holdout window that selection never saw.
    const windowOf = (c: ModelRow) => {
      const afterEnd = dayNumber(c.train_end) + 1 - hist.startDay;
      const end = Math.min(hist.T, afterEnd + hb <= hist.T ? afterEnd + hb : afterEnd);
      return { T: end - hb, end, after: afterEnd + hb <= hist.T };
    };
    const groups = new Map<number, ModelRow[]>();
    for (const c of live) {
      const w = windowOf(c);
      if (w.T < 28) continue;
      groups.set(w.T, [...(groups.get(w.T) ?? []), c]);
    }
    const o = engineOptions(ctx, hist, hb);
    const scored = new Map<number, { a: number; b: number; T: number; after: boolean }>();
    for (const [T, group] of groups) {
      const series = group.map((c) => hist.series[byKey.get(seriesKey(c.product_id, c.location_id))!]);
      const incumbentOf = (c: ModelRow) => incumbents.get(seriesKey(c.product_id, c.location_id))?.algorithm;
      const candF = await forecastDetailed(series, group.map((c) => parseChoice(c.algorithm)), hb, o, T);
      const incF = await forecastDetailed(series, group.map((c, j) => parseChoice(incumbentOf(c) ?? fallbackOf(series[j].y.subarray(0, T)))), hb, o, T);
      group.forEach((c, j) => {
        const s = series[j];
        const act = s.y.subarray(T, T + hb);
        const train = s.y.subarray(0, T);
        const fa = candF.forecasts[j];
        const fb = incF.forecasts[j];
        scored.set(c.id, { a: fa ? score(act, fa, train).rmsse : NaN, b: fb ? score(act, fb, train).rmsse : NaN, T, after: windowOf(c).after });
      });
    }
    await inTransaction(ctx.db, async (trx) => {
      const setStatus = { run: (status: ModelRow['status'], reason: string | null, id: number) => setModelStatus(trx, id, status, reason) };
      for (const c of cands) {
        const inc = incumbents.get(seriesKey(c.product_id, c.location_id));
        const sc = scored.get(c.id);
        if (!sc) {
          const why = gone.includes(c) ? 'no sales history for this series before ' + ctx.asOf + ' (product inactive or data removed)' : 'too little history before the validation window';
          await setStatus.run('rejected', `${c.reason ?? ''}; validation: ${why}`, c.id);
          summary.rejected = Number(summary.rejected) + 1;
          rows.push({ model: c.id, series: `${c.product_id}:${c.location_id}`, algorithm: c.algorithm, rmsse: null, previous: null, improvement_pct: null, decision: 'rejected', why });
          continue;
        }
        const { a, b } = sc;
        const improvement = Number.isFinite(a) && Number.isFinite(b) && b > 0 ? ((b - a) / b) * 100 : 0;
        const approve = Number.isFinite(a) && !(a > b * 1.0001);
        const window = sc.after ? `the ${hb} days after its train end` : `the holdout window (${hb} days kept out of selection)`;
        const why = `validation on ${window}: RMSSE ${formatScore(a)} vs ${formatScore(b)} (${inc?.algorithm ?? 'fallback'} v${inc?.version ?? '-'}), improvement ${improvement.toFixed(1)} %`;
        if (approve) {
          if (inc) await setStatus.run('retired', inc.reason, inc.id);
          await setStatus.run('active', `${c.reason ?? ''}; ${why}`, c.id);
          summary.approved = Number(summary.approved) + 1;
        } else {
          await setStatus.run('rejected', `${c.reason ?? ''}; ${why}`, c.id);
          summary.rejected = Number(summary.rejected) + 1;
        }
        rows.push({ model: c.id, series: `${c.product_id}:${c.location_id}`, algorithm: c.algorithm, rmsse: roundOrNull(a, 3), previous: roundOrNull(b, 3), improvement_pct: roundOrNull(improvement, 3), decision: approve ? 'approved' : 'rejected' });
      }
    });
    return { summary, rows };
  },
};

/** A series predict serves with a fallback, and why (`trained`: its own trained model put it there, so training again changes nothing). */
export interface FallbackSeries {
  sku: string;
  location: string;
  /** The model in force, or the newest trained model when none is in force. */
  version: number | null;
  status: string | null;
  /** What predict runs for the series. */
  algorithm: string;
  trained: boolean;
  kind: 'gate_fallback' | 'level_fallback' | 'gate_rejected' | 'new' | 'no_train_yet' | 'left_out' | 'trained_later' | 'not_in_force';
  why: string;
}

/** Why a series is on a fallback (`end`: the end of the last train's data), without its names. Never holds ';'. */
function fallbackWhy(kind: FallbackSeries['kind'], end: string | null): string {
  switch (kind) {
    case 'gate_fallback': return 'on their fallback model (gate): each failed the gate, but the level model backtested worse';
    case 'level_fallback': return 'on the level model train chose: too little history for a backtest, or the fit failed';
    case 'gate_rejected': return 'on the level model (gate rejected theirs): it backtested at least as well as the rejected model';
    case 'new': return `new since the last train (data to ${end}), \`optiflow train\` trains them`;
    case 'no_train_yet': return 'no train before this date, `optiflow train` trains them';
    case 'left_out': return `left out by the last train (data to ${end}) although they had sales: train skips a series with unusable input (its log names the problem) and trains only the SKUs of --sku`;
    case 'trained_later': return 'their models were trained on data after this run date';
    case 'not_in_force': return 'their newest model is not in force (retired, or a candidate), `optiflow train` trains them';
  }
}

/**
 * Why each series predict serves with a fallback is there: its own trained model (a fallback status, or a model the
 * gate rejected for the level model), or no trained model at all (new since the last train, left out by it, ...).
 * Logged as two accounts: the series that need a train (warn) and those a train would put back where they are (info).
 */
async function fallbackAccount(
  ctx: JobContext,
  hist: History,
  models: Map<string, { algorithm: string; status: string; version: number }>,
  choices: { algos: string[] }[],
): Promise<FallbackSeries[]> {
  const out: FallbackSeries[] = [];
  let newest: Awaited<ReturnType<typeof newestModelsBefore>> | null = null;
  for (let i = 0; i < hist.series.length; i++) {
    const s = hist.series[i];
    const m = models.get(s.id);
    if (m && m.status !== 'fallback') continue;
    const ref = hist.refs[i];
    const algorithm = choices[i].algos.join('+');
    if (m) {
      const kind = m.algorithm.startsWith('fallback:') ? 'level_fallback' : 'gate_fallback';
      out.push({ sku: ref.sku, location: ref.location, version: m.version, status: m.status, algorithm, trained: true, kind, why: fallbackWhy(kind, null) });
      continue;
    }
    newest ??= await newestModelsBefore(ctx.db, ctx.asOf);
    const n = newest.bySeries.get(s.id);
    let kind: FallbackSeries['kind'];
    let why: string;
    if (n?.status === 'rejected') kind = 'gate_rejected';
    else if (n?.status) kind = 'not_in_force';
    else if (n?.later) kind = 'trained_later';
    else if (!newest.lastTrainEnd) kind = 'no_train_yet';
    else {
      // The first day of the window with known demand: NaN before the first sale (and on stock-out days).
      const t = firstKnownDay([s.y], s.y.length);
      const first = t < s.y.length ? fromDayNumber(hist.startDay + t) : null;
      kind = t > 0 && first !== null && first > newest.lastTrainEnd ? 'new' : 'left_out';
    }
    why = fallbackWhy(kind, newest.lastTrainEnd);
    if (n?.status) why += ` (v${n.version} ${n.algorithm}, ${n.status})`;
    out.push({ sku: ref.sku, location: ref.location, version: n?.version ?? null, status: n?.status ?? null, algorithm, trained: kind === 'gate_rejected', kind, why });
  }
  // At most 10 series named per line, over all its groups (--json lists them all).
  const account = (trained: boolean) => {
    const groups = new Map<FallbackSeries['kind'], FallbackSeries[]>();
    for (const x of out) if (x.trained === trained) (groups.get(x.kind) ?? groups.set(x.kind, []).get(x.kind)!).push(x);
    let budget = 10;
    return [...groups.values()].map((g) => {
      const shown = g.slice(0, Math.max(0, budget)).map((x) => `${x.sku}@${x.location}`);
      budget -= shown.length;
      const more = g.length - shown.length;
      return `${g.length} ${fallbackWhy(g[0].kind, newest?.lastTrainEnd ?? null)}: ${shown.join(', ')}${more ? `${shown.length ? ' and ' : ''}${more} more` : ''}`;
    }).join('; ');
  };
  const untrained = out.filter((x) => !x.trained);
  if (untrained.length) ctx.log.warn(`predict: ${untrained.length} series without a trained model use a fallback level model: ${account(false)}`);
  const trained = out.length - untrained.length;
  if (trained) ctx.log.info(`predict: ${trained} series on a fallback their own training chose (training again changes nothing): ${account(true)}; \`optiflow models explain <sku>\` says why`);
  return out;
}

export const predictJob: Job = {
  name: 'predict',
  readsHistory: true,
  description: 'forecast every active series for the horizon with its active model',
  dependsOn: [],
  async run(ctx, opts = {}) {
    await requireSales(ctx);
    await requireCoverage(ctx);
    const backend = await initBackend(ctx.log);
    const horizon = Number(opts.horizon ?? ctx.config.horizon);
    const mem = (stage: string) => {
      const m = process.memoryUsage();
      ctx.log.debug(`predict: ${stage}: rss ${Math.round(m.rss / 1048576)} MB, heap ${Math.round(m.heapUsed / 1048576)} MB, buffers ${Math.round(m.arrayBuffers / 1048576)} MB`);
    };
    const hist = await historyFor(ctx, ctx.config.train.historyDays, horizon);
    mem('history loaded');
    for (const w of unknownDayWarnings(hist, 'predict')) ctx.log.warn(w);
    // Only what predict needs of each model (the stored backtest errors stay in the database).
    const models = new Map<string, { id: number; version: number; algorithm: string; status: string; interval: string | null; ets: string | null }>();
    for (const m of await modelsForPredict(ctx.db, ctx.asOf))
      models.set(seriesKey(m.product_id, m.location_id), m);
    let fallback = 0;
    const choices = hist.series.map((s) => {
      const m = models.get(s.id);
      if (!m) {
        fallback++;
        return { algos: [fallbackOf(s.y)], combine: 'single' as const };
      }
      if (m.status === 'fallback') fallback++;
      return parseChoice(m.algorithm);
    });
    const onFallback = fallback ? await fallbackAccount(ctx, hist, models, choices) : [];
    const stored = choices.some((c) => c.algos.includes('global')) ? await loadGlobal(ctx) : null;
    // Stored AutoETS parameters: predict reruns the states instead of searching again.
    const storedParams = hist.series.map((s) => {
      const e = models.get(s.id)?.ets;
      return e ? { ets: JSON.parse(e) as unknown } : null;
    });
    const run = await forecastDetailed(hist.series, choices, horizon, engineOptions(ctx, hist, horizon), undefined, stored, storedParams);
    const f = run.forecasts;
    const borrowed = await borrowLikeForecasts(ctx, hist, f);
    // The fits' garbage is collected before the write, which holds the database's write lock for a while (and the
    // isolated jobs that wait for it hold their working sets meanwhile).
    collectGarbage();
    mem('forecasts computed');
    const dates = Array.from({ length: horizon }, (_, h) => addDays(ctx.asOf, h));
    // Planner overrides on top of the model (src/inventory/overrides.ts).
    const overrides = await activeOverrides(ctx.db.kysely, dates[0], dates[horizon - 1]);
    let overridden = 0;
    let otherLevel = 0;
    // The rows are produced while they are written (one series at a time: no copy of the whole run in memory).
    function* forecastRows(): Generator<ForecastValues> {
      for (let i = 0; i < hist.series.length; i++) {
        const s = hist.series[i];
        const fi = f[i];
        if (!fi) continue;
        const ref = hist.refs[i];
        const m = models.get(s.id);
        // A series that stopped selling is forecast from the days since (cleanDemand): the stored interval, calibrated
        // on its sales before, does not describe that.
        let iv = m?.interval && !run.fellBack.includes(i) && !run.stops[i] ? (JSON.parse(m.interval) as IntervalSpec) : undefined;
        // Bounds stored at another level than the configured one are not used (the normal spread at the configured level is).
        if (iv && iv.level !== undefined && Math.abs(iv.level - ctx.config.interval) > 1e-9) {
          otherLevel++;
          iv = undefined;
        }
        const { lo, hi } = intervalFrom(fi, iv ?? defaultSpread(fi, ctx.config.interval));
        overridden += overrideForecast(overrides.get(s.id), dates, fi, lo, hi);
        for (let h = 0; h < horizon; h++) {
          const y = roundTo(fi[h], 4);
          yield [ref.productId, ref.locationId, ctx.asOf, dates[h], m?.id ?? null, y, roundTo(lo[h], 4), roundTo(hi[h], 4), 1, y, roundTo(lo[h], 4), roundTo(hi[h], 4)];
        }
      }
    }
    const n = await replaceForecasts(ctx.db, ctx.asOf, forecastRows());
    if (otherLevel) ctx.log.warn(`predict: ${otherLevel} models were calibrated at another interval level than the configured ${ctx.config.interval}; their intervals use a normal spread until \`optiflow train --force\` recalibrates them`);
    // A stopped series whose stored model cannot fit the few days since its stop (a pooled or regression model
    // needs 56) is on its level model as expected: the stop warning names it, not this one.
    const expected = new Set(run.fellBack.filter((i) => run.stops[i]));
    const problems = run.problems.filter((p) => !expected.has(p.index)).map((p) => ({ sku: hist.refs[p.index].sku, location: hist.refs[p.index].location, problem: p.problem }));
    const skipped = f.filter((x) => !x).length;
    if (problems.length) ctx.log.warn(`predict: ${skipped} series skipped, ${run.fellBack.length - expected.size} on the fallback after a failed fit: ${nameSeries(problems)}`);
    const stopped = stoppedSeries(hist, run.stops);
    if (stopped.length) ctx.log.warn(stopWarning('predict', stopped));
    const paused = stoppedSeries(hist, run.pauses);
    if (paused.length) ctx.log.warn(pauseWarning('predict', paused));
    ctx.log.info(`predict: ${n} forecasts for ${hist.series.length - skipped} series (${fallback} on fallback), run date ${ctx.asOf}, backend ${backend}`);
    const summary: JobResult['summary'] = { series: hist.series.length, predictions: n, fallback: fallback + run.fellBack.length, skipped, horizon, backend, overridden_days: overridden, borrowed_from_like_sku: borrowed };
    const untrained = onFallback.filter((x) => !x.trained);
    summary.without_trained_model = untrained.length;
    summary.on_trained_fallback = onFallback.length - untrained.length;
    if (untrained.length) summary.without_trained_model_series = untrained.slice(0, 10).map((x) => `${x.sku}@${x.location} (${x.kind.replace(/_/g, ' ')})`).join(', ') + (untrained.length > 10 ? ` and ${untrained.length - 10} more` : '');
    if (problems.length) summary.problem_series = nameSeries(problems);
    if (otherLevel) summary.intervals_at_other_level = otherLevel;
    // Every series on a fallback and why, for --json (the summary and the log name at most 10).
    return { summary, fallback_series: onFallback };
  },
};

/**
 * New products with a like_sku and too little history of their own take that
 * product's forecast at the same location, times like_factor
 * (src/inventory/new-products.ts). Changes `f` in place; returns how many.
 */
async function borrowLikeForecasts(ctx: JobContext, hist: { series: { id: string; y: ArrayLike<number> }[] }, f: (Float64Array | null | undefined)[]): Promise<number> {
  const likes = await likeProducts(ctx.db.kysely);
  if (!likes.length) return 0;
  const index = new Map(hist.series.map((s, i) => [s.id, i]));
  let n = 0;
  for (const l of likes)
    hist.series.forEach((s, i) => {
      const [p, loc] = s.id.split(':').map(Number);
      if (p !== l.id) return;
      const j = l.like_id === null ? undefined : index.get(`${l.like_id}:${loc}`);
      if (j === undefined) {
        ctx.log.warn(`predict: like_sku "${l.like_sku}" of product ${p} has no series at this location; its own model is used`);
        return;
      }
      const like = f[j];
      if (!like || !f[i] || !borrowsForecast(s.y, true)) return;
      f[i] = borrowedForecast(like, l.like_factor);
      n++;
    });
  return n;
}

/** Spread for a series without stored errors: normal with a Poisson-like sd at the configured level (units). */
function defaultSpread(f: Float64Array, level: number): { error_lo: number; error_hi: number } {
  let m = 0;
  for (const v of f) m += v;
  m /= Math.max(1, f.length);
  const z = normalQuantile((1 + level) / 2);
  const sd = Math.sqrt(Math.max(m, 0.25));
  return { error_lo: -z * sd, error_hi: z * sd };
}

// ---- models list | show | rollback

export async function listModels(ctx: JobContext, opts: { sku?: string; all?: boolean }): Promise<Record<string, unknown>[]> {
  return listModelRows(ctx.db.kysely, opts);
}

async function seriesOf(ctx: JobContext, sku: string, location?: string): Promise<{ p: number; l: number }> {
  const p = await productIdBySku(ctx.db.kysely, sku);
  if (p === undefined) throw new UsageError(`unknown SKU "${sku}"`);
  const l = await locationIdByCode(ctx.db.kysely, location ?? 'MAIN');
  if (l === undefined) throw new UsageError(`--location: unknown location "${location ?? 'MAIN'}"`);
  return { p, l };
}

export async function showModel(ctx: JobContext, sku: string, location?: string): Promise<Record<string, unknown>[]> {
  const { p, l } = await seriesOf(ctx, sku, location);
  const rows = await seriesModels(ctx.db.kysely, p, l);
  if (!rows.length) throw new UsageError(`no model for ${sku}; run \`optiflow train --sku ${sku}\``);
  return rows.map((m) => ({ ...m, params: JSON.parse(m.params), metrics: JSON.parse(m.metrics) }));
}

/** Restores the previous version: the active model is retired, the most recent retired one before it becomes active again. */
export async function rollbackModel(ctx: JobContext, sku: string, location?: string): Promise<{ from: number; to: number }> {
  const { p, l } = await seriesOf(ctx, sku, location);
  return inTransaction(ctx.db, async (trx) => {
    const { active, prev } = await rollbackPair(trx, p, l);
    if (!active) throw new UsageError(`${sku} has no active model to roll back`);
    if (!prev) throw new UsageError(`${sku} has no previous version to roll back to (active is v${active.version})`);
    await setModelStatus(trx, active.id, 'retired', `${active.reason ?? ''}; rolled back on ${ctx.asOf}`);
    await setModelStatus(trx, prev.id, 'active', prev.reason);
    return { from: active.version, to: prev.version };
  });
}

