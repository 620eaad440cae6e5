/**
 * The forecasting engine: for many series at once, backtest every candidate
 * model on rolling origins (horizon 28 by default), choose per series by mean
 * RMSSE (or the mean of the best two when that backtests better), refit the
 * choice on the whole history and forecast with an interval calibrated on the
 * chosen model's own backtest errors.
 *
 * Censored days (stock-outs) arrive as NaN: no model learns them as zero
 * demand, and they are not scored.
 */
import { fitRegression, type RegressionSeries } from './regression.js';
import { type Demand, adi, crostonClassic, dampedHoltWinters, fitHoltWinters, movingAverage, sba, seasonalNaive, tsb, zeroShare } from './models.js';
import { ErrorSums, mean, naiveScale, quantile, score } from './metrics.js';
import { roundTo } from '../numbers.js';

/** A series as the engine sees it: the regression's inputs (history, promotion flags, log price, pooling group) and an id. */
export interface EngineSeries extends RegressionSeries {
  id: string;
}

export interface EngineOptions {
  startDay: number;
  horizon: number;
  holidays: Map<number, number>;
  nHolidays: number;
  origins?: number;
  backtestHorizon?: number;
  interval?: number;
  /** Restrict candidates (tests, benchmarks). */
  candidates?: Algorithm[];
  /** Series per regression batch (memory bound). */
  chunk?: number;
  /** Known days below which a series gets the fallback model. */
  minHistory?: number;
}

export type Algorithm = 'regression' | 'ets' | 'snaive' | 'ma28' | 'croston' | 'sba' | 'tsb';
export const STAT_ALGORITHMS: Algorithm[] = ['ets', 'snaive', 'ma28', 'croston', 'sba', 'tsb'];

export interface CandidateMetrics {
  rmsse: number;
  mase: number;
  wape: number | null;
  mape: number | null;
  bias: number;
}

export interface SeriesForecast {
  id: string;
  algorithm: string;
  params: Record<string, unknown>;
  forecast: Float64Array;
  lo: Float64Array;
  hi: Float64Array;
  metrics: Record<string, CandidateMetrics>;
  /** Backtest RMSSE of the chosen model and of seasonal naive, for the gate and the monitor. */
  chosenRmsse: number;
  reason: string;
  fallback: boolean;
  kind: 'smooth' | 'intermittent' | 'short';
}

const STAT: Record<Exclude<Algorithm, 'regression'>, (y: Demand, h: number) => { f: Float64Array; params: Record<string, number> }> = {
  ets: (y, h) => {
    const p = fitHoltWinters(y);
    return { f: dampedHoltWinters(y, h, p), params: p };
  },
  snaive: (y, h) => ({ f: seasonalNaive(y, h), params: { period: 7 } }),
  ma28: (y, h) => ({ f: movingAverage(y, h, { window: 28 }), params: { window: 28 } }),
  croston: (y, h) => ({ f: crostonClassic(y, h, { alpha: 0.1 }), params: { alpha: 0.1 } }),
  sba: (y, h) => ({ f: sba(y, h, { alpha: 0.1 }), params: { alpha: 0.1 } }),
  tsb: (y, h) => ({ f: tsb(y, h, { alpha: 0.1, beta: 0.05 }), params: { alpha: 0.1, beta: 0.05 } }),
};

function knownDays(y: Demand): number {
  let n = 0;
  for (let i = 0; i < y.length; i++) if (!Number.isNaN(y[i])) n++;
  return n;
}

function classify(y: Demand, minHistory: number): 'smooth' | 'intermittent' | 'short' {
  if (knownDays(y) < minHistory) return 'short';
  // Syntetos-Boylan: ADI > 1.32 is intermittent/lumpy.
  return adi(y) > 1.32 || zeroShare(y) > 0.3 ? 'intermittent' : 'smooth';
}

function candidatesFor(kind: 'smooth' | 'intermittent', allowed: Algorithm[] | undefined): Algorithm[] {
  const base: Algorithm[] = kind === 'smooth' ? ['regression', 'ets', 'snaive', 'ma28'] : ['sba', 'tsb', 'croston', 'ma28', 'regression'];
  return allowed ? base.filter((a) => allowed.includes(a)) : base;
}

