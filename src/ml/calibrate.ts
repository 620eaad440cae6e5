/**
 * Stage 4 of the engine: prediction intervals and error quantiles, conformal
 * from out-of-sample backtest errors that did not choose the model. The
 * formulas, with their units and the reason for each constant, are in
 * docs/forecasting.md ("4. Intervals and error quantiles").
 *
 * 1. Cross-fitting: for each backtest window j, the model is chosen again on
 *    the other windows only, and its errors e = actual - forecast (units) on
 *    window j are kept: out of sample for both the fit and the choice.
 * 2. Scale: demand counts have a variance that grows with their level, about
 *    like the level itself (Poisson: var = mean) plus a share of its square
 *    (a level or bias that is off by a few per cent). Each day's error is
 *    divided by its spread s(m_t) = sqrt(V(m_t)), V(m) = m + phi m^2, with m_t
 *    that day's forecast (units/day; a busy weekday or a planned promotion
 *    spreads more than a quiet day) and phi >= 0 the series' own extra
 *    dispersion (method of moments over its windows); for demand that is not a
 *    count (kilograms) V(m) = m^2. The scaled errors r are put back at the
 *    spread of each new day, s(f_h).
 * 3. Few windows: the days of one window share that window's level error, so n
 *    errors carry the information of fewer independent draws. The errors are
 *    widened by t_nu(p) / z(p) (p = (1 + L) / 2), with nu the Welch-Satterthwaite
 *    degrees of freedom of the between-window and within-window variances.
 * 4. The interval of a day is taken from the predictive distribution
 *    f_h + s(m_now) r_i, never below 0: for counts each value is rounded to the
 *    nearest count and the tails are cut at the nearest mass (mid-p); the lower
 *    tail first, and the upper tail takes what the lower one could not (at 0,
 *    the whole 1 - L).
 * 5. A whole count is in or out of an interval, so a day's interval cannot
 *    hold exactly L: on slow movers [0, 0] alone holds more than L of the
 *    days. Each day of a count series has two intervals: its widest (a count
 *    at the upper edge left out only when all of its mass fits into the
 *    tail) and that one without its edge count. The series' days give up
 *    their edge counts, in an order spread over the horizon, while that
 *    brings the series' mean predictive probability over the days forecast
 *    nearer L (balanceSeries): each series holds L as near as whole counts
 *    allow, and no series is narrowed to pay for another's [0, 0]. The lower
 *    tail stays mid-p, so a bound never leaves out a zero that half fits. It
 *    reads the predictive distributions only, never the actual demand.
 *
 * Censored days (unknown demand) are not errors and are left out everywhere,
 * including the error runs that safety stock reads.
 */
import jStat from 'jstat';
import { mean, normalQuantile } from './metrics.js';
import type { Demand } from './models.js';
import { SeriesBacktest, selectModel, type Choice } from './select.js';
import type { Algorithm } from './forecasters.js';

/** Days per horizon block: one week, so each block holds every weekday. */
const BLOCK = 7;
const BLOCKS = 4;
/** Errors a block needs for its own quantiles; below it, the blocks are pooled (40: the 95 % bounds then sit between the 1st and 2nd extreme). */
const MIN_BLOCK_ERRORS = 40;
/** m_min as a share of the mean demand: keeps the scale positive when a forecast is near zero; it only matters for such series. */
const MIN_SCALE_SHARE = 0.1;
/** Lowest degrees of freedom of the widening: below 2 the t distribution has no variance (only reached with one window). */
const MIN_DF = 2;

/** One backtest window's out-of-sample errors. */
export interface WindowErrors {
  /** m_j: the window's level (mean forecast, units/day). */
  level: number;
  /** m_min at the window's origin (units/day): the lowest level a day's spread is taken at. */
  floor: number;
  /**
   * actual - forecast per day of the window (units); null = censored or unknown day. The engine keeps them
   * in a Float64Array with the unknown days marked in `unknown` (see crossFitErrors).
   */
  errors: (number | null)[] | Float64Array;
  /** With errors in a Float64Array: 1 on the days whose error is unknown (null). */
  unknown?: Uint8Array;
  /** The forecast per day of the window (units/day). */
  forecast: ArrayLike<number>;
}

/** The error of day t of a window, null when unknown. */
function errorAt(w: WindowErrors, t: number): number | null {
  return w.unknown && w.unknown[t] ? null : w.errors[t];
}

