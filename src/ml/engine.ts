/**
 * The forecasting engine, as four stages a reader can follow (statsforecast's
 * shape: fit/predict over arrays, explicit cross-validation windows,
 * conformal intervals):
 *
 *   1. backtest   (backtest.ts)  every candidate at every window, on what was known at its origin
 *   2. select     (select.ts)    per series, by trimmed mean RMSSE over the selection windows
 *   3. refit      (this file)    the choice on the whole history, forecast H days
 *   4. calibrate  (calibrate.ts) intervals at the configured level from cross-fitted errors
 *
 * Censored days (stock-outs) arrive as NaN; where the sales of such a day are
 * known (`floor`), demand is at least that (see `withCensoredFloor`).
 * Per-series isolation: a series with non-finite or absurd input is skipped
 * (and reported), a series whose fit throws or returns a non-finite forecast
 * gets the fallback model; the others go on.
 */
import { endedZeroRuns, trailingZeroRun, type ZeroRun } from './zero-runs.js';
import { type RegressionSeries } from './regression.js';
import { fitGlobal, type GlobalModel } from './global-model.js';
import { fitPooled, type PooledFit } from './pooled.js';
import { backtestLocal, backtestPooled, crossValidationWindows, regressionForecasts, type CvWindow, type RegressionExtra } from './backtest.js';
import { SelectionPrior, SeriesBacktest, choiceName, combine, parseChoice, relativeScores, selectModel, tieOrder, type CandidateMetrics, type Choice } from './select.js';
import { applyInterval, calibrate, crossFitErrors, errorScale, type CalibrationErrors, type IntervalSpec, type WindowErrors } from './calibrate.js';
import { LOCAL, candidatesFor, classify, fallbackFor, knownDays, type Algorithm, type LocalAlgorithm, type SeriesKind } from './forecasters.js';
import { mean, naiveScale, normalQuantile } from './metrics.js';
import { movingAverage, type Demand } from './models.js';
import { etsFollowingSteps, etsFromStored } from './ets.js';
import { roundTo } from '../numbers.js';
import { fromDayNumber } from '../dates.js';

export type { Algorithm } from './forecasters.js';
export type { CandidateMetrics } from './select.js';
export { crossValidationWindows } from './backtest.js';

/** A series as the engine sees it. */
export interface EngineSeries extends RegressionSeries {
  id: string;
  /** Promotions planned in the events table, per day of history + horizon (what a backtest may know after its origin). */
  planned?: Uint8Array | null;
  /** Units sold per day, kept on censored (stock-out) days: demand there is at least this. */
  floor?: Demand | null;
}

export interface EngineOptions {
  startDay: number;
  horizon: number;
  holidays: Map<number, number>;
  nHolidays: number;
  /** Recent backtest windows (the latest is the holdout). */
  origins?: number;
  backtestHorizon?: number;
  /** Interval level, e.g. 0.8. */
  interval?: number;
  /** Restrict candidates (tests, benchmarks). */
  candidates?: Algorithm[];
  /** Series per regression batch (memory bound). */
  chunk?: number;
  /** Known days below which a series is 'short' (level models only). */
  minHistory?: number;
  /** The global TF.js model as a candidate (config train.globalModel). */
  globalModel?: boolean;
  /** Keep the most recent window out of selection (for validate and calibration); default true. */
  holdout?: boolean;
  /** Seasonal windows over the last year for long series; default true. */
  seasonalWindows?: boolean;
  seed?: number;
  /** Shrink each series' model choice towards what wins across the series (empirical Bayes, select.ts); default true. */
  selectionPrior?: boolean;
  /** Receives the global model fitted on the whole history, when a series chose it (train stores it). */
  onGlobal?: (m: GlobalModel) => void;
}

export interface SeriesForecast {
  id: string;
  algorithm: string;
  params: Record<string, unknown>;
  forecast: Float64Array;
  lo: Float64Array;
  hi: Float64Array;
  metrics: Record<string, CandidateMetrics>;
  /** Selection criterion of the chosen model (trimmed mean RMSSE). */
  chosenRmsse: number;
  /** RMSSE of the choice on the holdout window (never used to choose), NaN without one. */
  holdoutRmsse: number;
  reason: string;
  fallback: boolean;
  kind: SeriesKind;
  /** Why the series was skipped or fell back (bad input, a fit that threw, a non-finite forecast). */
  problem?: string;
  skipped?: boolean;
  /** Days of implausible demand left out of the fits and scores (see OUTLIER_FACTOR). */
  outliers?: number;
  /** Those days as the reason lists them ("2025-06-28: 1000", the first three), or ''. */
  outlierDays?: string;
  /** The series stopped selling (salesStop): the first day without a sale, its known zero days since, its rate before (units/day). */
  stop?: ZeroRunInfo;
  /** Its last days without a sale are a pause (trailingZeroRun), unknown to the models: first day, zero days, rate before. */
  pause?: ZeroRunInfo;
}

