/**
 * Stage 2 of the engine: choosing a series' model from its backtest.
 *
 * Per candidate a and window j: RMSSE_aj = RMSE over the window's known days /
 * the in-sample one-step naive RMSE of the days before the window's origin
 * (unitless). The criterion is the *trimmed* mean over the selection windows:
 * with three or more windows, each candidate's single best window is dropped
 * before averaging, so no candidate can win by one lucky window; it must be
 * good across origins. Near-ties (within 1 %) go to the earlier candidate in
 * the order of tieOrder: the one that backtests best across the run's series
 * of the same kind. Combinations of the best few (median of the top
 * three, mean of the top two) are scored the same way and chosen only when
 * they beat the best single model by more than 1 % and in every window.
 */
import { ErrorSums, naiveScale } from './metrics.js';
import { LEVEL_MODELS, type Algorithm } from './forecasters.js';
import type { CvWindow } from './backtest.js';
import type { Demand } from './models.js';

export type Combine = 'single' | 'mean' | 'median';
export interface Choice {
  algos: Algorithm[];
  combine: Combine;
}

export interface CandidateMetrics {
  /** Mean RMSSE over the selection windows (unitless). */
  rmsse: number;
  /** Mean RMSSE with the candidate's best window dropped: the selection criterion. */
  trimmed: number;
  mase: number;
  wape: number | null;
  mape: number | null;
  /** Mean (forecast - actual) over backtest days (units/day; > 0 = over-forecast). */
  bias: number;
  windows: number;
}

/** Near-tie tolerance: differences under 1 % of RMSSE are within the noise of a few 28-day windows. */
const TIE = 1.01;
/** A combination must beat the best single model by this factor: a combination costs more to fit and explain. */
const COMBINE_GAIN = 0.99;

export function choiceName(c: Choice): string {
  if (c.combine === 'single') return c.algos[0];
  return `${c.combine === 'mean' ? 'ensemble' : 'median'}(${c.algos.join('+')})`;
}

/** Parses a stored algorithm name ("ets", "ensemble(regression+ets)", "median(a+b+c)", "fallback:ses"). */
export function parseChoice(name: string): Choice {
  const n = name.replace(/^fallback:/, '');
  const m = /^(ensemble|median)\((.+)\)$/.exec(n);
  if (!m) return { algos: [n as Algorithm], combine: 'single' };
  return { algos: m[2].split('+') as Algorithm[], combine: m[1] === 'median' ? 'median' : 'mean' };
}

export function combine(fs: Float64Array[], how: Combine): Float64Array {
  if (fs.length === 1 || how === 'single') return fs[0];
  const H = fs[0].length;
  const o = new Float64Array(H);
  if (how === 'median' && fs.length === 3) {
    // The median of three without sorting (the selection scores thousands of these).
    const [a, b, c] = fs;
    for (let h = 0; h < H; h++) o[h] = Math.max(Math.min(a[h], b[h]), Math.min(Math.max(a[h], b[h]), c[h]));
    return o;
  }
  const tmp = new Float64Array(fs.length);
  for (let h = 0; h < H; h++) {
    if (how === 'mean') {
      let s = 0;
      for (const f of fs) s += f[h];
      o[h] = s / fs.length;
    } else {
      fs.forEach((f, k) => (tmp[k] = f[h]));
      tmp.sort();
      const m = tmp.length >> 1;
      o[h] = tmp.length % 2 ? tmp[m] : (tmp[m - 1] + tmp[m]) / 2;
    }
  }
  return o;
}

/** One series' backtest, ready to score: its windows, actuals and per-window scales. */
export class SeriesBacktest {
  readonly scale2: number[];
  readonly scale1: number[];
  private cache = new Map<string, number[]>();