export interface CalibrationErrors {
  windows: WindowErrors[];
  /** Every known demand of the series is a whole number: intervals are sets of counts. */
  counts: boolean;
}

export interface IntervalSpec {
  level: number;
  /** Error bounds in units per horizon block (block b covers days 7b..7b+6; the last block repeats), before the bound at 0. */
  lo: number[];
  hi: number[];
  /** First block's bounds (units): what older readers of the model take as the day's spread. */
  error_lo: number;
  error_hi: number;
  n_errors: number;
  /** m_now (units/day). */
  scale: number;
  /** Scaled predictive errors r x widening, sorted, per block (one array when pooled; unitless); absent in older models. */
  scaled?: number[][];
  /** m_min (units/day): the lowest level a day's spread is taken at. */
  floor?: number;
  /** Demand is counted: bounds are whole counts. */
  counts?: boolean;
  /** Widening factor t_nu(p) / z(p) applied to the errors, and nu. */
  widen?: number;
  df?: number;
  /** phi of V(m) = m + phi m^2 (1/units; counts only). */
  dispersion?: number;
}

/** The mid-p cut: a count is left out of the interval when at least half of its mass fits into the tail. */
export const MID_P = 0.5;

/** Conformal lower/upper order statistic of sorted values for a two-sided level L. */
export function conformalBounds(sorted: ArrayLike<number>, level: number): [number, number] {
  const n = sorted.length;
  if (!n) return [NaN, NaN];
  // The 1e-9 keeps exact ranks exact in floating point (20 x 0.2 / 2 must be 2, not 1.999...).
  const kLo = Math.min(n, Math.max(1, Math.floor(((n + 1) * (1 - level)) / 2 + 1e-9)));
  const kHi = Math.min(n, Math.max(1, Math.ceil(((n + 1) * (1 + level)) / 2 - 1e-9)));
  return [sorted[kLo - 1], sorted[kHi - 1]];
}

/** Conformal one-sided quantile at q (e.g. a service level): the ceil((n + 1) q)-th smallest, clamped to 1..n. */
export function conformalQuantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (!n) return NaN;
  const k = Math.min(n, Math.max(1, Math.ceil((n + 1) * q - 1e-9)));
  return sorted[k - 1];
}

/** m_min: the lowest level a spread is taken at (units/day), from the mean demand of the last year (see the header). */
export function scaleFloor(history: Demand): number {
  const y = mean(history.subarray(Math.max(0, history.length - 365)));
  return Math.max(MIN_SCALE_SHARE * (Number.isFinite(y) ? y : 0), 1e-6);
}

/** m: the level of a forecast (units/day), floored at m_min (see the header). */
export function errorScale(forecast: ArrayLike<number>, history: Demand): number {
  let s = 0;
  for (let i = 0; i < forecast.length; i++) s += forecast[i];
  const f = forecast.length ? s / forecast.length : 0;
  return Math.max(f, scaleFloor(history));
}

/** Whether every known value is a whole number (demand counted in units). */
export function isCountSeries(y: ArrayLike<number>): boolean {
  let any = false;
  for (let t = 0; t < y.length; t++) {
    const v = y[t];
    if (v !== v) continue;
    if (!Number.isInteger(v)) return false;
    any = true;
  }
  return any;
}

/** Cross-fitted out-of-sample errors of a series (see the header); `use` = windows with forecasts. */
export function crossFitErrors(bt: SeriesBacktest, candidates: Algorithm[], use: number[], final: Choice | null): CalibrationErrors {
  // Every window's errors and forecasts in one Float64Array per series, the unknown days in one Uint8Array:
  // train holds these of every series from selection to calibration, and arrays of numbers and nulls took
  // about twice the memory (each number boxed). The values are the same doubles.
  let days = 0;
  for (const j of use) days += bt.windows[j].testEnd - bt.windows[j].trainEnd;
  const values = new Float64Array(2 * days);
  const unknown = new Uint8Array(days);
  let at = 0;
  const windows: WindowErrors[] = [];
  for (const j of use) {
    const others = use.filter((k) => k !== j);
    const c = (others.length ? selectModel(bt, candidates, others)?.choice : null) ?? final;
    if (!c) continue;
    const f = bt.forecastOf(c, j);
    if (!f) continue;
    const w = bt.windows[j];
    const len = w.testEnd - w.trainEnd;
    const errors = values.subarray(2 * at, 2 * at + len);
    const forecast = values.subarray(2 * at + len, 2 * at + 2 * len);
    const unk = unknown.subarray(at, at + len);
    for (let t = w.trainEnd; t < w.testEnd; t++) {
      const a = bt.y[t];
      const k = t - w.trainEnd;
      if (a !== a) unk[k] = 1;
      else errors[k] = a - f[k];
      // f may be shorter than the window (Array.from(f.subarray(0, len)) kept what it had).
      if (k < f.length) forecast[k] = f[k];
    }
    at += len;
    const before = bt.y.subarray(0, w.trainEnd);
    windows.push({ level: errorScale(f, before), floor: scaleFloor(before), errors, unknown: unk, forecast: f.length >= len ? forecast : forecast.subarray(0, f.length) });
  }
  return { windows, counts: isCountSeries(bt.y) };
}