/**
 * Largest believable demand of one day (units). A value above it is a data
 * error (a stray exponent, a barcode in the quantity column); it also keeps
 * every sum of squares of a history finite.
 */
export const MAX_DAILY_DEMAND = 1e12;

/** Why a series' input cannot be forecast, or null. */
export function badInput(s: EngineSeries): string | null {
  for (let t = 0; t < s.y.length; t++) {
    const v = s.y[t];
    if (v !== v) continue;
    if (!Number.isFinite(v) || Math.abs(v) > MAX_DAILY_DEMAND) return `demand ${v} on day ${t + 1} of the history is not a believable quantity`;
    if (v < 0) return `negative demand ${v} on day ${t + 1} of the history`;
  }
  return null;
}

/**
 * Censored days with known sales: demand was at least what sold. The day gets
 * max(sold, mean known demand of the 28 days before) so that a stock-out day
 * never teaches a model less than what sold, nor (when a few units sold before
 * the shelf emptied) less than a usual day. Days with no known sales stay NaN.
 */
export function withCensoredFloor(y: Demand, floor: Demand | null | undefined): Demand {
  if (!floor) return y;
  let any = false;
  for (let t = 0; t < y.length && !any; t++) if (y[t] !== y[t] && floor[t] > 0) any = true;
  if (!any) return y;
  const out = Float64Array.from(y);
  for (let t = 0; t < y.length; t++) {
    if (y[t] === y[t] || !(floor[t] > 0)) continue;
    const m = mean(y.subarray(Math.max(0, t - 28), t));
    out[t] = Math.max(floor[t], Number.isFinite(m) ? m : 0);
  }
  return out;
}

/**
 * A day's demand no model learns from nor is scored on: more than OUTLIER_FACTOR times the 95th percentile
 * of the series' days with a sale. Ten times the sizes a product sells on all but its 5 % busiest days is
 * beyond any season or promotion seen in retail demand (a December peak is 2 to 5 times a usual day); it
 * is a data error (a stray zero, a barcode in the quantity column) or a one-off bulk order, and fitted it
 * tripled a month's forecast of a 10-a-day product. Judged only with at least OUTLIER_MIN_SALES days with
 * a sale: below that, what is usual for the product is not known.
 */
export const OUTLIER_FACTOR = 10;
const OUTLIER_MIN_SALES = 20;

/** The days of y whose demand is implausible for the series (see OUTLIER_FACTOR), in order. */
export function implausibleDays(y: Demand): number[] {
  // One pass first (predict runs this on every series every night): with k the 95th percentile's rank among the
  // n sale days, that percentile is at least max / OUTLIER_FACTOR exactly when n - k of them are, and then no day
  // is over the cap. Only a series with a candidate day is sorted.
  let n = 0;
  let max = 0;
  for (let t = 0; t < y.length; t++) if (y[t] > 0) {
    n++;
    if (y[t] > max) max = y[t];
  }
  if (n < OUTLIER_MIN_SALES) return [];
  const k = Math.floor(0.95 * (n - 1));
  let high = 0;
  for (let t = 0; t < y.length; t++) if (y[t] > 0 && OUTLIER_FACTOR * y[t] >= max) high++;
  if (high >= n - k) return [];
  const pos = new Float64Array(n);
  for (let t = 0, i = 0; t < y.length; t++) if (y[t] > 0) pos[i++] = y[t];
  pos.sort();
  const cap = OUTLIER_FACTOR * pos[k];
  if (!(max > cap)) return [];
  const out: number[] = [];
  for (let t = 0; t < y.length; t++) if (y[t] > cap) out.push(t);
  return out;
}

/** y with its implausible days unknown (NaN), and those days; y itself when there are none. */
export function withoutImplausible(y: Demand): { y: Demand; days: number[] } {
  const days = implausibleDays(y);
  if (!days.length) return { y, days };
  const out = Float64Array.from(y);
  for (const t of days) out[t] = NaN;
  return { y: out, days };
}

/**
 * The demand the models fit and are scored on: implausible days unknown (withoutImplausible), and a trailing
 * run of days without a sale too long to be chance (trailingZeroRun, src/ml/zero-runs.ts):
 * - a stop (two weeks or more): the days before it are unknown. What the series sold before is not what it
 *   sells now, and a model fitted across the stop (an SBA that never updates through zeros, a regression's
 *   level) forecast half its old rate for a product that had sold nothing for six weeks; with the days since
 *   alone, every model forecasts what they show;
 * - a pause (shorter): its zero days are unknown. A week of zero rows for a shop's stock count took a
 *   40-a-day product's forecast to 2 a day; until the run is long enough to call a stop, the level before it
 *   stands.
 * Returns what was left out too.
 */
