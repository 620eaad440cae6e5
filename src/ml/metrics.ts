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

/** Scores forecasts against actuals; NaN actuals (censored days) are skipped. */
export function score(actual: ArrayLike<number>, forecast: ArrayLike<number>, train?: ArrayLike<number>): Scores {
  let se = 0;
  let ae = 0;
  let sa = 0;
  let e = 0;
  let ape = 0;
  let nape = 0;
  let n = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    if (Number.isNaN(a)) continue;
    const d = forecast[i] - a;
    se += d * d;
    ae += Math.abs(d);
    sa += Math.abs(a);
    e += d;
    n++;
    if (a > 0) {
      ape += Math.abs(d) / a;
      nape++;
    }
  }
  const rmse = n ? Math.sqrt(se / n) : NaN;
  const mae = n ? ae / n : NaN;
  const s2 = train ? naiveScale(train, true) : NaN;
  const s1 = train ? naiveScale(train, false) : NaN;
  return {
    rmse,
    mae,
    rmsse: s2 > 0 ? rmse / s2 : NaN,
    mase: s1 > 0 ? mae / s1 : NaN,
    wape: sa > 0 ? ae / sa : null,
    mape: nape ? (100 * ape) / nape : null,
    bias: n ? e / n : NaN,
    n,
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