/** m_t: the level a day's spread is taken at (units/day): its forecast, at least the floor. */
function dayLevel(w: WindowErrors, t: number): number {
  const f = w.forecast?.[t];
  return Math.max(f !== undefined && Number.isFinite(f) ? f : w.level, w.floor ?? 0, 1e-6);
}

/**
 * phi of V(m) = m + phi m^2 by the method of moments over the windows'
 * days: sum (e_t^2 - m_t) / sum m_t^2, at least 0 (1/units).
 */
export function dispersion(errs: CalibrationErrors): number {
  let num = 0;
  let den = 0;
  for (const w of errs.windows)
    for (let t = 0; t < w.errors.length; t++) {
      const e = errorAt(w, t);
      if (e === null) continue;
      const m = dayLevel(w, t);
      num += e * e - m;
      den += m * m;
    }
  return den > 0 ? Math.max(0, num / den) : 0;
}

/** s(m) = sqrt(V(m)) (units): the spread of a day's error at level m. */
function spreadAt(m: number, counts: boolean, phi: number): number {
  return counts ? Math.sqrt(m + phi * m * m) : m;
}

/**
 * Welch-Satterthwaite degrees of freedom of the scaled errors' variance:
 * between-window mean squares (K windows) plus within-window variance
 * (n - K degrees), nu = (B + W)^2 / (B^2 / K + W^2 / (n - K)).
 */
export function effectiveDf(scaled: number[][]): number {
  let K = 0;
  let n = 0;
  let b = 0;
  let w = 0;
  for (const r of scaled) {
    if (!r.length) continue;
    const mu = r.reduce((a, x) => a + x, 0) / r.length;
    K++;
    n += r.length;
    b += mu * mu;
    for (const x of r) w += (x - mu) * (x - mu);
  }
  if (!K) return Infinity;
  b /= K;
  w = n > K ? w / (n - K) : 0;
  const den = (b * b) / K + (n > K ? (w * w) / (n - K) : 0);
  if (!(den > 0)) return Infinity;
  return Math.max(MIN_DF, ((b + w) * (b + w)) / den);
}

/** t_nu(p) / z(p) for the two-sided level L (1 for infinite nu). */
export function widening(level: number, df: number): number {
  if (!Number.isFinite(df) || df > 1e6) return 1;
  const p = (1 + level) / 2;
  return jStat.studentt.inv(p, df) / normalQuantile(p);
}

/**
 * Calibrates a series at `level` for a forecast whose level is `mNow`
 * (units/day): the interval spec (stored with the model, read by predict) and
 * the error runs rescaled to today's spread (units per day, per window; null
 * on censored days) that safety stock sums. Null when there are no errors.
 */
