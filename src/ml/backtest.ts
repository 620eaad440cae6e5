/**
 * Stage 1 of the engine: cross-validation windows and the backtest.
 *
 * A window is an origin (trainEnd, the first day the forecast does not know)
 * and a test span [trainEnd, testEnd). Every model is fitted on a view of the
 * series that holds only what production would have known on the morning of
 * trainEnd: demand before it, promotions before it plus the *planned* ones
 * (from the events table) after it, and the last known regular price carried
 * forward. Nothing at or after the origin reaches a fit.
 */
import { fitRegression } from './regression.js';
import { fitGlobal } from './global-model.js';
import { fitPooled } from './pooled.js';
import { LOCAL, POOLED, knownDays, type Algorithm, type LocalAlgorithm } from './forecasters.js';
import { autoEts, etsFollowingSteps, type EtsFit } from './ets.js';
import { movingAverage } from './models.js';
import type { EngineOptions, EngineSeries } from './engine.js';

export interface CvWindow {
  trainEnd: number;
  testEnd: number;
  /** 'recent': the last weeks; 'seasonal': the same weeks a year earlier and a quarter apart over the last year. */
  kind: 'recent' | 'seasonal';
  /** 'select' windows choose the model; the 'holdout' window (the most recent) is kept for validate and calibration. */
  role: 'select' | 'holdout';
}

/** Days between the same weekday a year apart (52 weeks). */
export const YEAR = 364;
/** Known days before an origin below which a series is not backtested there. */
export const MIN_TRAIN = 28;
/** Known days from which a series is "long": it holds a year before the earliest seasonal window. */
export const LONG_SERIES = 400;

/**
 * The windows over a history of T days: `recent` consecutive windows of h days
 * ending at T (the latest is the holdout when `holdout`), and, when the history
 * holds more than a year before them, seasonal windows starting 52, 39 and 26
 * weeks before T: the first covers the same weeks a year before the forecast,
 * the others spread the test over the year so that a yearly swing shows.
 */
export function crossValidationWindows(T: number, h: number, o: { recent?: number; seasonal?: boolean; holdout?: boolean } = {}): CvWindow[] {
  const recent = o.recent ?? 3;
  const out: CvWindow[] = [];
  if (o.seasonal !== false) {
    for (const back of [YEAR, YEAR - 91, YEAR - 182]) {
      const trainEnd = T - back;
      // Only when the window sits before the recent ones and a year of training precedes it.
      if (trainEnd - YEAR >= MIN_TRAIN && trainEnd + h <= T - recent * h) out.push({ trainEnd, testEnd: trainEnd + h, kind: 'seasonal', role: 'select' });
    }
  }
  for (let k = recent; k >= 1; k--) {
    const trainEnd = T - k * h;
    if (trainEnd >= MIN_TRAIN) out.push({ trainEnd, testEnd: trainEnd + h, kind: 'recent', role: k === 1 && o.holdout !== false && recent > 1 ? 'holdout' : 'select' });
  }
  return out;
}

/**
 * What production knows at origin c for horizon h: demand before c; the
 * promotion flags before c and the planned ones (events) on [c, c + h); the
 * log relative price before c and, after it, the last regular (non-promotion)
 * price known before c.
 */
export function originView(s: EngineSeries, c: number, h: number): EngineSeries {
  const view: EngineSeries = { ...s, y: s.y.subarray(0, c), promo: null, logPrice: null, planned: s.planned ? s.planned.subarray(0, c + h) : null };
  if (s.floor) view.floor = s.floor.subarray(0, c);
  if (s.promo) {
    const p = new Uint8Array(c + h);
    for (let t = 0; t < c; t++) p[t] = s.promo[t] ? 1 : 0;
    if (s.planned) for (let t = c; t < c + h; t++) p[t] = s.planned[t] ? 1 : 0;
    view.promo = p;
  }
  if (s.logPrice) {
    const lp = new Float32Array(c + h);
    let last = 0;
    for (let t = 0; t < c; t++) {
      lp[t] = s.logPrice[t];
      if (!(s.promo && s.promo[t])) last = s.logPrice[t];
    }
    lp.fill(last, c);
    view.logPrice = lp;
  }
  return view;
}

/** Backtest forecasts: per series, per algorithm, one forecast per window (null where the series is not backtested). */
export type BacktestForecasts = Map<Algorithm, (Float64Array | null)[]>[];

/** Whether series i is backtested at window w: enough known days before the origin, and a long series for a seasonal window. */
export function eligible(s: EngineSeries, w: CvWindow): boolean {
  if (w.testEnd > s.y.length) return false;
  const before = knownDays(s.y, 0, w.trainEnd);
  if (before < MIN_TRAIN) return false;
  if (w.kind === 'seasonal' && knownDays(s.y) < LONG_SERIES) return false;
  return knownDays(s.y, w.trainEnd, w.testEnd) > 0;
}

/**
 * Runs every candidate of every series at every window it is eligible for.
 * Pooled models are fitted once per window over all series that use them
 * (the global model across all of them, as production does).
 */
export async function backtest(series: EngineSeries[], windows: CvWindow[], candidates: Algorithm[][], o: EngineOptions): Promise<BacktestForecasts> {
  const out = await backtestPooled(series, windows, candidates, o);
  series.forEach((s, i) => backtestLocal(s, windows, candidates[i], out[i]));
  return out;
}

/**
 * The pooled candidates (regression, pooled, global) of every series, one batched fit per window.
 * Memory (30,000 series): the forecasts of a window are kept in one buffer per `block` of
 * consecutive series (the caller's selection chunk: a block is freed when its chunk has been
 * selected) as views, not as one small array each (the small arrays cost more in bookkeeping than
 * in values); the series' views at each origin are made as the fits read them (pooledForecasts).
 */
