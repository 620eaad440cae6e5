/**
 * AutoETS: exponential smoothing state-space models (Hyndman et al. 2008),
 * the form chosen per series by AICc among
 *
 *   error A, trend N or Ad (damped), weekly season (m = 7) A, or M on strictly
 *   positive data (see etsForms; the recursions below also cover error M)
 * Recursions, with mu = forecast of the day, e = y - mu (additive error) or
 * (y - mu) / mu (multiplicative error), q = e for additive error and mu e for
 * multiplicative error (the error in units):
 *
 *   season N: mu = l + phi b          l' = l + phi b + alpha q        b' = phi b + beta q
 *   season A: mu = l + phi b + s      l' = l + phi b + alpha q        s' = s + gamma q
 *   season M: mu = (l + phi b) s      l' = l + phi b + alpha q / s    s' = s + gamma q / (l + phi b)
 *
 * Forecast h days ahead: (l + (phi + ... + phi^h) b) (+ or x) s of the weekday.
 * Likelihood (concentrated): n log(SSE / n), plus 2 sum log|mu| for
 * multiplicative error; AICc = -2 logL + 2k + 2k(k + 1) / (n - k - 1), with k
 * the smoothing parameters plus the initial states.
 *
 * Hand-written rather than a library: it must fit 30,000 series at several
 * backtest origins in a weekly run of a few minutes, so it is a tight loop over
 * typed arrays with a bounded Nelder-Mead search (no allocation per step), and
 * it treats unknown (censored) days as the model's own forecast.
 */
import type { Demand } from './models.js';
import { recentBurst, referenceStep, SHIFT_WINDOW, stepAdjusted } from './level-shift.js';

export type EtsForm = { error: 'A' | 'M'; trend: 'N' | 'Ad'; season: 'N' | 'A' | 'M' };
export interface EtsFit extends EtsForm {
  alpha: number;
  beta: number;
  gamma: number;
  phi: number;
  aicc: number;
  /** Final states: level, trend, and the 7 season values indexed by (day index mod 7). */
  level: number;
  slope: number;
  seasonStates: Float64Array;
  /** Index of the day after the last fitted day (to align the weekday of the season). */
  end: number;
}

const M = 7;
/**
 * Days the parameters are fitted on: the last 53 weeks. A year of daily data
 * pins down four smoothing constants well; older days add fit time (30,000
 * series x several origins) without changing the weekly pattern's estimate much.
 * (Half a year was measured to fit worse.)
 */
const FIT_DAYS = 371;
/** Objective evaluations per form: the search is over at most 4 bounded parameters from a sensible start. */
const MAX_EVAL = 40;

function sigmoid(u: number): number {
  return 1 / (1 + Math.exp(-u));
}

interface Params {
  alpha: number;
  beta: number;
  gamma: number;
  phi: number;
}

function toParams(u: ArrayLike<number>, f: EtsForm, into?: Params): Params {
  const alpha = 0.0001 + 0.9998 * sigmoid(u[0]);
  let k = 1;
  const beta = f.trend === 'Ad' ? alpha * sigmoid(u[k++]) * 0.999 : 0;
  const gamma = f.season !== 'N' ? (1 - alpha) * sigmoid(u[k++]) * 0.999 : 0;
  // Damping between 0.8 and 0.98: the usual bounds (Hyndman and Athanasopoulos), so a trend never runs away over 28 days.
  const phi = f.trend === 'Ad' ? 0.8 + 0.18 * sigmoid(u[k++]) : 1;
  if (!into) return { alpha, beta, gamma, phi };
  into.alpha = alpha;
  into.beta = beta;
  into.gamma = gamma;
  into.phi = phi;
  return into;
}

const SCRATCH_SEASON = new Float64Array(M);
const SCRATCH_COUNT = new Float64Array(M);

/** The states a run starts from: the first known day, the level and the 7 season values. */
interface Start {
  first: number;
  level: number;
  season: Float64Array;
}