export function calibrate(errs: CalibrationErrors, level: number, mNow: number): { spec: IntervalSpec; runs: (number | null)[][] } | null {
  const phi = errs.counts ? dispersion(errs) : 0;
  const sNow = spreadAt(mNow, errs.counts, phi);
  const byBlock: number[][] = Array.from({ length: BLOCKS }, () => []);
  const byWindow: number[][] = [];
  for (const w of errs.windows) {
    const r: number[] = [];
    for (let t = 0; t < w.errors.length; t++) {
      const e = errorAt(w, t);
      if (e === null) continue;
      const x = e / spreadAt(dayLevel(w, t), errs.counts, phi);
      r.push(x);
      byBlock[Math.min(BLOCKS - 1, Math.floor(t / BLOCK))].push(x);
    }
    byWindow.push(r);
  }
  const n = byBlock.reduce((a, b) => a + b.length, 0);
  if (!n) return null;
  const df = effectiveDf(byWindow);
  const wid = widening(level, df);
  // Scaled predictive errors, rounded outwards from 0 so storing them never narrows the interval.
  const out = (r: number) => (r >= 0 ? Math.ceil(r * wid * 1e4) : Math.floor(r * wid * 1e4)) / 1e4;
  const perBlock = byBlock.every((b) => b.length >= MIN_BLOCK_ERRORS);
  const blocks = (perBlock ? byBlock : [byBlock.flat()]).map((b) => Float64Array.from(b, out).sort());
  const lo: number[] = [];
  const hi: number[] = [];
  for (let b = 0; b < BLOCKS; b++) {
    const [l, h] = conformalBounds(blocks[Math.min(b, blocks.length - 1)], level);
    lo.push(Math.floor(l * sNow * 1e4) / 1e4);
    hi.push(Math.ceil(h * sNow * 1e4) / 1e4);
  }
  // Today's floor: the one at the latest origin (the mean demand of the year before it).
  const floor = errs.windows.length ? errs.windows[errs.windows.length - 1].floor ?? 0 : 0;
  const spec: IntervalSpec = {
    level, lo, hi, error_lo: lo[0], error_hi: hi[0], n_errors: n, scale: round4(mNow),
    scaled: blocks.map((b) => Array.from(b)), counts: errs.counts, floor: round4(floor), widen: round4(wid), df: round4(df), dispersion: round4(phi),
  };
  // Safety stock sums days: each day's scaled error at the spread of today's mean level (units).
  const runs = errs.windows.map((w) =>
    Array.from({ length: w.errors.length }, (_, t) => {
      const e = errorAt(w, t);
      return e === null ? null : Math.round((e / spreadAt(dayLevel(w, t), errs.counts, phi)) * wid * sNow * 100) / 100;
    }),
  );
  return { spec, runs };
}

/**
 * The interval [lo, hi] of one day from its predictive values (sorted,
 * f_h + error, already at least 0 and, for counts, rounded to whole counts).
 * Each value weighs 1 / (n + 1) and the conformal (n + 1)-th point lies above
 * them all. The lower tail drops the smallest values while the dropped mass
 * stays nearest (1 - L) / 2 (a value is dropped when less than half of it
 * would overshoot: mid-p); the upper tail then drops the largest towards
 * what remains of 1 - L, a value when at least `cut` of it fits (mid-p at
 * 0.5; balanceSeries uses 0 and 1). Values tied on a count fall together.
 */
export function dayInterval(v: ArrayLike<number>, level: number, counts: boolean, cut = MID_P): [number, number] {
  const d = intervalOf(v.length, (i) => v[i], level, counts, cut);
  return [d.lo, d.hi];
}

/** End (exclusive) of the run of values equal to at(i) in a sorted sequence of n: galloping, then halving (a tie of counts can hold most of n). */
function runEnd(at: (i: number) => number, i: number, n: number): number {
  const x = at(i);
  let lo = i;
  let hi = i + 1;
  let step = 1;
  while (hi < n && at(hi) === x) {
    lo = hi;
    step *= 2;
    hi = Math.min(n, lo + step);
  }
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (at(mid) === x) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** Start of the run of values equal to at(k), not before `first`. */
function runStart(at: (i: number) => number, k: number, first: number): number {
  const x = at(k);
  let hi = k;
  let lo = k - 1;
  let step = 1;
  while (lo >= first && at(lo) === x) {
    hi = lo;
    step *= 2;
    lo = Math.max(first - 1, hi - step);
  }
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (at(mid) === x) hi = mid;
    else lo = mid;
  }
  return hi;
}

/**
 * `cover` is the predictive probability of [lo, hi]. `edge` (counts): the
 * cut below which the count at the upper edge would be left out too, and
 * `edgeMass` its mass: each cut under `edge` gives [lo, next count below hi]
 * with probability cover - edgeMass, and only that, since the tail is then
 * full (edge -Infinity when no cut can leave it out).
 */
interface DayInterval {
  lo: number;
  hi: number;
  cover: number;
  edge: number;
  edgeMass: number;
}

/**
 * dayInterval over a sorted sequence given by `at` (the predictive values are
 * computed only where the tails need them: predict bounds 30,000 series x 28
 * days from up to 168 errors each).
 */