async function regressionForecasts(series: EngineSeries[], idx: number[], T: number, H: number, o: EngineOptions) {
  const out = new Map<number, Float64Array>();
  const extra = new Map<number, { promo: number; price: number; smear: number }>();
  // Series per regression batch: each series with own regressors holds a k x k system and its factor.
  const chunk = o.chunk ?? 1000;
  for (let c = 0; c < idx.length; c += chunk) {
    const part = idx.slice(c, c + chunk);
    const input: RegressionSeries[] = part.map((i) => ({
      y: series[i].y.subarray(0, T),
      promo: series[i].promo ? series[i].promo!.subarray(0, T + H) : null,
      logPrice: series[i].logPrice ? series[i].logPrice!.subarray(0, T + H) : null,
      group: series[i].group,
    }));
    const fit = await fitRegression(input, { startDay: o.startDay, T, H, holidays: o.holidays, nHolidays: o.nHolidays, yearlyOrder: 4, months: true });
    part.forEach((i, j) => {
      out.set(i, fit.forecast[j]);
      extra.set(i, { promo: fit.promoEffect[j], price: fit.priceEffect[j], smear: fit.smear[j] });
    });
  }
  return { out, extra };
}

/** The rolling origins of the backtest: [train end, test end) windows of `h` days, oldest first, all inside the history. */
export function rollingOrigins(T: number, origins: number, h: number, minTrain = 56): { trainEnd: number; testEnd: number }[] {
  const out: { trainEnd: number; testEnd: number }[] = [];
  for (let org = origins; org >= 1; org--) {
    const cut = T - org * h;
    if (cut >= minTrain) out.push({ trainEnd: cut, testEnd: cut + h });
  }
  return out;
}