export function cleanDemand(y: Demand): { y: Demand; days: number[]; stop: ZeroRun | null; pause: ZeroRun | null } {
  const { y: cleaned, days } = withoutImplausible(y);
  let out = cleaned;
  // Written in a copy of y (withoutImplausible's already is one when it left days out).
  const own = () => (out === y ? (out = Float64Array.from(y)) : out);
  for (const [a, b] of endedZeroRuns(out)) for (let t = a; t <= b; t++) if (out[t] === 0) own()[t] = NaN;
  const run = trailingZeroRun(out);
  if (run?.kind === 'stop') own().fill(NaN, 0, run.start);
  else if (run) for (let t = run.start; t < out.length; t++) if (out[t] === 0) own()[t] = NaN;
  return { y: out, days, stop: run?.kind === 'stop' ? run : null, pause: run?.kind === 'pause' ? run : null };
}

/** A trailing zero run as results and warnings give it: its first day (a date), known zero days, rate before (units/day). */
export interface ZeroRunInfo { since: string; zeros: number; rate: number }
export function zeroRunInfo(run: ZeroRun, startDay: number): ZeroRunInfo {
  return { since: fromDayNumber(startDay + run.start), zeros: run.zeros, rate: run.rate };
}

/**
 * The fallback level model of a series from its raw history (a series without a trained model, the gate's
 * alternative, `models explain`): fallbackFor on the demand the models read (cleanDemand), as the engine's own
 * fallbacks are chosen.
 */
export function fallbackOf(y: Demand): LocalAlgorithm {
  return fallbackFor(cleanDemand(y).y);
}

/**
 * The demand the models read: cleanDemand's, censored days at least what sold (withCensoredFloor).
 * `cleaned`: cleanDemand(s.y).y when the caller has it already.
 */
export function demandForModels(s: EngineSeries, cleaned: Demand = cleanDemand(s.y).y): Demand {
  return withCensoredFloor(cleaned, s.floor);
}

function seriesForModels(s: EngineSeries, cleaned?: Demand): EngineSeries {
  const y = demandForModels(s, cleaned);
  return y === s.y ? s : { ...s, y };
}

/**
 * Series below which the global model is not a candidate. A model learned
 * across series needs many of them to learn what the per-series models
 * cannot; its training is sized for a full sample of 100,000 rows at about
 * 400 rows per series (global-model.ts), which 250 series fill. Below that it
 * would pay its fixed training cost (several seconds per backtest window) on a
 * thin sample.
 */
export const GLOBAL_MIN_SERIES = 250;

/**
 * Series per selection chunk: the local backtests of a chunk are held in
 * memory together (about 13 kB a series) so that the selection prior can be
 * estimated across them; 1,000 series estimate it well and bound the memory.
 */
const SELECT_CHUNK = 1000;

function allowedCandidates(kind: SeriesKind, o: EngineOptions, nSeries = Infinity): Algorithm[] {
  return candidatesFor(kind, o.candidates).filter((a) => a !== 'global' || (o.globalModel && nSeries >= GLOBAL_MIN_SERIES));
}

/**
 * Candidates backtested for a series: those its class may choose. The class
 * is computed from the history before the forecast origin, which is what
 * production knows when it chooses; it decides which candidates are worth
 * computing, never what any of them sees at a backtest origin (each fit sees
 * only the days before its own origin, see originView). Backtesting the
 * other class's candidates too would cost a fifth of the engine's time on
 * smooth series for forecasts that no selection reads.
 */
function backtestCandidates(kind: SeriesKind, o: EngineOptions, n: number): Algorithm[] {
  return allowedCandidates(kind, o, n);
}

interface SeriesChoice {
  choice: Choice;
  fallback: boolean;
  metrics: PackedMetrics | Record<string, CandidateMetrics>;
  score: number;
  holdout: number;
  reason: string;
  errors: PackedErrors | CalibrationErrors | null;
}

/**
 * A series' cross-fitted errors as held from its selection to its calibration: the numbers of every window
 * (level, floor, errors, forecast) in one Float64Array and the unknown-day flags in a Uint8Array over the same
 * memory. Train holds these for every series from selection to the model writes; as crossFitErrors returns
 * them (an object and three typed-array views per window, two buffers per series) they took about twice the
 * memory, most of it in small objects and allocations. The values are the same doubles, in the same order.
 */
interface PackedErrors {
  packed: Float64Array;
  unknown: Uint8Array;
  counts: boolean;
}

const PACKED_KEYS = 'level,floor,errors,unknown,forecast';

/**
 * A series' backtest metrics as held from its selection to its model row: the names in their order and the
 * numbers of each (METRIC_KEYS, then a flag per nullable one) in one Float64Array. As objects (one per
 * candidate, each number boxed) they took about 2 kB a series.
 */
interface PackedMetrics {
  names: string[];
  values: Float64Array;
}

const METRIC_KEYS = ['rmsse', 'trimmed', 'mase', 'wape', 'mape', 'bias', 'windows'] as const;
const METRIC_NULLABLE = [3, 4];
const METRIC_SLOTS = METRIC_KEYS.length + METRIC_NULLABLE.length;