function intervalOf(n: number, at: (i: number) => number, level: number, counts: boolean, cut: number): DayInterval {
  const N = n + 1;
  const aLo = (1 - level) / 2;
  let i = 0;
  let below = 0;
  if (counts) {
    while (i < n) {
      const j = runEnd(at, i, n);
      const p = (j - i) / N;
      if (below + MID_P * p >= aLo || j === n) break;
      below += p;
      i = j;
    }
  } else {
    // Values that are not counts: the conformal rank floor((n + 1) a), unless the bound at 0 took the tail.
    const kLo = Math.min(n, Math.max(1, Math.floor(N * aLo + 1e-9)));
    if (at(kLo - 1) > 0) {
      i = kLo - 1;
      below = aLo;
    }
  }
  const aHi = Math.max(0, 1 - level - below);
  let k = n - 1;
  let edge = -Infinity;
  let edgeMass = 0;
  if (counts) {
    let above = 1 / N;
    while (k > i) {
      const g = runStart(at, k, i);
      if (g === i) break;
      const p = (k - g + 1) / N;
      if (above + cut * p >= aHi) {
        edge = (aHi - above) / p;
        edgeMass = p;
        break;
      }
      above += p;
      k = g - 1;
    }
  } else {
    k = Math.min(n, Math.max(1, Math.ceil(N * (1 - aHi) - 1e-9))) - 1;
  }
  k = Math.max(i, k);
  // The predictive probability of [at(i), at(k)]: the values kept (ties of counts fall together, so a run at either end is whole).
  return { lo: at(i), hi: at(k), cover: (k - i + 1) / N, edge, edgeMass };
}

type ScaledSpec = { scaled: number[][]; level: number; counts?: boolean; floor?: number; dispersion?: number };

/** The interval of horizon day h forecast at f from the spec's scaled errors (see intervalOf), with its predictive probability. */
function dayOf(f: number, h: number, spec: ScaledSpec, cut: number): DayInterval {
  const e = spec.scaled[Math.min(Math.floor(h / BLOCK), spec.scaled.length - 1)];
  const counts = !!spec.counts;
  if (!e.length) return { lo: f, hi: f, cover: 1, edge: -Infinity, edgeMass: 0 };
  const s = spreadAt(Math.max(f, spec.floor ?? 0, 1e-6), counts, spec.dispersion ?? 0);
  // A monotone map of the sorted errors: the values stay sorted.
  const at = counts ? (i: number) => Math.round(Math.max(0, f + s * e[i])) : (i: number) => Math.max(0, f + s * e[i]);
  return heldToForecast(intervalOf(e.length, at, spec.level, counts, cut), f, e.length, at);
}

/**
 * The interval always holds its own point forecast: whole-count bounds may
 * round past a fractional forecast (hi 12 for a forecast of 12.01; widening to
 * it changes no coverage of whole counts, y <= 12.01 iff y <= 12), and a tail
 * may reach past it on a skewed day. The day's interval is widened to f here, its predictive
 * probability counted over the widened bounds, and a count at the upper edge
 * that f already reaches no longer counts as one a cut can leave out (leaving
 * it out would change nothing the interval holds).
 */
function heldToForecast(d: DayInterval, f: number, n: number, at: (i: number) => number): DayInterval {
  const edgeHeld = d.edge > -Infinity && d.hi <= f;
  if (f >= d.lo && f <= d.hi && !edgeHeld) return d;
  const lo = Math.min(d.lo, f);
  const hi = Math.max(d.hi, f);
  // Values within [lo, hi] of the sorted sequence: first index >= lo, first index > hi.
  const first = (ok: (x: number) => boolean) => {
    let a = 0;
    let b = n;
    while (a < b) {
      const m = (a + b) >> 1;
      if (ok(at(m))) b = m;
      else a = m + 1;
    }
    return a;
  };
  const cover = (first((x) => x > hi) - first((x) => x >= lo)) / (n + 1);
  return edgeHeld ? { lo, hi, cover, edge: -Infinity, edgeMass: 0 } : { lo, hi, cover, edge: d.edge, edgeMass: d.edgeMass };
}

/** Order key of horizon day h among days that are otherwise equal (see balanceSeries): spreads them over the horizon. */
function ditherKey(h: number): number {
  const x = h * 0.6180339887498949;
  return x - Math.floor(x);
}

