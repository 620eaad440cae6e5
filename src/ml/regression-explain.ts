/**
 * The regression's forecast of each day split into its components, from the
 * fitted coefficients (fitRegression's `beta` and design).
 *
 * On the log scale the forecast is a sum: eta = level/trend + weekday + yearly
 * + events + promotion + price, and the forecast is f(eta) = max(0, exp(eta) x
 * smear - 1) units/day. f is not linear, so the units of each component are
 * its step in a fixed order (level/trend first, then weekday, yearly, events,
 * promotion, price):
 *
 *   level/trend = exp(eta_level) x smear - 1
 *   component_c = (exp(eta_before_c + eta_c) - exp(eta_before_c)) x smear
 *   floor       = max(0, F) - F, F = exp(eta) x smear - 1   (the never-negative rule)
 *   level shift = max(0, F) x (r - 1), r = the fit's level-shift ratio (level-shift.ts; 0 when r = 1)
 *
 * A series whose history was re-levelled from a step (relevelSteps, ratio q):
 * its fit is at the new level, so the steps above are taken from the level
 * before the step (eta_level - ln q) and the level shift is what the step
 * changes, max(0, F_q) r - max(0, F), F_q = exp(eta) x smear - 1 of the fit.
 *
 * The steps telescope: their sum is the forecast exactly (up to float64).
 * Level/trend can be negative (a smearing below 1 on a slow mover).
 */
import type { RegressionFit } from './regression.js';

export const REGRESSION_COMPONENTS = ['level/trend', 'weekday', 'yearly', 'events', 'promotion', 'price', 'floor', 'level shift'] as const;
export type RegressionComponent = (typeof REGRESSION_COMPONENTS)[number];

/** Which part of eta each design column belongs to. */
function groupOf(name: string): Exclude<RegressionComponent, 'promotion' | 'price' | 'floor' | 'level shift'> {
  if (name === 'intercept' || name === 'trend' || name.startsWith('cp')) return 'level/trend';
  if (name.startsWith('dow')) return 'weekday';
  if (name.startsWith('ysin') || name.startsWith('ycos') || name.startsWith('mon')) return 'yearly';
  if (name.startsWith('hol')) return 'events';
  throw new Error(`regression column "${name}" has no component: extend groupOf`);
}

/**
 * Components of series `s` of a fit, for each forecast day h (design row T + h).
 * `promo` and `logPrice` are the series' regressors over history + horizon (or null).
 */
export function explainRegression(
  fit: RegressionFit, s: number, T: number, H: number,
  promo: ArrayLike<number> | null, logPrice: ArrayLike<number> | null,
): { components: Record<RegressionComponent, number>[]; forecast: Float64Array } {
  const { X, k, names } = fit.design;
  const beta = fit.beta[s];
  const sm = fit.smear[s];
  const shift = fit.shift[s];
  // A re-levelled history: the components from the level before its step (see the header).
  const lnStep = fit.relevel?.[s] ? Math.log(fit.relevel[s]!.ratio) : 0;
  const groups = names.map(groupOf);
  const out: Record<RegressionComponent, number>[] = [];
  const forecast = new Float64Array(H);
  for (let h = 0; h < H; h++) {
    const r = (T - (fit.design.start ?? 0) + h) * k;
    const eta: Record<string, number> = { 'level/trend': 0, weekday: 0, yearly: 0, events: 0 };
    for (let i = 0; i < k; i++) eta[groups[i]] += X[r + i] * beta[i];
    eta.promotion = beta[k] * (promo ? promo[T + h] : 0);
    eta.price = beta[k + 1] * (logPrice ? logPrice[T + h] : 0);
    const c = {} as Record<RegressionComponent, number>;
    let acc = eta['level/trend'] - lnStep;
    c['level/trend'] = Math.exp(acc) * sm - 1;
    for (const g of ['weekday', 'yearly', 'events', 'promotion', 'price'] as const) {
      c[g] = (Math.exp(acc + eta[g]) - Math.exp(acc)) * sm;
      acc += eta[g];
    }
    const F = Math.exp(acc) * sm - 1;
    c.floor = Math.max(0, F) - F;
    forecast[h] = Math.max(0, lnStep ? Math.exp(acc + lnStep) * sm - 1 : F) * shift;
    c['level shift'] = forecast[h] - Math.max(0, F);
    out.push(c);
  }
  return { components: out, forecast };
}