  constructor(
    readonly y: Demand,
    readonly windows: CvWindow[],
    readonly forecasts: Map<Algorithm, (Float64Array | null)[]>,
  ) {
    this.scale2 = windows.map((w) => naiveScale(y.subarray(0, w.trainEnd), true));
    this.scale1 = windows.map((w) => naiveScale(y.subarray(0, w.trainEnd), false));
  }

  /** Windows where every candidate has a forecast. */
  usable(): number[] {
    const out: number[] = [];
    const any = [...this.forecasts.values()][0];
    if (!any) return out;
    this.windows.forEach((_, j) => {
      if (any[j] && this.scale2[j] > 0) out.push(j);
    });
    return out;
  }

  forecastOf(c: Choice, j: number): Float64Array | null {
    if (c.algos.length === 1) return this.forecasts.get(c.algos[0])?.[j] ?? null;
    const fs: Float64Array[] = [];
    for (const a of c.algos) {
      const f = this.forecasts.get(a)?.[j];
      if (!f) return null;
      fs.push(f);
    }
    return combine(fs, c.combine);
  }

  /** RMSSE of a choice at every window (NaN where it has no forecast or the window no known day). */
  rmsseByWindow(c: Choice): number[] {
    const key = choiceName(c);
    let r = this.cache.get(key);
    if (r) return r;
    r = this.windows.map((w, j) => {
      const f = this.forecastOf(c, j);
      if (!f) return NaN;
      let se = 0;
      let n = 0;
      for (let t = w.trainEnd; t < w.testEnd; t++) {
        const a = this.y[t];
        if (a !== a) continue;
        const d = f[t - w.trainEnd] - a;
        se += d * d;
        n++;
      }
      return n && this.scale2[j] > 0 ? Math.sqrt(se / n) / this.scale2[j] : NaN;
    });
    this.cache.set(key, r);
    return r;
  }

  /** The selection criterion over windows `use`: the mean RMSSE with the best window dropped (three or more windows). */
  criterion(c: Choice, use: number[]): { mean: number; trimmed: number } {
    const r = this.rmsseByWindow(c);
    let sum = 0;
    let min = Infinity;
    for (const j of use) {
      const x = r[j];
      if (!Number.isFinite(x)) return { mean: Infinity, trimmed: Infinity };
      sum += x;
      if (x < min) min = x;
    }
    const n = use.length;
    if (!n) return { mean: Infinity, trimmed: Infinity };
    const mean = sum / n;
    if (n < 3) return { mean, trimmed: mean };
    return { mean, trimmed: (sum - min) / (n - 1) };
  }

  metrics(c: Choice, use: number[]): CandidateMetrics {
    const { mean, trimmed } = this.criterion(c, use);
    const all = new ErrorSums();
    let mase = 0;
    let nm = 0;
    for (const j of use) {
      const f = this.forecastOf(c, j);
      if (!f) continue;
      const w = this.windows[j];
      const s = new ErrorSums();
      for (let t = w.trainEnd; t < w.testEnd; t++) {
        s.add(this.y[t], f[t - w.trainEnd]);
        all.add(this.y[t], f[t - w.trainEnd]);
      }
      if (s.n && this.scale1[j] > 0) {
        mase += s.mae / this.scale1[j];
        nm++;
      }
    }
    return { rmsse: mean, trimmed, mase: nm ? mase / nm : Infinity, wape: all.wape, mape: all.mape, bias: all.n ? all.bias : 0, windows: use.length };
  }
}

/**
 * Chooses among `candidates` (preference order) on windows `use`: the best
 * single model by the trimmed criterion, or a combination of the best few
 * where that backtests better.
 */