/**
 * The intervals of a count series' days (see the header, 5): each day at its
 * widest (cut 1: a count at the upper edge is left out only when all of its
 * mass fits into the tail), then the days that can give up their edge count
 * do, one at a time in an order spread over the horizon (ditherKey), while
 * that brings the series' mean predictive probability over the days strictly
 * nearer L. The order is not by how much of each day's edge count fits: with
 * an error set per horizon week, that share differs between weeks by the
 * noise of their errors, and whole weeks gave up their counts together (one
 * product covered 91 % of its first weeks and 61 % of its last). Reads the
 * predictive distributions only, never the actual demand.
 */
function balanceSeries(forecast: ArrayLike<number>, spec: ScaledSpec & { level: number }, lo: Float64Array, hi: Float64Array): void {
  const n = forecast.length;
  let sum = 0;
  const drop: { h: number; mass: number; key: number }[] = [];
  for (let h = 0; h < n; h++) {
    const d = dayOf(forecast[h], h, spec, 1);
    lo[h] = d.lo;
    hi[h] = d.hi;
    sum += d.cover;
    if (d.edge > 0) drop.push({ h, mass: d.edgeMass, key: ditherKey(h) });
  }
  drop.sort((a, b) => a.key - b.key);
  for (const x of drop) {
    if (!(Math.abs((sum - x.mass) / n - spec.level) < Math.abs(sum / n - spec.level) - 1e-12)) break;
    sum -= x.mass;
    // The day without its edge count: any cut under its edge (0 is).
    const d = dayOf(forecast[x.h], x.h, spec, 0);
    lo[x.h] = d.lo;
    hi[x.h] = d.hi;
  }
}

/**
 * Bounds of a forecast from an interval spec: from its scaled errors when stored (count series balanced
 * over the days forecast, see balanceSeries), else from the per-block (or scalar) error bounds.
 */
export function applyInterval(
  forecast: Float64Array,
  spec: { lo?: number[]; hi?: number[]; error_lo: number; error_hi: number; scaled?: number[][]; counts?: boolean; level?: number; floor?: number; dispersion?: number },
): { lo: Float64Array; hi: Float64Array } {
  const lo = new Float64Array(forecast.length);
  const hi = new Float64Array(forecast.length);
  if (spec.scaled?.length && spec.level !== undefined) {
    if (spec.counts) {
      balanceSeries(forecast, spec as ScaledSpec & { level: number }, lo, hi);
      return { lo, hi };
    }
    for (let h = 0; h < forecast.length; h++) {
      // Already widened to hold its forecast (heldToForecast).
      const d = dayOf(forecast[h], h, spec as ScaledSpec, MID_P);
      lo[h] = d.lo;
      hi[h] = d.hi;
    }
    return { lo, hi };
  }
  for (let h = 0; h < forecast.length; h++) {
    const b = Math.floor(h / BLOCK);
    const el = spec.lo?.length ? spec.lo[Math.min(b, spec.lo.length - 1)] : spec.error_lo;
    const eh = spec.hi?.length ? spec.hi[Math.min(b, spec.hi.length - 1)] : spec.error_hi;
    lo[h] = Math.max(0, forecast[h] + el);
    hi[h] = Math.max(lo[h], forecast[h] + eh);
  }
  return { lo, hi };
}

/**
 * The q-quantile of the forecast error summed over `days` consecutive days
 * (units), from the stored out-of-sample error runs: every `days`-day stretch
 * of every run gives one sum; censored days are left out and the stretch's sum
 * is scaled up by days / known days (a stretch with fewer than half its days
 * known is skipped). For safety stock at any service level q.
 */
export function errorSumQuantile(runs: (number | null)[][], days: number, q: number): { value: number; windows: number } {
  const sums: number[] = [];
  for (const run of runs) {
    for (let s = 0; s + days <= run.length; s++) {
      let sum = 0;
      let k = 0;
      for (let t = s; t < s + days; t++) {
        const e = run[t];
        if (e === null || e === undefined || e !== e) continue;
        sum += e;
        k++;
      }
      if (k * 2 >= days) sums.push((sum * days) / k);
    }
  }
  if (!sums.length) return { value: NaN, windows: 0 };
  sums.sort((a, b) => a - b);
  return { value: conformalQuantile(sums, q), windows: sums.length };
}

function round4(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}