/** The metrics packed (see PackedMetrics), or as given when one is not of the shape packed here. */
function packMetrics(m: Record<string, CandidateMetrics>): PackedMetrics | Record<string, CandidateMetrics> {
  const names = Object.keys(m);
  const values = new Float64Array(names.length * METRIC_SLOTS);
  for (let j = 0; j < names.length; j++) {
    const x = m[names[j]] as unknown as Record<string, unknown>;
    if (Object.keys(x).join(',') !== METRIC_KEYS.join(',')) return m;
    const at = j * METRIC_SLOTS;
    for (let k = 0; k < METRIC_KEYS.length; k++) {
      const v = x[METRIC_KEYS[k]];
      const nullAt = METRIC_NULLABLE.indexOf(k);
      if (v === null && nullAt >= 0) values[at + METRIC_KEYS.length + nullAt] = 1;
      else if (typeof v === 'number') values[at + k] = v;
      else return m;
    }
  }
  return { names, values };
}

/** The metrics as selection made them. */
function unpackMetrics(m: PackedMetrics | Record<string, CandidateMetrics>): Record<string, CandidateMetrics> {
  if (!(m.values instanceof Float64Array) || !Array.isArray(m.names)) return m as Record<string, CandidateMetrics>;
  const { names, values } = m as PackedMetrics;
  const out: Record<string, CandidateMetrics> = {};
  names.forEach((name, j) => {
    const at = j * METRIC_SLOTS;
    const orNull = (k: number) => (values[at + METRIC_KEYS.length + METRIC_NULLABLE.indexOf(k)] ? null : values[at + k]);
    out[name] = { rmsse: values[at], trimmed: values[at + 1], mase: values[at + 2], wape: orNull(3), mape: orNull(4), bias: values[at + 5], windows: values[at + 6] };
  });
  return out;
}

/** The errors packed (see PackedErrors), or as given when a window is not of the shape packed here. */
function packErrors(e: CalibrationErrors): PackedErrors | CalibrationErrors {
  let nums = 1;
  let days = 0;
  for (const w of e.windows) {
    if (Object.keys(w).join(',') !== PACKED_KEYS || !(w.errors instanceof Float64Array) || !(w.unknown instanceof Uint8Array) || w.unknown.length !== w.errors.length) return e;
    nums += 4 + w.errors.length + w.forecast.length;
    days += w.errors.length;
  }
  const buf = new ArrayBuffer(8 * nums + days);
  const packed = new Float64Array(buf, 0, nums);
  const unknown = new Uint8Array(buf, 8 * nums, days);
  packed[0] = e.windows.length;
  let at = 1;
  let u = 0;
  for (const w of e.windows) {
    const f = w.forecast;
    packed[at++] = w.level;
    packed[at++] = w.floor;
    packed[at++] = w.errors.length;
    packed[at++] = f.length;
    packed.set(w.errors as Float64Array, at);
    at += w.errors.length;
    for (let t = 0; t < f.length; t++) packed[at++] = f[t];
    unknown.set(w.unknown!, u);
    u += w.unknown!.length;
  }
  return { packed, unknown, counts: e.counts };
}

/** The errors as crossFitErrors returned them (views over the packed memory). */
function unpackErrors(e: PackedErrors | CalibrationErrors): CalibrationErrors {
  if (!('packed' in e)) return e;
  const { packed, unknown } = e;
  const windows: WindowErrors[] = [];
  let at = 1;
  let u = 0;
  for (let j = 0; j < packed[0]; j++) {
    const level = packed[at];
    const floor = packed[at + 1];
    const len = packed[at + 2];
    const fLen = packed[at + 3];
    at += 4;
    const errors = packed.subarray(at, at + len);
    const forecast = packed.subarray(at + len, at + len + fLen);
    windows.push({ level, floor, errors, unknown: unknown.subarray(u, u + len), forecast });
    at += len + fLen;
    u += len;
  }
  return { windows, counts: e.counts };
}

/** A series' backtest ready to score, with its usable windows and the selection windows among them. */
function seriesBacktest(actual: Demand, windows: CvWindow[], bt: Map<Algorithm, (Float64Array | null)[]>) {
  // Scored against the demand as recorded: censored days are not errors (their lower bounds only feed the fits).
  const sb = new SeriesBacktest(actual, windows, bt);
  const use = bt.size ? sb.usable() : [];
  let sel = use.filter((j) => windows[j].role === 'select');
  if (!sel.length) sel = use;
  return { sb, use, sel };
}