export async function forecastMany(series: EngineSeries[], o: EngineOptions): Promise<SeriesForecast[]> {
  const origins = o.origins ?? 3;
  const hb = o.backtestHorizon ?? 28;
  const H = o.horizon;
  const level = o.interval ?? 0.8;
  const minHistory = o.minHistory ?? Math.max(56, origins * hb + 28);
  const kinds = series.map((s) => classify(s.y, minHistory));
  const cands = kinds.map((k) => (k === 'short' ? [] : candidatesFor(k, o.candidates)));
  // Backtest: forecasts per series, candidate and origin.
  const bt: Map<Algorithm, Float64Array[]>[] = series.map(() => new Map());
  const T = series.length ? series[0].y.length : 0;
  const splits = rollingOrigins(T, origins, hb);
  for (const { trainEnd: cut } of splits) {
    const regIdx = series.map((_, i) => i).filter((i) => cands[i].includes('regression'));
    if (regIdx.length) {
      const { out } = await regressionForecasts(series, regIdx, cut, hb, o);
      for (const i of regIdx) push(bt[i], 'regression', out.get(i)!);
    }
    series.forEach((s, i) => {
      const train = s.y.subarray(0, cut);
      for (const a of cands[i]) if (a !== 'regression') push(bt[i], a, STAT[a](train, hb).f);
    });
  }

  // Choose.
  const choice: { algos: Algorithm[]; metrics: Record<string, CandidateMetrics>; rmsse: number; errors: number[]; byOrigin: number[][]; reason: string }[] = [];
  series.forEach((s, i) => {
    const metrics: Record<string, CandidateMetrics> = {};
    if (!cands[i].length) {
      choice.push({ algos: [], metrics, rmsse: NaN, errors: [], byOrigin: [], reason: `fewer than ${minHistory} days of known demand: fallback` });
      return;
    }
    const actualsByOrigin: { act: Demand; train: Demand }[] = splits.map(({ trainEnd, testEnd }) => ({ act: s.y.subarray(trainEnd, testEnd), train: s.y.subarray(0, trainEnd) }));
    const nOrig = splits.length;
    // RMSSE and MASE: mean over origins (each scaled by its own training part); WAPE, MAPE, bias: over all backtest days.
    const evalForecasts = (fs: Float64Array[]): CandidateMetrics => {
      let r = 0;
      let m = 0;
      let nr = 0;
      const all = new ErrorSums();
      fs.forEach((f, j) => {
        const sc = score(actualsByOrigin[j].act, f, actualsByOrigin[j].train);
        if (Number.isFinite(sc.rmsse)) {
          r += sc.rmsse;
          m += sc.mase;
          nr++;
        }
        const act = actualsByOrigin[j].act;
        for (let h = 0; h < act.length; h++) all.add(act[h], f[h]);
      });
      return { rmsse: nr ? r / nr : Infinity, mase: nr ? m / nr : Infinity, wape: all.wape, mape: all.mape, bias: all.n ? all.bias : 0 };
    };
    for (const a of cands[i]) metrics[a] = evalForecasts(bt[i].get(a)!);
    // Near-ties go to the first candidate in the kind's preference order (intermittent: SBA first;
    // smooth: regression first), so backtest noise does not pick the model. Intermittent series keep an
    // intermittent-demand model unless another is better by more than 5 % (three sparse 28-day windows are noisy).
    const bestScore = Math.min(...cands[i].map((a) => metrics[a].rmsse));
    const tolerance = kinds[i] === 'intermittent' ? 1.05 : 1.01;
    const preferred = cands[i].find((a) => metrics[a].rmsse <= bestScore * tolerance)!;
    const ranked = [preferred, ...[...cands[i]].filter((a) => a !== preferred).sort((a, b) => metrics[a].rmsse - metrics[b].rmsse)];
    let algos: Algorithm[] = [ranked[0]];
    let best = metrics[ranked[0]].rmsse;
    if (ranked.length > 1 && nOrig && Number.isFinite(best)) {
      const ens = bt[i].get(ranked[0])!.map((f, j) => avg(f, bt[i].get(ranked[1])![j]));
      const em = evalForecasts(ens);
      metrics[`ensemble(${ranked[0]}+${ranked[1]})`] = em;
      if (em.rmsse < best * 0.99) {
        algos = [ranked[0], ranked[1]];
        best = em.rmsse;
      }
    }
    const chosenFs = algos.length === 1 ? bt[i].get(algos[0])! : bt[i].get(algos[0])!.map((f, j) => avg(f, bt[i].get(algos[1])![j]));
    const errors: number[] = [];
    const byOrigin: number[][] = [];
    chosenFs.forEach((f, j) => {
      const act = actualsByOrigin[j].act;
      const run: number[] = [];
      for (let h = 0; h < act.length; h++) {
        // Censored days keep their place in the run (as 0 error) so windows stay consecutive.
        const e = Number.isNaN(act[h]) ? 0 : act[h] - f[h];
        if (!Number.isNaN(act[h])) errors.push(e);
        run.push(Math.round(e * 100) / 100);
      }
      byOrigin.push(run);
    });
    const sn = metrics.snaive?.rmsse;
    const reason =
      `${kinds[i]} series; lowest mean backtest RMSSE over ${nOrig} origins x ${hb} days: ${algos.join('+')} ${best.toFixed(3)}` +
      (sn !== undefined && algos[0] !== 'snaive' ? ` (seasonal naive ${sn.toFixed(3)})` : '');
    choice.push({ algos, metrics, rmsse: best, errors, byOrigin, reason });
  });

  // Final fit on the whole history.
  const regFinal = series.map((_, i) => i).filter((i) => choice[i].algos.includes('regression'));
  const reg = regFinal.length ? await regressionForecasts(series, regFinal, T, H, o) : { out: new Map<number, Float64Array>(), extra: new Map() };
  const z = (1 - level) / 2;
  return series.map((s, i) => {
    const c = choice[i];
    const fallback = !c.algos.length;
    const algos: Algorithm[] = fallback ? (knownDays(s.y) >= 14 ? ['snaive'] : ['ma28']) : c.algos;
    const params: Record<string, unknown> = {};
    const parts = algos.map((a) => {
      if (a === 'regression') {
        const e = reg.extra.get(i)!;
        params.regression = { yearly_order: 4, months: true, promo_effect: roundTo(e.promo, 4), price_effect: roundTo(e.price, 4), smear: roundTo(e.smear, 4) };
        return reg.out.get(i)!;
      }
      const r = STAT[a](s.y, H);
      params[a] = r.params;
      return r.f;
    });
    const forecast = parts.length === 1 ? parts[0] : avg(parts[0], parts[1]);
    const lo = new Float64Array(H);
    const hi = new Float64Array(H);
    let eLo: number;
    let eHi: number;
    if (c.errors.length >= 20) {
      const sorted = Float64Array.from(c.errors).sort();
      eLo = quantile(sorted, z);
      eHi = quantile(sorted, 1 - z);
    } else {
      // Too few backtest errors: Poisson-like spread around the level, widened by the naive scale.
      const sd = Math.max(Math.sqrt(Math.max(0, mean(forecast))), naiveScale(s.y, true) || 0);
      eLo = -1.2816 * sd;
      eHi = 1.2816 * sd;
    }
    for (let h = 0; h < H; h++) {
      lo[h] = Math.max(0, forecast[h] + eLo);
      hi[h] = Math.max(lo[h], forecast[h] + eHi);
    }
    params.interval = { level, error_lo: roundTo(eLo, 4), error_hi: roundTo(eHi, 4), n_errors: c.errors.length };
    // Daily errors (actual - forecast) of each backtest origin, in order: safety stock reads their sums over lead time.
    params.backtest_errors = c.byOrigin;
    return {
      id: s.id,
      algorithm: fallback ? `fallback:${algos[0]}` : algos.length === 1 ? algos[0] : `ensemble(${algos.join('+')})`,
      params,
      forecast,
      lo,
      hi,
      metrics: c.metrics,
      chosenRmsse: c.rmsse,
      reason: c.reason,
      fallback,
      kind: kinds[i],
    };
  });
}

