/**
 * The forecasting jobs: train (weekly), validate (weekly), predict (nightly),
 * and the model lifecycle (list, show, rollback).
 *
 * Lifecycle: `train` backtests every candidate per series and stores the
 * choice as a new version. The quality gate: a candidate passes when its mean
 * backtest RMSSE is at most `train.gateRmsse` (default 1.0) or, for series
 * with sales on most days, its backtest MAPE is below `train.gateMape` (15 %,
 * the original rule); and it must not be worse than seasonal naive. A failing
 * candidate is `rejected` and the active model stays. A passing candidate of a
 * series with no active model is activated at once (there is nothing to
 * compare it with); otherwise it waits for `validate`, which refits both on
 * the data before the last 28 days, scores those days, and promotes the
 * candidate if it is at least as good (the old version becomes `retired`).
 * Series too short for a backtest get a `fallback` model (seasonal naive).
 */
import { borrowedForecast, borrowsForecast } from '../inventory/new-products.js';
import { overrideForecast, overridesBySeries } from './overrides.js';
import { addDays, daysBetween } from '../dates.js';
import { filterHistory, historyFor, loadHistory, seriesKey, type History } from '../db/history.js';
import { initBackend } from '../ml/backend.js';
import { forecastMany, forecastWith, intervalFrom, parseAlgorithm, type Algorithm, type EngineOptions } from '../ml/engine.js';
import { score } from '../ml/metrics.js';
import { MissingInputError, UsageError } from '../errors.js';
import { nowIso, type Job, type JobContext, type JobResult } from './types.js';
import { BulkInsert } from '../db/bulk.js';
import { retrainFlagged } from '../db/snapshot.js';
import { requireCoverage } from '../db/coverage.js';
import { roundOrNull, roundTo } from '../numbers.js';

interface ModelRow {
  id: number;
  product_id: number;
  location_id: number;
  version: number;
  algorithm: string;
  params: string;
  trained_at: string;
  train_end: string;
  metrics: string;
  reason: string | null;
  status: string;
}

function requireSales(ctx: JobContext): void {
  const r = ctx.sqlite.prepare('select 1 from sales where date < ? limit 1').get(ctx.asOf);
  if (!r) throw new MissingInputError(`sales history before ${ctx.asOf}`, 'optiflow import sales FILE (or optiflow sample)');
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
  };
}

function resolveSkus(ctx: JobContext, skus: string[] | undefined): Set<number> | null {
  if (!skus?.length) return null;
  const ids = new Set<number>();
  for (const sku of skus) {
    const r = ctx.sqlite.prepare('select id from products where sku = ?').get(sku) as { id: number } | undefined;
    if (!r) throw new UsageError(`--sku: unknown SKU "${sku}"`);
    ids.add(r.id);
  }
  return ids;
}