/** Stage 2 (and the errors for stage 4) for one series; `allowed` in the order near-ties follow (tieOrder). */
function chooseForSeries(s: EngineSeries, backtested: ReturnType<typeof seriesBacktest>, kind: SeriesKind, windows: CvWindow[], o: EngineOptions, minHistory: number, prior: SelectionPrior | null, allowed: Algorithm[]): SeriesChoice {
  const y = s.y;
  const { sb, use, sel } = backtested;
  const picked = sel.length ? selectModel(sb, allowed, sel, prior) : null;
  const metrics: Record<string, CandidateMetrics> = {};
  if (!picked) {
    const fb: Choice = { algos: [fallbackFor(y)], combine: 'single' };
    const why = kind === 'short' ? `${knownDays(y)} known days (< ${minHistory}) and no backtest window` : 'no backtest window with known demand';
    return { choice: fb, fallback: true, metrics, score: NaN, holdout: NaN, reason: `${why}: fallback level model ${fb.algos[0]}`, errors: null };
  }
  for (const a of allowed) metrics[a] = sb.metrics({ algos: [a], combine: 'single' }, sel);
  const name = choiceName(picked.choice);
  if (picked.choice.combine !== 'single') metrics[name] = sb.metrics(picked.choice, sel);
  const hIdx = use.find((j) => windows[j].role === 'holdout' && !sel.includes(j));
  const holdout = hIdx === undefined ? NaN : sb.rmsseByWindow(picked.choice)[hIdx];
  const nSeasonal = sel.filter((j) => windows[j].kind === 'seasonal').length;
  const hb = windows[0] ? windows[0].testEnd - windows[0].trainEnd : 0;
  const sn = metrics.snaive;
  const reason =
    `${kind} series; lowest trimmed mean backtest RMSSE over ${sel.length} windows x ${hb} days` +
    (nSeasonal ? ` (${nSeasonal} a season back)` : '') +
    `: ${name} ${picked.score.toFixed(3)}` +
    (sn && name !== 'snaive' ? ` (seasonal naive ${sn.trimmed.toFixed(3)})` : '') +
    (Number.isFinite(holdout) ? `; holdout window RMSSE ${holdout.toFixed(3)}` : '');
  const errors = packErrors(crossFitErrors(sb, allowed, use, picked.choice));
  return { choice: picked.choice, fallback: kind === 'short', metrics: packMetrics(metrics), score: picked.score, holdout, reason, errors };
}

/** Backtest, select, refit and calibrate every series. */
export async function forecastMany(input: EngineSeries[], o: EngineOptions): Promise<SeriesForecast[]> {
  const resultOf = await forecastEach(input, o);
  return input.map((_, i) => resultOf(i));
}

/**
 * forecastMany for a caller that consumes the results one series at a time
 * (train writes each model row as it goes): backtest, select and refit run for
 * every series; the returned function calibrates series i when it is asked
 * for, once per series, and releases what that series held. Holding every
 * series' result at once (forecast, interval, backtest errors, metrics) was a
 * few hundred MB on 30,000 series. The results are the same, in any order.
 */