/** Initial states of a run over y[from..to) from its first two known weeks (`mult`: multiplicative season). */
function initialStates(y: Demand, from: number, to: number, mult: boolean): Start {
  let first = from;
  while (first < to && Number.isNaN(y[first])) first++;
  let l = 0;
  let cnt = 0;
  const lim = Math.min(to, first + 2 * M);
  for (let t = first; t < lim; t++) if (!Number.isNaN(y[t])) {
    l += y[t];
    cnt++;
  }
  l = cnt ? l / cnt : 0;
  const s = new Float64Array(M);
  const sc = SCRATCH_COUNT.fill(0);
  for (let t = first; t < lim; t++) if (!Number.isNaN(y[t])) {
    s[t % M] += mult ? (l > 0 ? y[t] / l : 1) : y[t] - l;
    sc[t % M]++;
  }
  let ms = 0;
  for (let j = 0; j < M; j++) {
    s[j] = sc[j] ? s[j] / sc[j] : mult ? 1 : 0;
    ms += s[j];
  }
  for (let j = 0; j < M; j++) s[j] = mult ? (ms > 0 ? (s[j] * M) / ms : 1) : s[j] - ms / M;
  return { first, level: l, season: s };
}

/**
 * Runs the recursions over y[from..to); returns -2 log-likelihood (concentrated) and the final states.
 * `start`: initialStates(y, from, to, f.season === 'M') when the caller has them (the search runs the same
 * window about 80 times; its starting states are computed once).
 */
function run(y: Demand, from: number, to: number, f: EtsForm, p: Params, out?: EtsFit, start: Start = initialStates(y, from, to, f.season === 'M'), trace?: Float64Array): number {
  const first = start.first;
  let l = start.level;
  // The objective runs ~80 times per series and origin: its season states live in a scratch array (fresh only
  // for the final run, whose states the fit keeps).
  const s = out ? Float64Array.from(start.season) : SCRATCH_SEASON;
  if (!out) s.set(start.season);
  const mult = f.season === 'M';
  let b = 0;
  const { alpha, beta, gamma, phi } = p;
  let sse = 0;
  let logMu = 0;
  let n = 0;
  const multErr = f.error === 'M';
  // The form's switches and the weekday index hoisted out of the loop (the objective runs 80 times per series and origin).
  const seasN = f.season === 'N';
  const seasA = f.season === 'A';
  const seasM = f.season === 'M';
  // `trace` (etsFollowingSteps): each day's one-step expectation mu (units/day) into trace[t - from], by the general loop.
  if (!multErr && !seasN && !trace) {
    // The forms AutoETS fits (etsForms): additive error, weekly season. The same arithmetic as the general loop
    // below without its per-day switches (several times faster; this loop is most of the engine's ETS time).
    const r = seasM ? runAddErrMultSeason(y, first, to, s, l, alpha, beta, gamma, phi) : runAddErrAddSeason(y, first, to, s, l, alpha, beta, gamma, phi);
    if (!Number.isFinite(r.l)) return Infinity;
    if (out) {
      out.level = r.l;
      out.slope = r.b;
      out.seasonStates = s;
      out.end = to;
    }
    if (r.n < 2) return Infinity;
    return r.n * Math.log(Math.max(r.sse / r.n, 1e-12));
  }
  for (let t = first, si = first % M; t < to; t++, si = si === M - 1 ? 0 : si + 1) {
    const st = seasN ? (mult ? 1 : 0) : s[si];
    const base = l + phi * b;
    const mu = mult ? base * st : base + (seasA ? st : 0);
    if (trace) trace[t - from] = mu;
    const v = y[t];
    let q = 0;
    if (v === v) {
      const e = multErr ? (v - mu) / (Math.abs(mu) > 1e-9 ? mu : 1e-9) : v - mu;
      q = multErr ? mu * e : e;
      sse += e * e;
      if (multErr) logMu += Math.log(Math.max(Math.abs(mu), 1e-9));
      n++;
    }
    if (mult) {
      l = base + (alpha * q) / st;
      b = phi * b + (beta * q) / st;
      if (seasM) s[si] = st + (gamma * q) / (Math.abs(base) > 1e-9 ? base : 1e-9);
    } else {
      l = base + alpha * q;
      b = phi * b + beta * q;
      if (seasA) s[si] = st + gamma * q;
    }
    if (!Number.isFinite(l)) return Infinity;
  }
  if (out) {
    out.level = l;
    out.slope = b;
    out.seasonStates = s;
    out.end = to;
  }
  if (n < 2) return Infinity;
  return n * Math.log(Math.max(sse / n, 1e-12)) + 2 * logMu;
}

/** Final level and slope, SSE and known days of a run (states of the season updated in place). */
interface RunEnd {
  l: number;
  b: number;
  sse: number;
  n: number;
}