/** Which series need training: no usable model, flagged by monitor, model too old, or forced. */
function seriesToTrain(ctx: JobContext, force: boolean, productIds: Set<number> | null): { only: Set<string>; reasons: Record<string, number> } {
  const all = ctx.sqlite.prepare('select distinct s.product_id as p, s.location_id as l from sales s join products p on p.id = s.product_id where p.active = 1').all() as { p: number; l: number }[];
  const active = new Map<string, string>();
  for (const r of ctx.sqlite.prepare(`select product_id as p, location_id as l, max(trained_at) as t from models where status in ('active','fallback') group by product_id, location_id`).all() as { p: number; l: number; t: string }[])
    active.set(seriesKey(r.p, r.l), r.t);
  // A flag raised on day D judges forecasts up to D-1: a model whose training data ends on D-1 or later
  // (train_end >= D-1) has already seen what raised it. Flags after the run date do not exist yet.
  const flagged = new Set(
    retrainFlagged(ctx.sqlite, ctx.asOf).map((r) => seriesKey(r.p, r.l)),
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
  description: 'choose and fit each series\' model by rolling-origin backtest; quality gate',
  dependsOn: [],
  async run(ctx, opts = {}) {
    requireSales(ctx);
    requireCoverage(ctx);
    const backend = await initBackend(ctx.log);
    const productIds = resolveSkus(ctx, opts.sku as string[] | undefined);
    const { only, reasons } = seriesToTrain(ctx, !!opts.force, productIds);
    const summary: JobResult['summary'] = { series: only.size, trained: 0, candidates: 0, activated: 0, rejected: 0, fallback: 0, backend, ...reasons };
    if (!only.size) {
      ctx.log.info('train: every series has a fresh model; nothing to do (use --force to retrain)');
      return { summary, rows: [] };
    }
    // Through the history cache (which this also refreshes for the nightly batch) unless it is switched off.
    const hist = ctx.config.historyCache
      ? filterHistory(historyFor(ctx, ctx.config.train.historyDays, ctx.config.horizon), only)
      : loadHistory(ctx.sqlite, { asOf: ctx.asOf, days: ctx.config.train.historyDays, horizon: ctx.config.horizon, only });
    ctx.log.info(`train: ${hist.series.length} series, ${hist.T} days before ${ctx.asOf}, ${hist.censoredDays} stock-out days treated as unknown demand`);
    const results = await forecastMany(hist.series, engineOptions(ctx, hist, ctx.config.horizon));
    const trainedAt = nowIso();
    const trainEnd = addDays(ctx.asOf, -1);
    const maxVersion = ctx.sqlite.prepare('select coalesce(max(version), 0) as v from models where product_id = ? and location_id = ?');
    const hasActive = ctx.sqlite.prepare(`select id from models where product_id = ? and location_id = ? and status in ('active','fallback') order by version desc limit 1`);
    const insert = ctx.sqlite.prepare('insert into models (product_id, location_id, version, algorithm, params, trained_at, train_end, metrics, reason, status) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    const retire = ctx.sqlite.prepare(`update models set status = 'retired' where id = ?`);
    const rows: Record<string, unknown>[] = [];
    ctx.sqlite.transaction(() => {
      results.forEach((r, i) => {
        const ref = hist.refs[i];
        const version = (maxVersion.get(ref.productId, ref.locationId) as { v: number }).v + 1;
        const incumbent = hasActive.get(ref.productId, ref.locationId) as { id: number } | undefined;
        let status: string;
        let reason = r.reason;
        const chosen = Object.entries(r.metrics).find(([k]) => k === r.algorithm)?.[1] ?? { rmsse: r.chosenRmsse, mape: null };
        if (r.fallback) {
          status = incumbent ? 'rejected' : 'fallback';
          summary.fallback = Number(summary.fallback) + 1;
        } else {
          const g = gate(ctx, r.chosenRmsse, chosen.mape ?? null, r.metrics.snaive?.rmsse, r.kind);
          reason += `; gate: ${g.why}`;
          if (!g.pass) status = 'rejected';
          else if (!incumbent) status = 'active';
          else status = 'candidate';
        }
        if (status === 'rejected') summary.rejected = Number(summary.rejected) + 1;
        if (status === 'candidate') summary.candidates = Number(summary.candidates) + 1;
        if (status === 'active') summary.activated = Number(summary.activated) + 1;
        if ((status === 'active' || status === 'fallback') && incumbent) retire.run(incumbent.id);
        insert.run(ref.productId, ref.locationId, version, r.algorithm, JSON.stringify({ ...r.params, carries_events: r.algorithm.includes('regression') ? ['holiday', 'promotion'] : [] }), trainedAt, trainEnd, JSON.stringify(r.metrics), reason, status);
        rows.push({ sku: ref.sku, location: ref.location, version, algorithm: r.algorithm, rmsse: roundOrNull(r.chosenRmsse, 3), status });
      });
    })();
    summary.trained = results.length;
    const counts: Record<string, number> = {};
    for (const r of results) counts[r.algorithm] = (counts[r.algorithm] ?? 0) + 1;
    ctx.log.info(`train: models chosen ${JSON.stringify(counts)}; ${summary.fallback} series on the fallback model`);
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
    const cands = ctx.sqlite.prepare(`select * from models where status = 'candidate' order by product_id, location_id, version`).all() as ModelRow[];
    const summary: JobResult['summary'] = { candidates: cands.length, approved: 0, rejected: 0 };
    if (!cands.length) return { summary, rows: [] };
    const only = new Set(cands.map((c) => seriesKey(c.product_id, c.location_id)));
    const incumbents = new Map<string, ModelRow>();
    for (const m of ctx.sqlite.prepare(`select * from models where status in ('active','fallback')`).all() as ModelRow[]) incumbents.set(seriesKey(m.product_id, m.location_id), m);
    const hb = ctx.config.train.backtestHorizon;
    const hist = loadHistory(ctx.sqlite, { asOf: ctx.asOf, days: ctx.config.train.historyDays, horizon: hb, only });
    const T = hist.T - hb;
    const byKey = new Map(hist.series.map((s, i) => [s.id, i]));
    const idx = cands.map((c) => byKey.get(seriesKey(c.product_id, c.location_id))!).filter((i) => i !== undefined);
    const series = idx.map((i) => hist.series[i]);
    const o = engineOptions(ctx, hist, hb);
    const candF = await forecastWith(series, cands.map((c) => parseAlgorithm(c.algorithm)), hb, o, T);
    const incF = await forecastWith(series, cands.map((c) => parseAlgorithm(incumbents.get(seriesKey(c.product_id, c.location_id))?.algorithm ?? 'snaive')), hb, o, T);
    const rows: Record<string, unknown>[] = [];
    const setStatus = ctx.sqlite.prepare('update models set status = ?, reason = ? where id = ?');
    ctx.sqlite.transaction(() => {
      cands.forEach((c, j) => {
        const s = series[j];
        const act = s.y.subarray(T, T + hb);
        const train = s.y.subarray(0, T);
        const a = score(act, candF[j], train).rmsse;
        const b = score(act, incF[j], train).rmsse;
        const inc = incumbents.get(seriesKey(c.product_id, c.location_id));
        const improvement = Number.isFinite(a) && Number.isFinite(b) && b > 0 ? ((b - a) / b) * 100 : 0;
        const approve = !(a > b * 1.0001);
        const why = `validation on ${hb} days before ${ctx.asOf}: RMSSE ${fmt(a)} vs ${fmt(b)} (${inc?.algorithm ?? 'none'} v${inc?.version ?? '-'}), improvement ${improvement.toFixed(1)} %`;
        if (approve) {
          if (inc) setStatus.run('retired', inc.reason, inc.id);
          setStatus.run('active', `${c.reason ?? ''}; ${why}`, c.id);
          summary.approved = Number(summary.approved) + 1;
        } else {
          setStatus.run('rejected', `${c.reason ?? ''}; ${why}`, c.id);
          summary.rejected = Number(summary.rejected) + 1;
        }
        rows.push({ model: c.id, series: `${c.product_id}:${c.location_id}`, algorithm: c.algorithm, rmsse: roundOrNull(a, 3), previous: roundOrNull(b, 3), improvement_pct: roundOrNull(improvement, 3), decision: approve ? 'approved' : 'rejected' });
      });
    })();
    return { summary, rows };
  },
};

export const predictJob: Job = {
  name: 'predict',
  description: 'forecast every active series for the horizon with its active model',
  dependsOn: [],
  async run(ctx, opts = {}) {
    requireSales(ctx);
    requireCoverage(ctx);
    const backend = await initBackend(ctx.log);
    const horizon = Number(opts.horizon ?? ctx.config.horizon);
    const mem = (stage: string) => {
      const m = process.memoryUsage();
      ctx.log.debug(`predict: ${stage}: rss ${Math.round(m.rss / 1048576)} MB, heap ${Math.round(m.heapUsed / 1048576)} MB, buffers ${Math.round(m.arrayBuffers / 1048576)} MB`);
    };
    const hist = historyFor(ctx, ctx.config.train.historyDays, horizon);
    mem('history loaded');
    // Only what predict needs of each model (the stored backtest errors stay in the database).
    const models = new Map<string, { id: number; algorithm: string; status: string; interval: string | null }>();
    for (const m of ctx.sqlite
      .prepare(`select id, product_id, location_id, algorithm, status, json_extract(params, '$.interval') as interval from models where status in ('active','fallback') and train_end < ? order by version`)
      .all(ctx.asOf) as { id: number; product_id: number; location_id: number; algorithm: string; status: string; interval: string | null }[])
      models.set(seriesKey(m.product_id, m.location_id), m);
    let fallback = 0;
    const algos: Algorithm[][] = hist.series.map((s) => {
      const m = models.get(s.id);
      if (!m) {
        fallback++;
        return ['snaive'];
      }
      if (m.status === 'fallback') fallback++;
      return parseAlgorithm(m.algorithm);
    });
    if (fallback) ctx.log.warn(`predict: ${fallback} series without a trained model use the fallback (seasonal naive); run \`optiflow train\``);
    const f = await forecastWith(hist.series, algos, horizon, engineOptions(ctx, hist, horizon));
    const borrowed = borrowLikeForecasts(ctx, hist, f);
    mem('forecasts computed');
    const del = ctx.sqlite.prepare('delete from forecasts where run_date = ?');
    const ins = new BulkInsert(ctx.sqlite, 'forecasts', ['product_id', 'location_id', 'run_date', 'date', 'model_id', 'yhat', 'yhat_lo', 'yhat_hi', 'event_factor', 'base_yhat', 'base_lo', 'base_hi'], 50);
    const dates = Array.from({ length: horizon }, (_, h) => addDays(ctx.asOf, h));
    // Planner overrides on top of the model (src/inventory/overrides.ts).
    const overrides = overridesBySeries(ctx.sqlite, dates[0], dates[horizon - 1]);
    let overridden = 0;
    let n = 0;
    ctx.sqlite.transaction(() => {
      del.run(ctx.asOf);
      hist.series.forEach((s, i) => {
        const ref = hist.refs[i];
        const m = models.get(s.id);
        const iv = m?.interval ? (JSON.parse(m.interval) as { error_lo: number; error_hi: number }) : undefined;
        const spread = iv ?? defaultSpread(f[i]);
        const { lo, hi } = intervalFrom(f[i], spread.error_lo, spread.error_hi);
        overridden += overrideForecast(overrides.get(s.id), dates, f[i], lo, hi);
        for (let h = 0; h < horizon; h++) {
          const y = roundTo(f[i][h], 4);
          ins.push(ref.productId, ref.locationId, ctx.asOf, dates[h], m?.id ?? null, y, roundTo(lo[h], 4), roundTo(hi[h], 4), 1, y, roundTo(lo[h], 4), roundTo(hi[h], 4));
          n++;
        }
      });
      ins.flush();
    })();
    ctx.log.info(`predict: ${n} forecasts for ${hist.series.length} series (${fallback} on fallback), run date ${ctx.asOf}, backend ${backend}`);
    return { summary: { series: hist.series.length, predictions: n, fallback, horizon, backend, overridden_days: overridden, borrowed_from_like_sku: borrowed } };
  },
};

/**
 * New products with a like_sku and too little history of their own take that
 * product's forecast at the same location, times like_factor
 * (src/inventory/new-products.ts). Changes `f` in place; returns how many.
 */
function borrowLikeForecasts(ctx: JobContext, hist: { series: { id: string; y: ArrayLike<number> }[] }, f: Float64Array[]): number {
  const likes = ctx.sqlite
    .prepare('select p.id, q.id as like_id, p.like_factor, p.like_sku from products p left join products q on q.sku = p.like_sku where p.like_sku is not null')
    .all() as { id: number; like_id: number | null; like_factor: number | null; like_sku: string }[];
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
      if (!borrowsForecast(s.y, true)) return;
      f[i] = borrowedForecast(f[j], l.like_factor);
      n++;
    });
  return n;
}