export async function forecastEach(input: EngineSeries[], o: EngineOptions): Promise<(i: number) => SeriesForecast> {
  const hb = o.backtestHorizon ?? 28;
  const H = o.horizon;
  const level = o.interval ?? 0.8;
  const minHistory = o.minHistory ?? 4 * hb;
  const T = input.length ? input[0].y.length : 0;
  const problems = input.map(badInput);
  const okIdx = input.map((_, i) => i).filter((i) => !problems[i]);
  // Implausible days (see OUTLIER_FACTOR) and the days before a stop (cleanDemand) are unknown for the fits and for the scores alike.
  const cleaned = okIdx.map((i) => cleanDemand(input[i].y));
  const series = okIdx.map((i, j) => seriesForModels(input[i], cleaned[j].y));
  const kinds = series.map((s) => classify(s.y, minHistory));
  const windows = crossValidationWindows(T, hb, { recent: o.origins ?? 3, seasonal: o.seasonalWindows, holdout: o.holdout });
  // 1. backtest: the pooled models for all series at once; the local ones series by series inside 2,
  // 2. select (and the cross-fitted errors for 4), so one series' local backtest is in memory at a time.
  const cands = kinds.map((k) => backtestCandidates(k, o, series.length));
  const bt = await backtestPooled(series, windows, cands, o, SELECT_CHUNK);
  // In chunks of SELECT_CHUNK series: the local backtests of a chunk, the selection prior of each kind over the chunk, then the choices.
  const choices: SeriesChoice[] = new Array(series.length);
  for (let c0 = 0; c0 < series.length; c0 += SELECT_CHUNK) {
    const ids = series.slice(c0, c0 + SELECT_CHUNK).map((_, k) => c0 + k);
    for (const i of ids) backtestLocal(series[i], windows, cands[i], bt[i]);
    // One scored backtest per series, read by the prior and then by the choice (its per-window scores are cached).
    const backtested = new Map(ids.map((i) => [i, seriesBacktest(cleaned[i].y, windows, bt[i])]));
    const priors = new Map<SeriesKind, SelectionPrior | null>();
    const orders = new Map<SeriesKind, Algorithm[]>();
    for (const kind of new Set(ids.map((i) => kinds[i]))) {
      const allowed = allowedCandidates(kind, o, series.length);
      const rows = () => ids.filter((i) => kinds[i] === kind).map((i) => {
        const { sb, sel } = backtested.get(i)!;
        return sel.length ? relativeScores(sb, allowed, sel) : null;
      });
      priors.set(kind, o.selectionPrior === false ? null : SelectionPrior.from(rows()));
      orders.set(kind, tieOrder(allowed, ids.filter((i) => kinds[i] === kind).map((i) => backtested.get(i)!)));
    }
    for (const i of ids) {
      choices[i] = chooseForSeries(series[i], backtested.get(i)!, kinds[i], windows, o, minHistory, priors.get(kinds[i]) ?? null, orders.get(kinds[i])!);
      backtested.delete(i);
      bt[i].clear();
    }
  }
  // 3. refit on the whole history
  const refit = await forecastChoices(series, choices.map((c) => c.choice), H, o, T, o.onGlobal);
  // 4. calibrate, series by series as the caller asks (see forecastEach)
  const okOf = new Int32Array(input.length).fill(-1);
  okIdx.forEach((orig, i) => (okOf[orig] = i));
  // Calibration reads only each series' id and demand: its regressors (prices, promotions) and floors are let go.
  const seriesLeft: ({ id: string; y: Demand } | null)[] = series;
  for (let i = 0; i < series.length; i++) seriesLeft[i] = { id: series[i].id, y: series[i].y };
  const choicesLeft: (SeriesChoice | null)[] = choices;
  const refitLeft: (RefitResult | null)[] = refit.results;
  return (orig: number): SeriesForecast => {
    const p = problems[orig];
    if (p) {
      const z = new Float64Array(H);
      return { id: input[orig].id, algorithm: 'skipped', params: {}, forecast: z, lo: z, hi: z, metrics: {}, chosenRmsse: NaN, holdoutRmsse: NaN, reason: p, fallback: true, kind: 'short', problem: p, skipped: true };
    }
    const i = okOf[orig];
    const s = seriesLeft[i];
    const c = choicesLeft[i];
    const r = refitLeft[i];
    if (!s || !c || !r) throw new Error(`the result of series ${input[orig].id} was already taken`);
    seriesLeft[i] = null;
    choicesLeft[i] = null;
    refitLeft[i] = null;
    const choice = r.fellBack ? r.used : c.choice;
    const forecast = r.forecast;
    const params: Record<string, unknown> = { ...r.params };
    const scale = errorScale(forecast.subarray(0, Math.min(H, hb)), s.y);
    const cal = c.errors ? calibrate(unpackErrors(c.errors), level, scale) : null;
    const spec = (!r.fellBack && cal?.spec) || defaultInterval(forecast, s.y, level);
    const { lo, hi } = applyInterval(forecast, spec);
    params.interval = spec;
    // Out-of-sample daily errors (actual - forecast) per window at today's spread, null on censored days: safety stock reads their sums.
    params.backtest_errors = cal?.runs ?? [];
    const fallback = c.fallback || r.fellBack;
    const outlierDays = listDays(input[orig].y, cleaned[i].days, o.startDay);
    const stop = cleaned[i].stop && zeroRunInfo(cleaned[i].stop!, o.startDay);
    const pause = cleaned[i].pause && zeroRunInfo(cleaned[i].pause!, o.startDay);
    const stopNote = stop ? `; sold nothing over its last ${stop.zeros} known days (since ${stop.since}) after ${roundTo(stop.rate, 2)}/day before: fitted on the days since`
      : pause ? `; its last ${pause.zeros} days without a sale (since ${pause.since}, after ${roundTo(pause.rate, 2)}/day) are unknown to the models: too many for chance, too few to call a stop` : '';
    return {
      id: s.id,
      algorithm: fallback ? `fallback:${choiceName(choice)}` : choiceName(choice),
      params,
      forecast,
      lo,
      hi,
      metrics: unpackMetrics(c.metrics),
      chosenRmsse: c.score,
      holdoutRmsse: c.holdout,
      reason: (r.fellBack ? `${c.reason}; ${r.problem}` : c.reason) + (outlierDays ? `; ${cleaned[i].days.length} day(s) of implausible demand left out (${outlierDays})` : '') + stopNote,
      fallback,
      kind: kinds[i],
      problem: r.problem,
      outliers: cleaned[i].days.length,
      outlierDays,
      stop: stop ?? undefined,
      pause: pause ?? undefined,
    };
  };
}

/** Days of y as "date: quantity", the first three, or ''. */
function listDays(y: Demand, days: number[], startDay: number): string {
  return days.slice(0, 3).map((t) => `${fromDayNumber(startDay + t)}: ${y[t]}`).join(', ') + (days.length > 3 ? ', ...' : '');
}

/** Interval without backtest errors: normal with a Poisson-like spread, widened to the naive scale (units). */
function defaultInterval(forecast: Float64Array, y: Demand, level: number): IntervalSpec {
  const sd = Math.max(Math.sqrt(Math.max(0, mean(forecast))), naiveScale(y, true) || 0, 0.5);
  const z = normalQuantile((1 + level) / 2);
  const e = roundTo(z * sd, 4);
  return { level, lo: [-e], hi: [e], error_lo: -e, error_hi: e, n_errors: 0, scale: roundTo(mean(forecast) || 0, 4) };
}