export function selectModel(bt: SeriesBacktest, candidates: Algorithm[], use: number[], prior?: SelectionPrior | null): { choice: Choice; score: number } | null {
  const scored = candidates
    .map((a) => ({ a, s: bt.criterion({ algos: [a], combine: 'single' }, use).trimmed, r: 0 }))
    .filter((x) => Number.isFinite(x.s));
  if (!scored.length) return null;
  // The ranking score: the series' own criterion, or its empirical-Bayes posterior given what wins across the series.
  const rel = prior ? relativeScores(bt, scored.map((x) => x.a), use) : null;
  for (const x of scored) x.r = rel && prior ? Math.exp(prior.posterior(x.a, rel.d.get(x.a)!)) : x.s;
  const best = Math.min(...scored.map((x) => x.r));
  const preferred = scored.find((x) => x.r <= best * TIE)!;
  const ranked = [preferred, ...scored.filter((x) => x !== preferred).sort((p, q) => p.r - q.r)];
  let choice: Choice = { algos: [preferred.a], combine: 'single' };
  let score = preferred.s;
  const combos: Choice[] = [];
  if (ranked.length >= 3) combos.push({ algos: ranked.slice(0, 3).map((x) => x.a), combine: 'median' });
  if (ranked.length >= 2) combos.push({ algos: ranked.slice(0, 2).map((x) => x.a), combine: 'mean' });
  // The best level model with the best model of the calendar (weekday, season, promotions): the top two are often
  // two level models that err alike, while a level and a calendar model err in different ways, and the mean of
  // models that err differently is what beats each of them (the forecasting competitions' lesson).
  const isLevel = (a: Algorithm) => (LEVEL_MODELS as Algorithm[]).includes(a);
  const lvl = ranked.find((x) => isLevel(x.a));
  const cal = ranked.find((x) => !isLevel(x.a) && x.a !== 'snaive');
  if (lvl && cal && !(ranked[0] === lvl && ranked[1] === cal) && !(ranked[0] === cal && ranked[1] === lvl)) combos.push({ algos: [lvl.a, cal.a], combine: 'mean' });
  // A combination must beat every single candidate's own score (not only the preferred one's, which the prior may have
  // chosen over a better-scoring one), and beat the best of them in every selection window: a combination picked for a
  // lower mean over three windows, one of them worse, is chosen by noise as often as not.
  const bestSingle = scored.reduce((p, q) => (q.s < p.s ? q : p));
  const singleByWindow = bt.rmsseByWindow({ algos: [bestSingle.a], combine: 'single' });
  let bar = bestSingle.s;
  for (const c of combos) {
    const s = bt.criterion(c, use).trimmed;
    const byWindow = bt.rmsseByWindow(c);
    if (s < bar * COMBINE_GAIN && use.every((j) => byWindow[j] < singleByWindow[j])) {
      bar = s;
      choice = c;
      score = s;
    }
  }
  return { choice, score };
}

/**
 * One series' candidates on a common log scale: D_a = log(criterion_a) minus
 * the mean of the logs over the candidates (0 = an average candidate for this
 * series), and the noise of D_a: the variance over windows of the per-window
 * log RMSSE (centred the same way) divided by the number of windows.
 */
export function relativeScores(bt: SeriesBacktest, candidates: Algorithm[], use: number[]): { d: Map<Algorithm, number>; noise: Map<Algorithm, number> } | null {
  const crit = candidates.map((a) => bt.criterion({ algos: [a], combine: 'single' }, use).trimmed);
  if (!crit.every((c) => Number.isFinite(c) && c > 0) || use.length < 2) return null;
  const logs = crit.map(Math.log);
  const centre = logs.reduce((x, y) => x + y, 0) / logs.length;
  const byW = candidates.map((a) => bt.rmsseByWindow({ algos: [a], combine: 'single' }));
  const wc = use.map((j) => byW.reduce((x, r) => x + Math.log(Math.max(r[j], 1e-9)), 0) / candidates.length);
  const d = new Map<Algorithm, number>();
  const noise = new Map<Algorithm, number>();
  candidates.forEach((a, k) => {
    d.set(a, logs[k] - centre);
    const v = use.map((j, q) => Math.log(Math.max(byW[k][j], 1e-9)) - wc[q]);
    const m = v.reduce((x, y) => x + y, 0) / v.length;
    const s2 = v.reduce((x, y) => x + (y - m) ** 2, 0) / (v.length - 1);
    noise.set(a, s2 / v.length);
  });
  return { d, noise };
}