function defaultSpread(f: Float64Array): { error_lo: number; error_hi: number } {
  let m = 0;
  for (const v of f) m += v;
  m /= Math.max(1, f.length);
  const sd = Math.sqrt(Math.max(m, 0.25));
  return { error_lo: -1.2816 * sd, error_hi: 1.2816 * sd };
}

// ---- models list | show | rollback

export function listModels(ctx: JobContext, opts: { sku?: string; all?: boolean }): Record<string, unknown>[] {
  const where = [opts.all ? '1=1' : `m.status in ('active','fallback','candidate')`];
  const args: unknown[] = [];
  if (opts.sku) {
    where.push('p.sku = ?');
    args.push(opts.sku);
  }
  return ctx.sqlite
    .prepare(
      `select m.id, p.sku, l.code as location, m.version, m.algorithm, m.status, m.train_end, substr(m.trained_at, 1, 19) as trained_at
       from models m join products p on p.id = m.product_id join locations l on l.id = m.location_id where ${where.join(' and ')} order by p.sku, l.code, m.version`,
    )
    .all(...args) as Record<string, unknown>[];
}

function seriesOf(ctx: JobContext, sku: string, location?: string): { p: number; l: number } {
  const p = ctx.sqlite.prepare('select id from products where sku = ?').get(sku) as { id: number } | undefined;
  if (!p) throw new UsageError(`unknown SKU "${sku}"`);
  const l = ctx.sqlite.prepare('select id from locations where code = ?').get(location ?? 'MAIN') as { id: number } | undefined;
  if (!l) throw new UsageError(`--location: unknown location "${location ?? 'MAIN'}"`);
  return { p: p.id, l: l.id };
}