interface RefitResult {
  forecast: Float64Array;
  params: Record<string, unknown>;
  used: Choice;
  fellBack: boolean;
  problem?: string;
}

/**
 * Stage 3: fits each series' choice on its first T days and forecasts H days.
 * Pooled models run once over the series that use them. A fit that throws or
 * returns a non-finite value hands that series to its fallback level model.
 */
async function forecastChoices(
  series: EngineSeries[], choices: Choice[], H: number, o: EngineOptions, T: number, onGlobal?: (m: GlobalModel) => void, stored?: GlobalModel | null,
  storedParams?: (Record<string, unknown> | null | undefined)[],
): Promise<{ results: RefitResult[] }> {
  const pooled = new Map<Algorithm, Map<number, Float64Array>>();
  const pooledErr = new Map<Algorithm, string>();
  const regExtra = new Map<number, RegressionExtra>();
  let pooledExtra: PooledFit | null = null;
  const pooledIdx = new Map<number, number>();
  const cut = series.map((s) => (s.y.length === T ? s : { ...s, y: s.y.subarray(0, T) }));
  for (const a of ['regression', 'global', 'pooled'] as Algorithm[]) {
    const idx = series.map((_, i) => i).filter((i) => choices[i].algos.includes(a) && knownDays(cut[i].y) >= 56);
    if (!idx.length) continue;
    try {
      if (a === 'pooled') {
        // The shared profiles learn from every series; the forecast is kept for those that chose the model.
        const r = fitPooled(cut, idx, { startDay: o.startDay, T, H });
        pooled.set(a, new Map(idx.map((i, j) => [i, r.forecast[j]])));
        pooledExtra = r;
        idx.forEach((i, j) => pooledIdx.set(i, j));
      } else if (a === 'regression') {
        const r = await regressionForecasts(cut, idx, T, H, o);
        pooled.set(a, r.out);
        r.extra.forEach((v, k) => regExtra.set(k, v));
      } else {
        const m = stored ?? (await fitGlobal(cut, T, { ...o, seed: o.seed }));
        if (!stored) onGlobal?.(m);
        const f = m.forecast(cut, idx, T, H);
        pooled.set(a, new Map(idx.map((i, j) => [i, f[j]])));
      }
    } catch (e) {
      pooledErr.set(a, `${a} fit failed: ${(e as Error).message}`);
    }
  }
  const results = cut.map((s, i): RefitResult => {
    const c = choices[i];
    const params: Record<string, unknown> = {};
    try {
      const parts = c.algos.map((a) => {
        if (a === 'regression' || a === 'global' || a === 'pooled') {
          const f = pooled.get(a)?.get(i);
          if (!f) throw new Error(pooledErr.get(a) ?? `${a}: too few known days`);
          if (a === 'regression') {
            const e = regExtra.get(i)!;
            params.regression = { yearly_order: 4, months: true, promo_effect: roundTo(e.promo, 4), price_effect: roundTo(e.price, 4), smear: roundTo(e.smear, 4), level_shift: roundTo(e.shift, 4) };
            if (e.relevel) (params.regression as Record<string, unknown>).relevelled = relevelled(e.relevel, o.startDay);
          } else if (a === 'pooled') {
            const j = pooledIdx.get(i)!;
            params.pooled = { weekly: pooledExtra!.weekly.map((x) => roundTo(x, 4)), level_ratio: roundTo(pooledExtra!.ratio[j], 4), growth_per_year: roundTo(pooledExtra!.growth[j], 4), yearly_loading: pooledExtra!.loading[j] === null ? null : roundTo(pooledExtra!.loading[j]!, 4) };
            const rl = pooledExtra!.relevel[j];
            if (rl) (params.pooled as Record<string, unknown>).relevelled = relevelled(rl, o.startDay);
          } else params.global = { fitted_on_days: T };
          return f;
        }
        // AutoETS with the form and parameters stored at training: only the states are rerun (predict's speed).
        const etsStored = a === 'ets' ? etsFromStored(storedParams?.[i]?.ets) : null;
        if (etsStored) {
          params.ets = { ...(storedParams![i]!.ets as Record<string, unknown>) };
          if (s.y.length < 14) return movingAverage(s.y, H, { window: 28 });
          const r = etsFollowingSteps(s.y, etsStored, H);
          params.ets = withSteps(params.ets as Record<string, unknown>, r.step, r.burst, o.startDay);
          return r.forecast;
        }
        const r = LOCAL[a as LocalAlgorithm](s.y, H);
        params[a] = withSteps(r.params, r.relevel, r.burst, o.startDay);
        return r.f;
      });
      const f = combine(parts, c.combine);
      for (let h = 0; h < H; h++) if (!Number.isFinite(f[h])) throw new Error(`${choiceName(c)} gave a non-finite forecast`);
      return { forecast: f, params, used: c, fellBack: false };
    } catch (e) {
      const fb = fallbackFor(s.y);
      const r = LOCAL[fb](s.y, H);
      return { forecast: r.f, params: { [fb]: r.params }, used: { algos: [fb], combine: 'single' }, fellBack: true, problem: `${(e as Error).message}; fallback ${fb}` };
    }
  });
  return { results };
}