/**
 * ETS(A, N|Ad, M) recursions of `run` from `first` (a level that turns non-finite stays so: checked once at the end).
 * It and runAddErrAddSeason below are two copies of one loop on purpose: one loop with a switch between the two
 * seasons measured 20 % slower, and these loops are most of AutoETS's time.
 */
function runAddErrMultSeason(y: Demand, first: number, to: number, s: Float64Array, l0: number, alpha: number, beta: number, gamma: number, phi: number): RunEnd {
  let l = l0;
  let b = 0;
  let sse = 0;
  let n = 0;
  // q / st = v / st - base: the division by the season (set a week earlier) is off the level's chain of
  // dependent operations (l -> base -> l), which bounds the loop's speed.
  for (let t = first, si = first % M; t < to; t++, si = si === M - 1 ? 0 : si + 1) {
    const st = s[si];
    const base = l + phi * b;
    const v = y[t];
    if (v === v) {
      const q = v - base * st;
      const d = v / st - base;
      sse += q * q;
      n++;
      l = base + alpha * d;
      b = phi * b + beta * d;
      s[si] = st + (gamma * q) / (Math.abs(base) > 1e-9 ? base : 1e-9);
    } else {
      l = base;
      b = phi * b;
    }
  }
  return { l, b, sse, n };
}

/** ETS(A, N|Ad, A) recursions of `run` from `first`. */
function runAddErrAddSeason(y: Demand, first: number, to: number, s: Float64Array, l0: number, alpha: number, beta: number, gamma: number, phi: number): RunEnd {
  let l = l0;
  let b = 0;
  let sse = 0;
  let n = 0;
  for (let t = first, si = first % M; t < to; t++, si = si === M - 1 ? 0 : si + 1) {
    const st = s[si];
    const base = l + phi * b;
    const v = y[t];
    if (v === v) {
      // (v - st) - base: one operation on the level's chain, not two.
      const q = v - st - base;
      sse += q * q;
      n++;
      l = base + alpha * q;
      b = phi * b + beta * q;
      s[si] = st + gamma * q;
    } else {
      l = base;
      b = phi * b;
    }
  }
  return { l, b, sse, n };
}

/**
 * Nelder-Mead minimisation with a bounded number of evaluations (small dimension, smooth objective).
 * The simplex and its trial points live in typed arrays made once per search (each objective evaluation is
 * only a few microseconds, and an array or two per step cost about as much); the steps are the textbook ones.
 */
export function nelderMead(fn: (u: Float64Array) => number, x0: number[], maxEval = 60, step = 1): number[] {
  const d = x0.length;
  const pts: Float64Array[] = [Float64Array.from(x0)];
  for (let i = 0; i < d; i++) {
    const p = Float64Array.from(x0);
    p[i] += step;
    pts.push(p);
  }
  const vals = new Float64Array(d + 1);
  for (let i = 0; i <= d; i++) vals[i] = fn(pts[i]);
  let evals = pts.length;
  // The points ordered by value each step (a stable sort of their indices), reordered through these.
  const order: number[] = [];
  const byValue = (a: number, b: number) => vals[a] - vals[b];
  const sortedPts: Float64Array[] = pts.slice();
  const sortedVals = new Float64Array(d + 1);
  const c = new Float64Array(d);
  const refl = new Float64Array(d);
  const trial = new Float64Array(d);
  while (evals < maxEval) {
    for (let i = 0; i <= d; i++) order[i] = i;
    order.sort(byValue);
    for (let i = 0; i <= d; i++) {
      sortedPts[i] = pts[order[i]];
      sortedVals[i] = vals[order[i]];
    }
    for (let i = 0; i <= d; i++) {
      pts[i] = sortedPts[i];
      vals[i] = sortedVals[i];
    }
    c.fill(0);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) c[j] += pts[i][j] / d;
    const worst = pts[d];
    for (let j = 0; j < d; j++) refl[j] = c[j] + (c[j] - worst[j]);
    const fr = fn(refl);
    evals++;
    if (fr < vals[0]) {
      for (let j = 0; j < d; j++) trial[j] = c[j] + 2 * (c[j] - worst[j]);
      const fe = fn(trial);
      evals++;
      // The worst point's array takes the new point's values (it is not read again).
      if (fe < fr) {
        worst.set(trial);
        vals[d] = fe;
      } else {
        worst.set(refl);
        vals[d] = fr;
      }
    } else if (fr < vals[d - 1]) {
      worst.set(refl);
      vals[d] = fr;
    } else {
      for (let j = 0; j < d; j++) trial[j] = c[j] + 0.5 * (worst[j] - c[j]);
      const fc = fn(trial);
      evals++;
      if (fc < vals[d]) {
        worst.set(trial);
        vals[d] = fc;
      } else {
        const best = pts[0];
        for (let i = 1; i <= d; i++) {
          const p = pts[i];
          for (let j = 0; j < d; j++) p[j] = best[j] + 0.5 * (p[j] - best[j]);
          vals[i] = fn(p);
          evals++;
        }
      }
    }
    if (Math.abs(vals[d] - vals[0]) < 1e-6 * (Math.abs(vals[0]) + 1e-9)) break;
  }
  let bi = 0;
  for (let i = 1; i <= d; i++) if (vals[i] < vals[bi]) bi = i;
  return Array.from(pts[bi]);
}

