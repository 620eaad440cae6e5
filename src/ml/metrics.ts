/**
 * Forecast accuracy metrics. RMSSE and MASE are scaled by the in-sample one-step
 * naive error, so they are comparable across series and defined on zero days;
 * MAPE is computed over days with sales only (undefined otherwise).
 */
export function naiveScale(train: ArrayLike<number>, squared: boolean): number {
  let s = 0;
  let n = 0;
  let prev = NaN;
  for (let i = 0; i < train.length; i++) {
    const v = train[i];
    if (Number.isNaN(v)) continue;
    if (!Number.isNaN(prev)) {
      const d = v - prev;
      s += squared ? d * d : Math.abs(d);
      n++;
    }
    prev = v;
  }
  if (n === 0) return NaN;
  return squared ? Math.sqrt(s / n) : s / n;
}

export interface Scores {
  rmsse: number;
  mase: number;
  rmse: number;
  mae: number;
  wape: number | null;
  mape: number | null;
  bias: number;
  n: number;
}

/**
 * Running sums of forecast errors: the one implementation of
 *   MAPE = mean(|f - a| / a) x 100 over days with a > 0    (%)
 *   WAPE = sum|f - a| / sum|a|
 *   RMSE = sqrt(mean((f - a)^2)), MAE = mean|f - a|        (units)
 *   bias = mean(f - a)                                     (units; > 0 = over-forecast)
 * Days with an unknown actual or forecast (NaN) are skipped.
 */
export class ErrorSums {
  n = 0;
  private ae = 0;
  private sa = 0;
  private se = 0;
  private e = 0;
  private ape = 0;
  private nape = 0;

  add(actual: number, forecast: number): boolean {
    if (actual !== actual || forecast !== forecast) return false;
    const d = forecast - actual;
    this.se += d * d;
    this.ae += Math.abs(d);
    this.sa += Math.abs(actual);
    this.e += d;
    this.n++;
    if (actual > 0) {
      this.ape += Math.abs(d) / actual;
      this.nape++;
    }
    return true;
  }

  merge(o: ErrorSums): void {
    this.n += o.n;
    this.ae += o.ae;
    this.sa += o.sa;
    this.se += o.se;
    this.e += o.e;
    this.ape += o.ape;
    this.nape += o.nape;
  }

  get rmse(): number {
    return this.n ? Math.sqrt(this.se / this.n) : NaN;
  }
  get mae(): number {
    return this.n ? this.ae / this.n : NaN;
  }
  get wape(): number | null {
    return this.sa > 0 ? this.ae / this.sa : null;
  }
  get mape(): number | null {
    return this.nape ? (100 * this.ape) / this.nape : null;
  }
  get bias(): number {
    return this.n ? this.e / this.n : NaN;
  }
}

/** Scores forecasts against actuals; NaN actuals (censored days) are skipped. */
export function score(actual: ArrayLike<number>, forecast: ArrayLike<number>, train?: ArrayLike<number>): Scores {
  const sums = new ErrorSums();
  for (let i = 0; i < actual.length; i++) sums.add(actual[i], forecast[i]);
  const s2 = train ? naiveScale(train, true) : NaN;
  const s1 = train ? naiveScale(train, false) : NaN;
  return {
    rmse: sums.rmse,
    mae: sums.mae,
    rmsse: s2 > 0 ? sums.rmse / s2 : NaN,
    mase: s1 > 0 ? sums.mae / s1 : NaN,
    wape: sums.wape,
    mape: sums.mape,
    bias: sums.bias,
    n: sums.n,
  };
}

export function mean(xs: ArrayLike<number>): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < xs.length; i++) if (!Number.isNaN(xs[i])) {
    s += xs[i];
    n++;
  }
  return n ? s / n : NaN;
}

export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (!sorted.length) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Standard normal quantile (Acklam's approximation, |error| < 1.2e-9). */
export function normalQuantile(p: number): number {
  if (p <= 0 || p >= 1) throw new RangeError('p must be in (0, 1)');
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const pl = 0.02425;
  if (p < pl) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - pl) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}