/**
 * Empirical-Bayes shrinkage of model choice across series. A few 28-day
 * windows rank a series' candidates with much noise; across many series the
 * same candidate's relative score D_a (see relativeScores) has a mean m_a, a
 * spread V_a, and a mean noise sigma2_a. The spread of the true relative
 * scores is tau2_a = max(0, V_a - sigma2_a), and a series' posterior relative
 * score is
 *
 *   D~_a = m_a + w_a (D_a - m_a),   w_a = tau2_a / (tau2_a + sigma2_a)
 *
 * so a series follows its own backtest where series truly differ (w near 1)
 * and what wins across series where its own ranking is mostly noise (w near 0).
 */
export class SelectionPrior {
  constructor(private readonly stats: Map<Algorithm, { mean: number; weight: number }>) {}

  static from(rows: ({ d: Map<Algorithm, number>; noise: Map<Algorithm, number> } | null)[]): SelectionPrior | null {
    const acc = new Map<Algorithm, { d: number[]; n: number[] }>();
    for (const r of rows) {
      if (!r) continue;
      for (const [a, d] of r.d) {
        const e = acc.get(a) ?? { d: [], n: [] };
        e.d.push(d);
        e.n.push(r.noise.get(a)!);
        acc.set(a, e);
      }
    }
    const stats = new Map<Algorithm, { mean: number; weight: number }>();
    for (const [a, e] of acc) {
      // Fewer series than MIN_SERIES_PRIOR cannot estimate a spread: the series keep their own ranking.
      if (e.d.length < MIN_SERIES_PRIOR) return null;
      const m = e.d.reduce((x, y) => x + y, 0) / e.d.length;
      const V = e.d.reduce((x, y) => x + (y - m) ** 2, 0) / (e.d.length - 1);
      const s2 = e.n.reduce((x, y) => x + y, 0) / e.n.length;
      const tau2 = Math.max(0, V - s2);
      stats.set(a, { mean: m, weight: tau2 + s2 > 0 ? tau2 / (tau2 + s2) : 1 });
    }
    return new SelectionPrior(stats);
  }

  posterior(a: Algorithm, d: number): number {
    const st = this.stats.get(a);
    return st ? st.mean + st.weight * (d - st.mean) : d;
  }

  describe(): Record<string, { mean: number; weight: number }> {
    return Object.fromEntries(this.stats);
  }
}

/** Series needed to estimate a candidate's spread across series (a variance from fewer is itself noise). */
const MIN_SERIES_PRIOR = 20;

/**
 * The order near-ties follow for the series of one kind: the candidates by
 * their mean criterion (trimmed mean RMSSE, unitless) over those series, the
 * kind's fixed preference order breaking equal means and standing alone below
 * MIN_SERIES_PRIOR series. Within 1 % one series' own windows cannot tell two
 * candidates apart; which of them backtests better across the run's series
 * of the same kind can (the arithmetic mean, as the forecasts are judged).
 */
export function tieOrder(candidates: Algorithm[], series: { sb: SeriesBacktest; sel: number[] }[]): Algorithm[] {
  const scored = series.filter((x) => x.sel.length);
  if (scored.length < MIN_SERIES_PRIOR) return candidates;
  const mean = new Map<Algorithm, number>();
  for (const a of candidates) {
    let sum = 0;
    let n = 0;
    for (const { sb, sel } of scored) {
      const v = sb.criterion({ algos: [a], combine: 'single' }, sel).trimmed;
      if (Number.isFinite(v)) {
        sum += v;
        n++;
      }
    }
    mean.set(a, n ? sum / n : Infinity);
  }
  // Array.prototype.sort is stable: equal means keep the fixed order.
  return [...candidates].sort((p, q) => mean.get(p)! - mean.get(q)!);
}