export async function backtestPooled(series: EngineSeries[], windows: CvWindow[], candidates: Algorithm[][], o: EngineOptions, block = Math.max(1, series.length)): Promise<BacktestForecasts> {
  const out: BacktestForecasts = series.map(() => new Map());
  const ok = series.map((s) => windows.map((w) => eligible(s, w)));
  for (let i = 0; i < series.length; i++) for (const a of candidates[i]) if (POOLED.includes(a)) out[i].set(a, windows.map(() => null));
  for (let wi = 0; wi < windows.length; wi++) {
    const w = windows[wi];
    const h = w.testEnd - w.trainEnd;
    const need = POOLED.filter((a) => series.some((_, i) => ok[i][wi] && candidates[i].includes(a)));
    if (!need.length) continue;
    for (const a of need) {
      const idx = series.map((_, i) => i).filter((i) => ok[i][wi] && candidates[i].includes(a));
      const f = await pooledForecasts(a, series, idx, w.trainEnd, h, o);
      // Copied into the buffer of each series' block (the same values), in the order of idx.
      let buf: Float64Array | null = null;
      let bufBlock = -1;
      idx.forEach((i, j) => {
        const b = Math.floor(i / block);
        if (b !== bufBlock) {
          bufBlock = b;
          buf = new Float64Array(Math.min(block, series.length - b * block) * h);
        }
        const at = (i - b * block) * h;
        const fj = f[j];
        if (fj.length !== h) {
          out[i].get(a)![wi] = fj;
          return;
        }
        buf!.set(fj, at);
        out[i].get(a)![wi] = buf!.subarray(at, at + h);
      });
    }
  }
  return out;
}

/**
 * The per-series candidates of one series at every window it is eligible
 * for, added to `into`. Run series by series so that only one series' local
 * backtest is in memory at a time.
 */
export function backtestLocal(s: EngineSeries, windows: CvWindow[], candidates: Algorithm[], into: Map<Algorithm, (Float64Array | null)[]>): void {
  const local = candidates.filter((a) => !POOLED.includes(a));
  for (const a of local) into.set(a, windows.map(() => null));
  // AutoETS searches its form and parameters at the series' first window only; later windows rerun the states with them (speed).
  let etsFit: EtsFit | null | undefined;
  windows.forEach((w, wi) => {
    if (!eligible(s, w)) return;
    const h = w.testEnd - w.trainEnd;
    const y = originView(s, w.trainEnd, h).y;
    for (const a of local) {
      let f: Float64Array;
      if (a === 'ets') {
        if (etsFit === undefined) etsFit = autoEts(y);
        f = etsFit ? etsFollowingSteps(y, etsFit, h).forecast : movingAverage(y, h, { window: 28 });
      } else f = LOCAL[a as LocalAlgorithm](y, h).f;
      into.get(a)![wi] = f;
    }
  });
}

/**
 * Forecasts of a pooled model for the series `idx` of `series`, fitted on what
 * is known at `T` (each series' originView), H days from T. The views are made
 * as the fit reads them: the regression's a chunk at a time, the global
 * model's all at once; the pooled model reads demand alone (the days before T).
 */
export async function pooledForecasts(a: Algorithm, series: EngineSeries[], idx: number[], T: number, H: number, o: EngineOptions): Promise<Float64Array[]> {
  if (a === 'pooled') return fitPooled(series.map((s) => ({ y: s.y.subarray(0, T) })), idx, { startDay: o.startDay, T, H }).forecast;
  if (a === 'global') {
    const views = series.map((s) => originView(s, T, H));
    const model = await fitGlobal(views, T, { ...o, seed: o.seed });
    return model.forecast(views, idx, T, H);
  }
  return regressionForecasts((i) => originView(series[i], T, H), idx, T, H, o).then((r) => idx.map((i) => r.out.get(i)!));
}

/** The batched regression for the series `idx`, in chunks (memory bound); also returns each series' fitted effects. */
/** What the regression's fit tells of a series beside its forecast (its parameters in the model row). */
export interface RegressionExtra { promo: number; price: number; smear: number; shift: number; relevel: { start: number; ratio: number } | null }

export async function regressionForecasts(series: EngineSeries[] | ((i: number) => EngineSeries), idx: number[], T: number, H: number, o: EngineOptions) {
  const at = typeof series === 'function' ? series : (i: number) => series[i];
  const out = new Map<number, Float64Array>();
  const extra = new Map<number, RegressionExtra>();
  // Series per regression batch: each series with own regressors holds a k x k system and its factor.
  const chunk = o.chunk ?? 1000;
  for (let c = 0; c < idx.length; c += chunk) {
    const part = idx.slice(c, c + chunk);
    const input = part.map((i) => {
      const s = at(i);
      return {
        y: s.y.subarray(0, T),
        promo: s.promo ? s.promo.subarray(0, T + H) : null,
        logPrice: s.logPrice ? s.logPrice.subarray(0, T + H) : null,
        group: s.group,
      };
    });
    const fit = await fitRegression(input, { startDay: o.startDay, T, H, holidays: o.holidays, nHolidays: o.nHolidays, yearlyOrder: 4, months: true });
    part.forEach((i, j) => {
      out.set(i, fit.forecast[j]);
      extra.set(i, { promo: fit.promoEffect[j], price: fit.priceEffect[j], smear: fit.smear[j], shift: fit.shift[j], relevel: fit.relevel[j] });
    });
  }
  return { out, extra };
}
