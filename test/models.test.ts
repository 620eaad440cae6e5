import { crostonClassic, dampedHoltWinters, movingAverage, sba, seasonalNaive, tsb, adi } from '../src/ml/models.js';
import { naiveScale, score } from '../src/ml/metrics.js';

const F = (xs: number[]) => Float64Array.from(xs);

describe('models on hand-worked cases', () => {
  test('seasonal naive repeats the last week, skipping unknown days', () => {
    const y = F([1, 2, 3, 4, 5, 6, 7, 10, 20, 30, 40, 50, 60, NaN]);
    expect(Array.from(seasonalNaive(y, 9))).toEqual([10, 20, 30, 40, 50, 60, 7, 10, 20]);
  });
  test('moving average of the last known days', () => {
    expect(Array.from(movingAverage(F([100, 1, 2, NaN, 3]), 2, { window: 3 }))).toEqual([2, 2]);
  });
  test('Croston: z/p; SBA: x (1 - alpha/2); TSB decays after demand stops (start values: means over the first demands)', () => {
    // Demand 4 every 2 days: z = 4, p = 2 -> 2 per day.
    const y = F([0, 4, 0, 4, 0, 4, 0, 4]);
    expect(crostonClassic(y, 1, { alpha: 0.1 })[0]).toBeCloseTo(2, 6);
    expect(sba(y, 1, { alpha: 0.1 })[0]).toBeCloseTo(2 * 0.95, 6);
    const stopped = F([4, 4, 4, 4, 0, 0, 0, 0, 0, 0]);
    const t = tsb(stopped, 1, { alpha: 0.1, beta: 0.5 })[0];
    // Start: 4 demands over 10 known days -> prob 0.4, size 4. Then 3 demands (beta 0.5): 0.7, 0.85, 0.925; then 6 zeros: x 0.5^6.
    expect(t).toBeCloseTo(4 * 0.925 * Math.pow(0.5, 6), 6);
    expect(crostonClassic(F([0, 0, 0]), 2)[0]).toBe(0);
    expect(adi(F([0, 4, 0, 4]))).toBe(2);
  });
  test('Holt-Winters on a constant series forecasts the constant; never negative', () => {
    const y = F(Array(60).fill(5));
    for (const v of dampedHoltWinters(y, 10)) expect(v).toBeCloseTo(5, 6);
    const falling = F(Array.from({ length: 60 }, (_, i) => Math.max(0, 60 - 2 * i)));
    for (const v of dampedHoltWinters(falling, 30, { alpha: 0.5, beta: 0.5, gamma: 0.1, phi: 1 })) expect(v).toBeGreaterThanOrEqual(0);
  });
});

describe('metrics', () => {
  test('RMSSE and MASE by hand', () => {
    const train = F([1, 3, 1, 3]); // naive diffs 2,2,2 -> scale 2 (both)
    const s = score(F([2, 4]), F([3, 3]), train); // errors 1,-1
    expect(s.rmse).toBeCloseTo(1);
    expect(s.rmsse).toBeCloseTo(0.5);
    expect(s.mase).toBeCloseTo(0.5);
    expect(s.wape).toBeCloseTo(2 / 6);
    expect(s.mape).toBeCloseTo(((1 / 2 + 1 / 4) / 2) * 100);
    expect(s.bias).toBeCloseTo(0);
  });
  test('MAPE is undefined on zero-sales days and censored days are skipped', () => {
    const s = score(F([0, NaN, 2]), F([1, 100, 2]));
    expect(s.n).toBe(2);
    expect(s.mape).toBe(0);
    expect(naiveScale(F([NaN, 1, NaN, 3]), true)).toBe(2);
  });
});
