/**
 * Features of the global model for one (series, origin, horizon step) row.
 * Everything about demand is read strictly before the origin `t0` (the first
 * day the forecast does not know), so a row is horizon-safe: a direct
 * multi-horizon scheme that never uses unknown future demand. The target day
 * contributes only what is known in advance: its calendar (weekday, yearly
 * position, holidays) and its planned promotion flag; price is the last known
 * price before the origin. Demand features are divided by the series' scale
 * (mean of the known days of the last SCALE_DAYS days), so one network serves
 * series of every size. See docs/global-model.md.
 */
import { dayOfYear, weekday } from '../dates.js';
import type { Demand } from './models.js';

/**
 * Days behind the per-series scale. 56 = 8 whole weeks: every weekday counts
 * equally, and it is long enough to hold a few sales of a slow mover yet short
 * enough to follow a level shift within two months.
 */
export const SCALE_DAYS = 56;
/** Smallest scale: a series with no known demand at all forecasts ~0 instead of dividing by zero (units/day). */
export const MIN_SCALE = 1e-3;
/** Days in a year for the same-day-last-year lag: 364 = 52 whole weeks, so the weekday matches. */
export const YEAR_LAG = 364;

export const FEATURE_NAMES = [
  'level_7', 'level_28', 'level_112', 'level_364', 'zero_share_56', 'known_share_56', 'log_scale', 'promo_share_56', 'log_price_last',
  'has_last_year', 'weekday_level_28', 'weekday_level_112', 'last_year_day', 'last_year_origin',
  'wd0', 'wd1', 'wd2', 'wd3', 'wd4', 'wd5', 'wd6', 'year_sin1', 'year_cos1', 'year_sin2', 'year_cos2', 'step', 'holiday', 'promo',
] as const;
export const N_FEATURES = FEATURE_NAMES.length;

/** The inputs of one series the features read. */
export interface FeatureSeries {
  y: Demand;
  promo: ArrayLike<number> | null;
  logPrice: ArrayLike<number> | null;
}

/** Prefix sums of known demand and known-day counts: window means in O(1). */
export class Prefix {
  readonly sum: Float64Array;
  readonly cnt: Float64Array;
  readonly zeros: Float64Array;
  constructor(y: Demand, end: number) {
    const n = Math.min(end, y.length);
    this.sum = new Float64Array(n + 1);
    this.cnt = new Float64Array(n + 1);
    this.zeros = new Float64Array(n + 1);
    for (let t = 0; t < n; t++) {
      const v = y[t];
      const known = v === v;
      this.sum[t + 1] = this.sum[t] + (known ? v : 0);
      this.cnt[t + 1] = this.cnt[t] + (known ? 1 : 0);
      this.zeros[t + 1] = this.zeros[t] + (known && v === 0 ? 1 : 0);
    }
  }
  /** Mean of the known days in [a, b) (clamped to the data), NaN when none. */
  mean(a: number, b: number): number {
    const lo = Math.max(0, a);
    const hi = Math.min(this.sum.length - 1, b);
    if (hi <= lo) return NaN;
    const c = this.cnt[hi] - this.cnt[lo];
    return c > 0 ? (this.sum[hi] - this.sum[lo]) / c : NaN;
  }
  known(a: number, b: number): number {
    const lo = Math.max(0, a);
    const hi = Math.min(this.sum.length - 1, b);
    return hi > lo ? this.cnt[hi] - this.cnt[lo] : 0;
  }
  zeroCount(a: number, b: number): number {
    const lo = Math.max(0, a);
    const hi = Math.min(this.sum.length - 1, b);
    return hi > lo ? this.zeros[hi] - this.zeros[lo] : 0;
  }
}

/** The per-series scale at an origin: mean of the last SCALE_DAYS known days, else of all known history, else MIN_SCALE. */
export function seriesScale(p: Prefix, t0: number): number {
  let s = p.mean(t0 - SCALE_DAYS, t0);
  if (!(s > 0)) s = p.mean(0, t0);
  return s > MIN_SCALE ? s : MIN_SCALE;
}

const phaseCache = new Map<number, number>();
/** Position in the year as an angle (radians), cached per day number: dayOfYear formats a date. */
function yearPhase(dn: number): number {
  let v = phaseCache.get(dn);
  if (v === undefined) {
    v = (2 * Math.PI * dayOfYear(dn)) / 365.25;
    phaseCache.set(dn, v);
  }
  return v;
}

/** Scaled level feature: log(1 + mean / scale), 0 when the window has no known day. */
function lvl(m: number, scale: number): number {
  return m === m ? Math.log1p(m / scale) : 0;
}

