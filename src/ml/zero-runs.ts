/**
 * Runs of days without a sale that are too long to be chance for a series'
 * own selling rate: the one test behind two rules.
 * - A series' trailing days without a sales row while its location has rows
 *   (src/db/history.ts, unknownDays): a missing import, unknown demand.
 * - A series whose last days are known zeros (explicit zero rows, or days
 *   with stock on hand): it stopped selling (salesStop); the models fit the
 *   days since the stop.
 *
 * The test: with m the series' mean daily demand (units/day) over its known
 * days in the RATE_DAYS days before the run (at least RATE_MIN_KNOWN known
 * days, else no judgement), and g the run's days that read as zero (days), a
 * Poisson seller at rate m sells nothing on g days in a row with probability
 * exp(-m g); the run is implausible below ZERO_RUN_PROBABILITY. 1e-4: of
 * 10,000 steady sellers about one shows such a run by chance. At 1 unit/day
 * that is 10 days (e^-10 = 4.5e-5), at 0.3/day 31 days, at 30/day one day.
 */
import type { Demand } from './models.js';

export const ZERO_RUN_PROBABILITY = 1e-4;
/** Days before a run whose known demand gives the series' rate: 8 weeks. */
export const RATE_DAYS = 56;
/** Known days needed in those 8 weeks to judge a run: one week. */
export const RATE_MIN_KNOWN = 7;

/** Mean of the known days of y in [end - RATE_DAYS, end) (units/day), NaN with fewer than RATE_MIN_KNOWN known days. */
export function rateBefore(y: ArrayLike<number>, end: number): number {
  let sum = 0;
  let known = 0;
  for (let t = Math.max(0, end - RATE_DAYS); t < end; t++) {
    const v = y[t];
    if (v === v) {
      sum += v;
      known++;
    }
  }
  return known < RATE_MIN_KNOWN ? NaN : sum / known;
}

/** Whether `zeros` days without a sale in a row are implausible at `rate` units/day (see above). */
export function implausibleZeroRun(rate: number, zeros: number): boolean {
  return zeros > 0 && rate > 0 && Math.exp(-rate * zeros) < ZERO_RUN_PROBABILITY;
}

/**
 * Known zero days a stop needs, whatever the rate: two weeks. A shop shut for
 * a holiday or a week's stock count makes a fast seller's few zero days
 * implausible by the test alone; two full weekly cycles without a sale is a
 * change in what the product sells.
 */
export const STOP_MIN_DAYS = 14;

/** A series' trailing run of zero days (see trailingZeroRun). */
export interface ZeroRun {
  /** Index of the first day after the series' last sale. */
  start: number;
  /** Known zero days since (days). */
  zeros: number;
  /** Rate before the run (units/day). */
  rate: number;
  /** 'stop' from STOP_MIN_DAYS zero days on, else 'pause'. */
  kind: 'pause' | 'stop';
}

/**
 * Whether y has, after its first sale and before `end`, a run of at least `zeros` known zero days (unknown days
 * inside a run neither end it nor count).
 */
export function hasZeroRun(y: ArrayLike<number>, end: number, zeros: number): boolean {
  let run = 0;
  let sold = false;
  let from = -1;
  for (let u = 0; u < end; u++) {
    const v = y[u];
    if (v > 0) {
      sold = true;
      run = 0;
      from = -1;
    } else if (v === 0 && sold) {
      if (from < 0) from = u;
      // As long, or (a season) starting a year before the run that ends at `end`: a yearly off-season is
      // recognised from its first weeks, not only once it has lasted as long as the last one.
      if (++run >= zeros || (run >= STOP_MIN_DAYS && yearApart(from, end))) return true;
    }
  }
  return false;
}

/** Days apart of two runs that recur yearly: 365, give or take 4 weeks. */
const YEAR_DAYS = 365;
const YEAR_TOLERANCE_DAYS = 28;
function yearApart(a: number, b: number): boolean {
  return Math.abs(Math.abs(a - b) - YEAR_DAYS) <= YEAR_TOLERANCE_DAYS;
}

/** The days after a series' last sale: the first of them (y.length when it sold on its last day, 0 when it never sold) and its known zero days. */
function afterLastSale(y: ArrayLike<number>): { start: number; zeros: number } {
  let t = y.length - 1;
  let zeros = 0;
  for (; t >= 0 && !(y[t] > 0); t--) if (y[t] === 0) zeros++;
  return { start: t + 1, zeros };
}

/**
 * The run of days without a sale at the end of a series, when it is too long
 * to be chance for its rate before (implausibleZeroRun) and the series shows
 * no run as long before it (after its first sale: a product that paused as
 * long and sold again pauses, a season or a supply gap). Unknown days inside
 * the run are not counted. Null otherwise. A run of STOP_MIN_DAYS known zero
 * days or more is a stop (the product no longer sells as it did); a shorter
 * one a pause (a closure, a stock count, a day's import with zero rows): what
 * the series sells is not known from it yet.
 */
export function trailingZeroRun(y: ArrayLike<number>): ZeroRun | null {
  const { start, zeros } = afterLastSale(y);
  if (start === 0 || !zeros) return null;
  const rate = rateBefore(y, start);
  if (!implausibleZeroRun(rate, zeros) || hasZeroRun(y, start, zeros)) return null;
  return { start, zeros, rate, kind: zeros >= STOP_MIN_DAYS ? 'stop' : 'pause' };
}

/** A series that stopped selling: its trailing zero run when that is a stop (trailingZeroRun), else null. */
export function salesStop(y: ArrayLike<number>): ZeroRun | null {
  const r = trailingZeroRun(y);
  return r && r.kind === 'stop' ? r : null;
}

/**
 * Runs of days without a sale inside a series' history (after its first sale, ended by a sale) that are too long
 * to be chance for its rate before them (implausibleZeroRun) and that do not recur (no run starting a year apart, and
 * not two other runs of as many zero days: a run that recurs is its pattern, a season or a habit): a stock-out
 * without stock records, or a gap in what was recorded. Returned as [first, last] indices of their days; the
 * product sold again after, so the run says nothing of its demand.
 */
export function endedZeroRuns(y: ArrayLike<number>): [number, number][] {
  const runs: { from: number; to: number; zeros: number }[] = [];
  let sold = false;
  let from = -1;
  let zeros = 0;
  for (let t = 0; t < y.length; t++) {
    const v = y[t];
    if (v > 0) {
      if (from >= 0 && zeros) runs.push({ from, to: t - 1, zeros });
      sold = true;
      from = -1;
      zeros = 0;
    } else if (v === 0 && sold) {
      if (from < 0) from = t;
      zeros++;
    }
  }
  if (!runs.length) return [];
  // The trailing run (ongoing) recurs too when it is as long or starts a year apart.
  const tail = afterLastSale(y);
  const others = tail.zeros ? [...runs, { from: tail.start, to: y.length - 1, zeros: tail.zeros }] : runs;
  const out: [number, number][] = [];
  for (const r of runs) {
    if (!implausibleZeroRun(rateBefore(y, r.from), r.zeros)) continue;
    // Recurring: a run a year apart (a season), or two others as long (a habit: a slow mover's long gaps). One
    // other run as long is not enough: two stock-outs of three weeks each are two stock-outs.
    if (others.some((o) => o !== r && yearApart(o.from, r.from)) || others.filter((o) => o !== r && o.zeros >= r.zeros).length >= 2) continue;
    out.push([r.from, r.to]);
  }
  return out;
}