function push(m: Map<Algorithm, Float64Array[]>, a: Algorithm, f: Float64Array) {
  const l = m.get(a) ?? [];
  l.push(f);
  m.set(a, l);
}

function avg(a: Float64Array, b: Float64Array): Float64Array {
  const o = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) o[i] = (a[i] + b[i]) / 2;
  return o;
}



/** Parses a stored algorithm name ("regression", "ensemble(regression+ets)", "fallback:snaive"). */
export function parseAlgorithm(name: string): Algorithm[] {
  const n = name.replace(/^fallback:/, '');
  const m = /^ensemble\((.+)\)$/.exec(n);
  return (m ? m[1].split('+') : [n]) as Algorithm[];
}

/**
 * Forecasts each series with given algorithms (no backtest): the path of
 * `predict` and `validate`. Regression series are fitted in batches.
 * `truncate` fits on the first T days only (for validation on recent weeks).
 */
export async function forecastWith(series: EngineSeries[], algos: Algorithm[][], H: number, o: EngineOptions, T?: number): Promise<Float64Array[]> {
  const len = T ?? (series.length ? series[0].y.length : 0);
  const regIdx = series.map((_, i) => i).filter((i) => algos[i].includes('regression') && knownDays(series[i].y.subarray(0, len)) >= 56);
  const reg = regIdx.length ? (await regressionForecasts(series, regIdx, len, H, o)).out : new Map<number, Float64Array>();
  return series.map((s, i) => {
    const parts = algos[i].map((a) => {
      if (a === 'regression') return reg.get(i) ?? STAT.snaive(s.y.subarray(0, len), H).f;
      return STAT[a](s.y.subarray(0, len), H).f;
    });
    return parts.length === 1 ? parts[0] : avg(parts[0], parts[1]);
  });
}

/** Interval bounds from the error quantiles stored with a model. */
export function intervalFrom(forecast: Float64Array, errLo: number, errHi: number): { lo: Float64Array; hi: Float64Array } {
  const lo = new Float64Array(forecast.length);
  const hi = new Float64Array(forecast.length);
  for (let h = 0; h < forecast.length; h++) {
    lo[h] = Math.max(0, forecast[h] + errLo);
    hi[h] = Math.max(lo[h], forecast[h] + errHi);
  }
  return { lo, hi };
}