/** Mean of the known days with weekday `wd` in [t0 - days, t0) (day numbers from startDay), NaN when none. */
function weekdayMean(y: Demand, t0: number, days: number, wd: number, startDay: number): number {
  // First day in the window with weekday wd, then every 7th day.
  let t = t0 - days;
  if (t < 0) t += Math.ceil(-t / 7) * 7;
  t += (((wd - weekday(startDay + t)) % 7) + 7) % 7;
  let s = 0;
  let n = 0;
  for (; t < t0; t += 7) {
    const v = y[t];
    if (v === v) {
      s += v;
      n++;
    }
  }
  return n ? s / n : NaN;
}

/**
 * The calendar of a fit. `yearly` switches the yearly-position features on
 * only when the training targets spanned a whole year: a position in the year
 * the network never saw is an extrapolation, not a season (it stays 0 then).
 */
export interface Calendar {
  startDay: number;
  holidays: Map<number, number>;
  yearly: boolean;
}

/**
 * Writes the features of the rows (t0, step 1..H) of one series into `out`
 * (row-major, N_FEATURES per row) starting at row `row0`. `scale` is
 * seriesScale(p, t0). Calendar lookups are by day number (startDay + t).
 * Features left unset stay 0.
 */
export function writeRows(
  s: FeatureSeries, p: Prefix, t0: number, steps: ArrayLike<number>, scale: number, cal: Calendar, out: Float32Array, row0: number,
): void {
  const { startDay, holidays } = cal;
  const y = s.y;
  const f = new Float64Array(N_FEATURES);
  const known56 = p.known(t0 - SCALE_DAYS, t0);
  f[0] = lvl(p.mean(t0 - 7, t0), scale);
  f[1] = lvl(p.mean(t0 - 28, t0), scale);
  f[2] = lvl(p.mean(t0 - 112, t0), scale);
  f[3] = lvl(p.mean(t0 - YEAR_LAG, t0), scale);
  f[4] = known56 ? p.zeroCount(t0 - SCALE_DAYS, t0) / known56 : 0;
  f[5] = known56 / SCALE_DAYS;
  // log10 of the scale: the network may learn that counts near 0 behave differently from large ones.
  f[6] = Math.log10(scale);
  let promoDays = 0;
  if (s.promo) for (let t = Math.max(0, t0 - SCALE_DAYS); t < t0; t++) promoDays += s.promo[t] ? 1 : 0;
  f[7] = promoDays / SCALE_DAYS;
  // Last known price before the origin (the price the horizon is sold at unless a promotion is planned).
  let lp = 0;
  if (s.logPrice) for (let t = t0 - 1; t >= 0; t--) if (s.logPrice[t] === s.logPrice[t]) {
    lp = s.logPrice[t];
    break;
  }
  f[8] = lp;
  const lyOrigin = p.mean(t0 - YEAR_LAG - 28, t0 - YEAR_LAG);
  const hasLy = lyOrigin === lyOrigin && p.known(t0 - YEAR_LAG - 28, t0 - YEAR_LAG) >= 14;
  f[9] = hasLy ? 1 : 0;
  f[13] = hasLy ? lvl(lyOrigin, scale) : 0;
  // The weekday levels depend only on the target's weekday: computed once per weekday (NaN = not yet).
  const wd28 = new Float64Array(7).fill(NaN);
  const wd112 = new Float64Array(7).fill(NaN);
  for (let j = 0; j < steps.length; j++) {
    const h = steps[j];
    const t = t0 + h - 1;
    const dn = startDay + t;
    const wd = weekday(dn);
    if (wd28[wd] !== wd28[wd]) {
      wd28[wd] = lvl(weekdayMean(y, t0, 28, wd, startDay), scale);
      wd112[wd] = lvl(weekdayMean(y, t0, 112, wd, startDay), scale);
    }
    f[10] = wd28[wd];
    f[11] = wd112[wd];
    // Same week last year (+-3 days), only from days before the origin.
    const ly = hasLy ? p.mean(t - YEAR_LAG - 3, Math.min(t - YEAR_LAG + 4, t0)) : NaN;
    f[12] = hasLy ? lvl(ly, scale) : 0;
    for (let d = 0; d < 7; d++) f[14 + d] = wd === d ? 1 : 0;
    if (cal.yearly) {
      const ph = yearPhase(dn);
      f[21] = Math.sin(ph);
      f[22] = Math.cos(ph);
      f[23] = Math.sin(2 * ph);
      f[24] = Math.cos(2 * ph);
    }
    // Steps beyond four weeks share the last value: lags are equally stale by then.
    f[25] = Math.min(h, 28) / 28;
    f[26] = holidays.has(dn) ? 1 : 0;
    f[27] = s.promo && t < s.promo.length && s.promo[t] ? 1 : 0;
    out.set(f, (row0 + j) * N_FEATURES);
  }
}
