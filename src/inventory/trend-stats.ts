/**
 * Trend statistics of a daily demand series (pure). Unknown days (NaN) are skipped.
 *
 *   growth_28d  = sum(last 28 days) / sum(previous 28 days) - 1        (fraction)
 *   growth_yoy  = sum(last 28 days) / sum(same 28 days a year earlier) - 1
 *   slope       = least-squares slope of daily demand over the last 56 days (units/day per day)
 *   weekly_strength = variance of the 7 weekday means / variance of daily demand, last 364 days (0..1)
 *   yearly_strength = variance of the 12 monthly means / variance of daily demand, last 365 days (0..1)
 *   label: rising if growth_28d > +10 %, declining if < -10 %, else stable
 */
export interface TrendStats {
  growth28d: number | null;
  growthYoy: number | null;
  slope: number | null;
  weeklyStrength: number | null;
  yearlyStrength: number | null;
  label: 'rising' | 'stable' | 'declining';
}

function windowSum(y: ArrayLike<number>, from: number, to: number): { s: number; n: number } {
  let s = 0;
  let n = 0;
  for (let i = Math.max(0, from); i < Math.min(to, y.length); i++) if (!Number.isNaN(y[i])) {
    s += y[i];
    n++;
  }
  return { s, n };
}

function ratio(a: { s: number; n: number }, b: { s: number; n: number }): number | null {
  if (a.n < 14 || b.n < 14 || b.s <= 0) return null;
  return a.s / a.n / (b.s / b.n) - 1;
}

/** `weekdayOf(i)` and `monthOf(i)` give the weekday (0..6) and month (0..11) of index i. */
export function trendStats(y: ArrayLike<number>, weekdayOf: (i: number) => number, monthOf: (i: number) => number): TrendStats {
  const T = y.length;
  const last = windowSum(y, T - 28, T);
  const growth28d = ratio(last, windowSum(y, T - 56, T - 28));
  const growthYoy = ratio(last, windowSum(y, T - 28 - 364, T - 364));
  let sx = 0, sy = 0, sxx = 0, sxy = 0, n = 0;
  for (let i = Math.max(0, T - 56); i < T; i++) if (!Number.isNaN(y[i])) {
    const x = i - T;
    sx += x; sy += y[i]; sxx += x * x; sxy += x * y[i]; n++;
  }
  const slope = n >= 14 ? (n * sxy - sx * sy) / (n * sxx - sx * sx) : null;
  const strength = (from: number, groups: number, key: (i: number) => number): number | null => {
    const gs = new Float64Array(groups);
    const gn = new Float64Array(groups);
    let s = 0, ss = 0, c = 0;
    for (let i = Math.max(0, from); i < T; i++) if (!Number.isNaN(y[i])) {
      const g = key(i);
      gs[g] += y[i]; gn[g]++; s += y[i]; ss += y[i] * y[i]; c++;
    }
    if (c < groups * 4) return null;
    const m = s / c;
    const v = ss / c - m * m;
    if (v <= 0) return 0;
    let vb = 0, w = 0;
    for (let g = 0; g < groups; g++) if (gn[g]) {
      vb += gn[g] * (gs[g] / gn[g] - m) ** 2;
      w += gn[g];
    }
    return Math.min(1, vb / w / v);
  };
  const weeklyStrength = strength(T - 364, 7, weekdayOf);
  const yearlyStrength = T >= 365 ? strength(T - 365, 12, monthOf) : null;
  const label = growth28d === null ? 'stable' : growth28d > 0.1 ? 'rising' : growth28d < -0.1 ? 'declining' : 'stable';
  return { growth28d, growthYoy, slope, weeklyStrength, yearlyStrength, label };
}
