/**
 * The per-series forecasters the engine can choose from, each `fit then
 * predict` over one history array (NaN = unknown day), plus how a series is
 * classified. The pooled models (the batched regression and the global
 * network) fit many series at once and live in regression.ts and
 * global-model.ts.
 */
import { adi, adida, crostonClassic, imapa, movingAverage, sba, seasonalNaive, sesFit, tsb, zeroShare, type Demand } from './models.js';
import { autoEts, etsFollowingSteps, etsName, withoutBurst } from './ets.js';
import { fitTheta, thetaForecast } from './theta.js';
import { roundTo } from '../numbers.js';

export type Algorithm =
  | 'regression' | 'global' | 'pooled'
  | 'ets' | 'theta' | 'snaive'
  | 'ma7' | 'ma28' | 'ses' | 'croston' | 'sba' | 'tsb' | 'adida' | 'imapa' | 'levels';

/** Models fitted series by series (the pooled ones, regression and global, are fitted in batches). */
export type LocalAlgorithm = Exclude<Algorithm, 'regression' | 'global' | 'pooled'>;
export const POOLED: Algorithm[] = ['regression', 'global', 'pooled'];

/** Level models: a flat forecast of the demand rate; the fallback family for short and intermittent series. */
export const LEVEL_MODELS: LocalAlgorithm[] = ['levels', 'ses', 'tsb', 'imapa', 'adida', 'ma28', 'ma7', 'sba'];

export type SeriesKind = 'smooth' | 'intermittent' | 'short';

export interface LocalFit {
  f: Float64Array;
  params: Record<string, unknown>;
  /** A step the history was re-levelled from (first day, index of y; ratio): etsFollowingSteps. */
  relevel?: { start: number; ratio: number } | null;
  /** A burst left out of the states (days [start, end) of y): etsFollowingSteps. */
  burst?: { start: number; end: number } | null;
}

export const LOCAL: Record<LocalAlgorithm, (y: Demand, h: number) => LocalFit> = {
  ets: (y, h) => {
    let fit = autoEts(y);
    if (!fit) return { f: movingAverage(y, h, { window: 28 }), params: { form: 'none: ma28' } };
    let r = etsFollowingSteps(y, fit, h);
    if (r.burst) {
      // A burst left out of the states is left out of the search too: fitted with it, the search chose a level
      // smoothing large enough to follow it (alpha 0.5 where the same series without it had 0.001), and the level
      // then followed the few days since.
      const adj = withoutBurst(y, r.burst);
      const again = autoEts(adj);
      if (again) {
        fit = again;
        r = { ...etsFollowingSteps(adj, again, h), burst: r.burst };
      }
    }
    return {
      f: r.forecast,
      params: { form: etsName(fit), alpha: roundTo(fit.alpha, 4), beta: roundTo(fit.beta, 4), gamma: roundTo(fit.gamma, 4), phi: roundTo(fit.phi, 4), aicc: roundTo(fit.aicc, 2) },
      relevel: r.step,
      burst: r.burst,
    };
  },
  theta: (y, h) => {
    const fit = fitTheta(y);
    return { f: thetaForecast(fit, h), params: { theta: fit.theta, alpha: fit.alpha, b0: roundTo(fit.b0, 5), multiplicative: fit.multiplicative } };
  },
  snaive: (y, h) => ({ f: seasonalNaive(y, h), params: { period: 7 } }),
  ma7: (y, h) => ({ f: movingAverage(y, h, { window: 7 }), params: { window: 7 } }),
  ma28: (y, h) => ({ f: movingAverage(y, h, { window: 28 }), params: { window: 28 } }),
  ses: (y, h) => {
    const p = sesFit(y);
    return { f: new Float64Array(h).fill(Math.max(0, p.level)), params: { alpha: p.alpha } };
  },
  croston: (y, h) => ({ f: crostonClassic(y, h, { alpha: 0.1 }), params: { alpha: 0.1 } }),
  sba: (y, h) => ({ f: sba(y, h, { alpha: 0.1 }), params: { alpha: 0.1 } }),
  tsb: (y, h) => ({ f: tsb(y, h, { alpha: 0.1, beta: 0.05 }), params: { alpha: 0.1, beta: 0.05 } }),
  adida: (y, h) => ({ f: adida(y, h), params: { k: Math.max(1, Math.min(28, Math.round(adi(y)))) } }),
  imapa: (y, h) => ({ f: imapa(y, h), params: { levels: Math.max(2, Math.min(28, Math.round(adi(y)))) } }),
  levels: (y, h) => levelCombination(y, h),
};

/**
 * The level combination: the mean of three different estimates of the
 * demand rate, SES on the daily series, TSB (occurrence x size) and IMAPA
 * (temporal aggregation). On sparse data each errs in its own way (SES chases
 * single sales, TSB lags a change of size, IMAPA smooths over bucket edges);
 * their mean cancels part of it, the lesson of the forecasting competitions
 * that a combination beats choosing one model from a few noisy windows.
 */
function levelCombination(y: Demand, h: number): LocalFit {
  const p = sesFit(y);
  const a = Math.max(0, p.level);
  const b = tsb(y, 1, { alpha: 0.1, beta: 0.05 })[0];
  const c = imapa(y, 1)[0];
  return { f: new Float64Array(h).fill((a + b + c) / 3), params: { ses_alpha: p.alpha, ses: roundTo(a, 4), tsb: roundTo(b, 4), imapa: roundTo(c, 4) } };
}

export function knownDays(y: Demand, from = 0, to = y.length): number {
  let n = 0;
  for (let i = from; i < to; i++) if (!Number.isNaN(y[i])) n++;
  return n;
}

/**
 * Syntetos-Boylan-Croston classes from the history it is given (callers pass
 * only data before the origin they forecast from): intermittent when the mean
 * interval between demands exceeds 1.32 days or more than 30 % of known days
 * are zero; short below `minHistory` known days.
 */
export function classify(y: Demand, minHistory: number): SeriesKind {
  if (knownDays(y) < minHistory) return 'short';
  return adi(y) > 1.32 || zeroShare(y) > 0.3 ? 'intermittent' : 'smooth';
}

/**
 * Candidates per kind, in a fixed order: the order near-ties follow when the
 * run has too few series of the kind to rank them (see tieOrder).
 * Seasonal naive is never a candidate for intermittent or short series: on
 * sparse data it repeats last week's few random sales and is the worst model
 * there is. Short series get level models only (too few days to fit a season).
 */
export function candidatesFor(kind: SeriesKind, allowed?: Algorithm[]): Algorithm[] {
  const base: Algorithm[] =
    kind === 'smooth' ? ['ets', 'regression', 'pooled', 'theta', 'global', 'ses', 'ma28', 'snaive']
      : kind === 'intermittent' ? ['levels', 'tsb', 'imapa', 'adida', 'sba', 'ses', 'pooled', 'regression', 'global', 'ets']
        : ['levels', 'ses', 'tsb', 'imapa', 'ma28', 'ma7'];
  return allowed ? base.filter((a) => allowed.includes(a)) : base;
}

/**
 * The model a series gets when it has no trained one, or when its trained one
 * cannot run: a level model that fits its demand (TSB for intermittent, SES
 * otherwise; the mean of what is known below two weeks). Never seasonal naive.
 */
export function fallbackFor(y: Demand): LocalAlgorithm {
  const n = knownDays(y);
  if (n < 14) return 'ma28';
  return adi(y) > 1.32 || zeroShare(y) > 0.3 ? 'tsb' : 'ses';
}