export function showModel(ctx: JobContext, sku: string, location?: string): Record<string, unknown>[] {
  const { p, l } = seriesOf(ctx, sku, location);
  const rows = ctx.sqlite.prepare('select * from models where product_id = ? and location_id = ? order by version desc').all(p, l) as ModelRow[];
  if (!rows.length) throw new UsageError(`no model for ${sku}; run \`optiflow train --sku ${sku}\``);
  return rows.map((m) => ({ ...m, params: JSON.parse(m.params), metrics: JSON.parse(m.metrics) }));
}

/** Restores the previous version: the active model is retired, the most recent retired one before it becomes active again. */
export function rollbackModel(ctx: JobContext, sku: string, location?: string): { from: number; to: number } {
  const { p, l } = seriesOf(ctx, sku, location);
  const active = ctx.sqlite.prepare(`select * from models where product_id = ? and location_id = ? and status in ('active','fallback') order by version desc limit 1`).get(p, l) as ModelRow | undefined;
  if (!active) throw new UsageError(`${sku} has no active model to roll back`);
  const prev = ctx.sqlite.prepare(`select * from models where product_id = ? and location_id = ? and status = 'retired' and version < ? order by version desc limit 1`).get(p, l, active.version) as ModelRow | undefined;
  if (!prev) throw new UsageError(`${sku} has no previous version to roll back to (active is v${active.version})`);
  ctx.sqlite.transaction(() => {
    ctx.sqlite.prepare(`update models set status = 'retired', reason = coalesce(reason, '') || '; rolled back on ' || ? where id = ?`).run(ctx.asOf, active.id);
    ctx.sqlite.prepare(`update models set status = 'active' where id = ?`).run(prev.id);
  })();
  return { from: active.version, to: prev.version };
}

function fmt(x: number): string {
  return Number.isFinite(x) ? x.toFixed(3) : 'n/a';
}