/** A step the history was re-levelled from (regression.ts relevelSteps, pooled.ts), as the model's parameters give it: since (date), ratio. */
function relevelled(r: { start: number; ratio: number }, startDay: number): { since: string; ratio: number } {
  return { since: fromDayNumber(startDay + r.start), ratio: roundTo(r.ratio, 4) };
}

/** A model part's parameters with the step it followed and the burst it left out (etsFollowingSteps), as dates; the stored ones of an earlier run replaced. */
function withSteps(p: Record<string, unknown>, step: { start: number; ratio: number } | null | undefined, burst: { start: number; end: number } | null | undefined, startDay: number): Record<string, unknown> {
  const { relevelled: _r, burst_left_out: _b, ...rest } = p;
  const out: Record<string, unknown> = { ...rest };
  if (step) out.relevelled = relevelled(step, startDay);
  if (burst) out.burst_left_out = { from: fromDayNumber(startDay + burst.start), to: fromDayNumber(startDay + burst.end - 1) };
  return out;
}

/** Parses a stored algorithm name into its algorithms (see parseChoice for the combination). */
export function parseAlgorithm(name: string): Algorithm[] {
  return parseChoice(name).algos;
}
export { parseChoice } from './select.js';

/**
 * Forecasts each series with given choices (no backtest): the path of
 * `predict` and `validate`. `T` fits on the first T days only. Series with bad
 * input get null and a problem; a fit that fails gets the fallback.
 */
export async function forecastDetailed(
  input: EngineSeries[], choices: (Choice | Algorithm[])[], H: number, o: EngineOptions, T?: number,
  global?: GlobalModel | null, storedParams?: (Record<string, unknown> | null | undefined)[],
): Promise<{ forecasts: (Float64Array | null)[]; problems: { index: number; problem: string }[]; fellBack: number[]; stops: (ZeroRun | null)[]; pauses: (ZeroRun | null)[] }> {
  const len = T ?? (input.length ? input[0].y.length : 0);
  const problems: { index: number; problem: string }[] = [];
  const okIdx: number[] = [];
  input.forEach((s, i) => {
    const p = badInput({ ...s, y: s.y.subarray(0, len) });
    if (p) problems.push({ index: i, problem: p });
    else okIdx.push(i);
  });
  // Read up to len only: the implausible-day threshold and a stop too are what was known before the origin.
  const stops: (ZeroRun | null)[] = input.map(() => null);
  const pauses: (ZeroRun | null)[] = input.map(() => null);
  const series = okIdx.map((i) => {
    const s = { ...input[i], y: input[i].y.subarray(0, len) };
    const c = cleanDemand(s.y);
    stops[i] = c.stop;
    pauses[i] = c.pause;
    return seriesForModels(s, c.y);
  });
  const cs = okIdx.map((i) => {
    const c = choices[i];
    return Array.isArray(c) ? { algos: c, combine: (c.length > 1 ? 'mean' : 'single') as Choice['combine'] } : c;
  });
  // A stored global model (from train) is used as is; without one the global model is fitted here on the first T days.
  const { results } = await forecastChoices(series, cs, H, o, len, undefined, global, storedParams ? okIdx.map((i) => storedParams[i]) : undefined);
  const forecasts: (Float64Array | null)[] = input.map(() => null);
  const fellBack: number[] = [];
  okIdx.forEach((orig, i) => {
    forecasts[orig] = results[i].forecast;
    if (results[i].fellBack) {
      fellBack.push(orig);
      problems.push({ index: orig, problem: results[i].problem ?? 'fit failed' });
    }
  });
  return { forecasts, problems, fellBack, stops, pauses };
}

/** forecastDetailed for callers that need a forecast for every series (zeros where the input is unusable). */
export async function forecastWith(series: EngineSeries[], algos: (Choice | Algorithm[])[], H: number, o: EngineOptions, T?: number): Promise<Float64Array[]> {
  const r = await forecastDetailed(series, algos, H, o, T);
  return r.forecasts.map((f) => f ?? new Float64Array(H));
}

/** Interval bounds from scalar error quantiles (older stored models) or a per-block spec. */
export function intervalFrom(forecast: Float64Array, errLo: number | { lo?: number[]; hi?: number[]; error_lo: number; error_hi: number }, errHi?: number): { lo: Float64Array; hi: Float64Array } {
  if (typeof errLo === 'object') return applyInterval(forecast, errLo);
  return applyInterval(forecast, { error_lo: errLo, error_hi: errHi ?? -errLo });
}