/** Fits one ETS form; returns its AICc and final states. */
export function fitEtsForm(y: Demand, f: EtsForm, maxEval = MAX_EVAL): EtsFit {
  const to = y.length;
  const from = Math.max(0, to - FIT_DAYS);
  const dim = 1 + (f.trend === 'Ad' ? 2 : 0) + (f.season !== 'N' ? 1 : 0);
  // Start: alpha ~ 0.1, beta ~ 0.1 alpha, gamma ~ 0.1 (1 - alpha), phi ~ 0.9.
  const x0 = [-2.2];
  if (f.trend === 'Ad') x0.push(-2.2);
  if (f.season !== 'N') x0.push(-2.2);
  if (f.trend === 'Ad') x0.push(0.5);
  // The starting states and the parameters' object are the same for every evaluation of the search.
  const start = initialStates(y, from, to, f.season === 'M');
  const trial: Params = { alpha: 0, beta: 0, gamma: 0, phi: 0 };
  const obj = (u: Float64Array) => run(y, from, to, f, toParams(u, f, trial), undefined, start);
  const u = nelderMead(obj, x0, maxEval);
  const p = toParams(u, f);
  const fit: EtsFit = { ...f, ...p, aicc: Infinity, level: 0, slope: 0, seasonStates: new Float64Array(M), end: to };
  const m2ll = run(y, from, to, f, p, fit, start);
  let n = 0;
  for (let t = from; t < to; t++) if (!Number.isNaN(y[t])) n++;
  const k = dim + 1 + (f.trend === 'Ad' ? 1 : 0) + (f.season !== 'N' ? M - 1 : 0);
  fit.aicc = n - k - 1 > 0 ? m2ll + 2 * k + (2 * k * (k + 1)) / (n - k - 1) : Infinity;
  return fit;
}

/**
 * The forms AutoETS considers for a series: daily retail demand has a weekly
 * cycle, so the season is always there, multiplicative where every known day
 * of the fit window is positive (the weekly swing scales with the level) and
 * additive otherwise; the trend is none or damped; the error additive. That
 * is 2 forms per series instead of the 30 of the full taxonomy: the
 * non-seasonal forms are covered by the ses candidate, and fitting every form
 * at every backtest window of 30,000 series would not fit a weekly run.
 */
export function etsForms(y: Demand): EtsForm[] {
  let positive = true;
  for (let t = Math.max(0, y.length - FIT_DAYS); t < y.length; t++) if (y[t] <= 0) {
    positive = false;
    break;
  }
  const season = positive ? 'M' : 'A';
  return [{ error: 'A', trend: 'N', season }, { error: 'A', trend: 'Ad', season }];
}

/**
 * The states of a form with given smoothing parameters, run over y (no
 * search): how a backtest at a later origin reuses the parameters chosen at an
 * earlier one, which production would have known by then.
 */
export function etsWithParams(y: Demand, fit: EtsFit): EtsFit {
  const out: EtsFit = { ...fit, seasonStates: new Float64Array(M) };
  run(y, Math.max(0, y.length - FIT_DAYS), y.length, fit, fit, out);
  return out;
}

/**
 * The forecast of a fitted form h days ahead from the end of y, following a step of the last weeks. ETS follows a
 * step at the pace of its level smoothing: with alpha = 0.05 a product halved four weeks ago was still forecast 35 %
 * above its new level. As for the regression (regression.ts relevelSteps, docs/forecasting.md "A step the fit
 * took in"): the reference is the form's forecast from its states at T1 = T - SHIFT_WINDOW (which did not see the
 * searched weeks), its one-step expectations before T1 give the dispersion, and a step found by levelShift against
 * it, which last year's same weeks do not show (stepStands), puts the days before it at the new level (y_t q) and
 * the states are run again with the same parameters. Not a step: a burst that is over (recentBurst, against the
 * same reference) is left out of the states as unknown days (a week at four times the usual sales, ended three
 * days before, had doubled a 12-a-day product's forecast). Returns the forecast, the step (first day, index of y;
 * ratio) and the burst (days [start, end) of y), or null.
 */
