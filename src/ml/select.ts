/**
 * Stage 2 of the engine: choosing a series' model from its backtest.
 *
 * Per candidate a and window j: RMSSE_aj = RMSE over the window's known days /
 * the in-sample one-step naive RMSE of the days before the window's origin
 * (unitless). The criterion is the *trimmed* mean over the selection windows:
 * with three or more windows, each candidate's single best window is dropped
 * before averaging, so no candidate can win by one lucky window; it must be
 * good across origins. Near-ties (within 1 %) go to the earlier candidate in
 * the kind's preference order. Combinations of the best few (median of the top
 * three, mean of the top two) are scored the same way and chosen only when
 * they beat the best single model by more than 1 %.
 */
import { ErrorSums, naiveScale } from './metrics.js';
import type { Algorithm } from './forecasters.js';
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
    const fs = c.algos.map((a) => this.forecasts.get(a)?.[j] ?? null);
    if (fs.some((f) => !f)) return null;
    return combine(fs as Float64Array[], c.combine);
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
    const v = use.map((j) => r[j]).filter((x) => Number.isFinite(x));
    if (!v.length || v.length < use.length) return { mean: Infinity, trimmed: Infinity };
    const sum = v.reduce((a, b) => a + b, 0);
    const mean = sum / v.length;
    if (v.length < 3) return { mean, trimmed: mean };
    return { mean, trimmed: (sum - Math.min(...v)) / (v.length - 1) };
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
export function selectModel(bt: SeriesBacktest, candidates: Algorithm[], use: number[]): { choice: Choice; score: number } | null {
  const scored = candidates
    .map((a) => ({ a, s: bt.criterion({ algos: [a], combine: 'single' }, use).trimmed }))
    .filter((x) => Number.isFinite(x.s));
  if (!scored.length) return null;
  const best = Math.min(...scored.map((x) => x.s));
  const preferred = scored.find((x) => x.s <= best * TIE)!;
  const ranked = [preferred, ...scored.filter((x) => x !== preferred).sort((p, q) => p.s - q.s)];
  let choice: Choice = { algos: [preferred.a], combine: 'single' };
  let score = preferred.s;
  const combos: Choice[] = [];
  if (ranked.length >= 3) combos.push({ algos: ranked.slice(0, 3).map((x) => x.a), combine: 'median' });
  if (ranked.length >= 2) combos.push({ algos: ranked.slice(0, 2).map((x) => x.a), combine: 'mean' });
  for (const c of combos) {
    const s = bt.criterion(c, use).trimmed;
    if (s < score * COMBINE_GAIN) {
      choice = c;
      score = s;
    }
  }
  return { choice, score };
}