export function etsFollowingSteps(y: Demand, fit: EtsFit, h: number): EtsSteps {
  const T = y.length;
  const T1 = T - SHIFT_WINDOW;
  const from = Math.max(0, T - FIT_DAYS);
  const plain = (): EtsSteps => ({ forecast: etsForecast(etsWithParams(y, fit), h), step: null, burst: null });
  if (T1 - from < 4 * M) return plain();
  const m = new Float64Array(T - from);
  const atT1: EtsFit = { ...fit, seasonStates: new Float64Array(M) };
  run(y, from, T1, fit, fit, atT1, undefined, m);
  if (!Number.isFinite(atT1.level)) return plain();
  m.set(etsForecast(atT1, SHIFT_WINDOW), T1 - from);
  const { ls, stands } = referenceStep(y, m, from, T, T1);
  if (stands) return { forecast: etsForecast(etsWithParams(stepAdjusted(y, T, ls.start, ls.raw), fit), h), step: { start: ls.start, ratio: ls.raw }, burst: null };
  // Not a step: a burst that is over is left out of the states (unknown days: the level does not take it in).
  const burst = ls.start < 0 ? recentBurst(y, m, from, T, T1, ls.phi) : null;
  if (!burst) return plain();
  return { forecast: etsForecast(etsWithParams(withoutBurst(y, burst), fit), h), step: null, burst };
}

/** y with the days of a burst [start, end) unknown (NaN): what the states and the search of AutoETS read once it is left out. */
export function withoutBurst(y: Demand, burst: { start: number; end: number }): Float64Array {
  return Float64Array.from(y).fill(NaN, burst.start, burst.end);
}

/** etsFollowingSteps's forecast, with the step it followed or the burst it left out (days [start, end) of y), or null. */
export interface EtsSteps {
  forecast: Float64Array;
  step: { start: number; ratio: number } | null;
  burst: { start: number; end: number } | null;
}

/** AutoETS: the form with the lowest AICc. */
export function autoEts(y: Demand): EtsFit | null {
  let best: EtsFit | null = null;
  for (const f of etsForms(y)) {
    const fit = fitEtsForm(y, f);
    if (Number.isFinite(fit.aicc) && (!best || fit.aicc < best.aicc)) best = fit;
  }
  return best;
}

export function etsForecast(fit: EtsFit, h: number): Float64Array {
  const out = new Float64Array(h);
  let damp = 0;
  let pk = 1;
  for (let i = 0; i < h; i++) {
    if (fit.trend === 'Ad') {
      pk *= fit.phi;
      damp += pk;
    }
    const base = fit.level + damp * fit.slope;
    const s = fit.season === 'N' ? null : fit.seasonStates[(fit.end + i) % M];
    const v = s === null ? base : fit.season === 'M' ? base * s : base + s;
    out[i] = Math.max(0, Number.isFinite(v) ? v : 0);
  }
  return out;
}

/** Short name of a fitted form, e.g. "ETS(A,Ad,M)". */
export function etsName(f: EtsForm): string {
  return `ETS(${f.error},${f.trend},${f.season})`;
}

/** An ETS form and parameters as stored with a model ({ form: "ETS(A,Ad,M)", alpha, beta, gamma, phi }), or null. */
export function etsFromStored(p: unknown): EtsFit | null {
  const q = p as { form?: string; alpha?: number; beta?: number; gamma?: number; phi?: number } | null | undefined;
  const m = q?.form ? /^ETS\((A|M),(N|Ad),(N|A|M)\)$/.exec(q.form) : null;
  if (!m || ![q!.alpha, q!.beta, q!.gamma, q!.phi].every((v) => typeof v === 'number' && Number.isFinite(v))) return null;
  return {
    error: m[1] as 'A' | 'M', trend: m[2] as 'N' | 'Ad', season: m[3] as 'N' | 'A' | 'M',
    alpha: q!.alpha!, beta: q!.beta!, gamma: q!.gamma!, phi: q!.phi!, aicc: NaN, level: 0, slope: 0, seasonStates: new Float64Array(M), end: 0,
  };
}
