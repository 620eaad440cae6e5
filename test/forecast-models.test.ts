import { adida, imapa, ses, sesFit } from '../src/ml/models.js';
import { autoEts, etsForecast, etsFromStored, etsWithParams, fitEtsForm } from '../src/ml/ets.js';
import { LOCAL } from '../src/ml/forecasters.js';
import { fitTheta, thetaForecast } from '../src/ml/theta.js';
import { groupTargets } from '../src/ml/regression.js';
import { conformalBounds, errorSumQuantile, applyInterval } from '../src/ml/calibrate.js';
import { combine, parseChoice, choiceName } from '../src/ml/select.js';
import { candidatesFor, classify, fallbackFor } from '../src/ml/forecasters.js';
import { withCensoredFloor } from '../src/ml/engine.js';
import { safetyStock } from '../src/inventory/safety-stock.js';

const F = (xs: number[]) => Float64Array.from(xs);
const rep = (xs: number[], n: number) => F(Array.from({ length: n }, (_, i) => xs[i % xs.length]));

describe('level models by hand', () => {
  test('SES: start at the mean of the first 7 known days, then l += alpha (y - l)', () => {
    // 7 x 10 -> level 10; then 20 with alpha 0.5 -> 15; NaN leaves it.
    expect(ses(F([10, 10, 10, 10, 10, 10, 10, 20, NaN]), 2, { alpha: 0.5 })[0]).toBeCloseTo(15, 9);
    // A constant series: every alpha gives zero error; the level is the constant.
    expect(sesFit(rep([4], 30)).level).toBeCloseTo(4, 9);
  });
  test('ADIDA: 3 units every 3rd day -> buckets of 3 days all hold 3 -> 1 per day', () => {
    const y = rep([0, 0, 3], 18);
    expect(Array.from(adida(y, 3))).toEqual([1, 1, 1]);
  });
  test('IMAPA: mean of ADIDA over aggregation levels 1..round(ADI)', () => {
    const y = rep([0, 2], 28); // ADI 2 -> levels 1 and 2
    const expected = (adida(y, 1, { k: 1 })[0] + adida(y, 1, { k: 2 })[0]) / 2;
    expect(imapa(y, 1)[0]).toBeCloseTo(expected, 12);
    // Level 2 sums every pair to 2 -> exactly 1 per day; level 1 smooths 0,2,0,2 around 1.
    expect(adida(y, 1, { k: 2 })[0]).toBeCloseTo(1, 12);
    expect(Math.abs(imapa(y, 1)[0] - 1)).toBeLessThan(0.1);
  });
});

describe('AutoETS', () => {
  const pattern = [2, 4, 6, 8, 10, 12, 0];
  test('an exact additive weekly pattern is reproduced, by a seasonal form chosen by AICc', () => {
    const y = rep(pattern.map((p) => 10 + p), 56);
    const fit = autoEts(y)!;
    expect(fit.season).not.toBe('N');
    const f = etsForecast(fit, 14);
    for (let h = 0; h < 14; h++) expect(f[h]).toBeCloseTo(10 + pattern[(56 + h) % 7], 4);
  });
  test('damped trend: the forecast keeps rising by shrinking steps (phi^h b)', () => {
    const y = F(Array.from({ length: 120 }, (_, t) => 5 + 0.5 * t));
    const fit = fitEtsForm(y, { error: 'A', trend: 'Ad', season: 'N' });
    expect(fit.phi).toBeGreaterThanOrEqual(0.8);
    expect(fit.phi).toBeLessThanOrEqual(0.98);
    const f = etsForecast(fit, 10);
    for (let h = 1; h < 10; h++) {
      expect(f[h]).toBeGreaterThan(f[h - 1]);
      if (h > 1) expect(f[h] - f[h - 1]).toBeLessThan(f[h - 1] - f[h - 2] + 1e-9);
    }
    // Damped: the total rise over 10 days is below the undamped 5 units.
    expect(f[9] - y[119]).toBeLessThan(5);
  });
  test('never negative; multiplicative forms only on positive data', () => {
    const y = F(Array.from({ length: 60 }, (_, t) => Math.max(0, 60 - 2 * t)));
    const fit = autoEts(y)!;
    expect(fit.error).toBe('A');
    expect(fit.season).not.toBe('M');
    for (const v of etsForecast(fit, 30)) expect(v).toBeGreaterThanOrEqual(0);
  });
});

test('AutoETS from its stored form and parameters (predict) forecasts what training fitted', () => {
  const y = F(Array.from({ length: 200 }, (_, t) => 20 + 5 * Math.sin((2 * Math.PI * t) / 7) + (t % 5)));
  const trained = LOCAL.ets(y, 14);
  const fit = etsFromStored(trained.params)!;
  expect(fit).not.toBeNull();
  const f = etsForecast(etsWithParams(y, fit), 14);
  // Parameters are stored to 4 decimals: the same forecast within 0.5 %.
  for (let h = 0; h < 14; h++) expect(Math.abs(f[h] - trained.f[h])).toBeLessThan(0.005 * trained.f[h]);
  expect(etsFromStored({ form: 'nonsense' })).toBeNull();
});

describe('optimised Theta', () => {
  test('a flat level times a weekly pattern: indices exact, trend 0, forecast = level x index', () => {
    const s = [0.5, 1, 1, 1, 1, 1.5, 1];
    const y = rep(s.map((v) => 10 * v), 70);
    const fit = fitTheta(y);
    expect(fit.multiplicative).toBe(true);
    expect(fit.b0).toBeCloseTo(0, 9);
    const f = thetaForecast(fit, 7);
    for (let h = 0; h < 7; h++) expect(f[h]).toBeCloseTo(10 * s[(70 + h) % 7], 6);
  });
  test('a straight line: the theta line carries the OLS slope b0 = 1 per day', () => {
    const y = F(Array.from({ length: 100 }, (_, t) => 10 + t));
    const fit = fitTheta(y);
    expect(fit.b0).toBeCloseTo(1, 9);
    const f = thetaForecast(fit, 5);
    for (let h = 1; h < 5; h++) expect(f[h] - f[h - 1]).toBeCloseTo((1 - 1 / fit.theta) * 1 * (fit.season[(100 + h) % 7] ?? 1), 1);
  });
});

describe('classes, candidates and fallbacks', () => {
  test('intermittent and short series never get seasonal naive; the fallback is a level model', () => {
    expect(candidatesFor('intermittent')).not.toContain('snaive');
    expect(candidatesFor('short')).not.toContain('snaive');
    const sparse = rep([0, 0, 0, 0, 3, 0, 0], 200);
    expect(classify(sparse, 56)).toBe('intermittent');
    expect(fallbackFor(sparse)).toBe('tsb');
    expect(fallbackFor(rep([5, 6, 7], 100))).toBe('ses');
    expect(fallbackFor(F([1, 2, 3]))).toBe('ma28');
  });
  test('choices round-trip through their stored names; median and mean combinations', () => {
    for (const n of ['ets', 'ensemble(regression+ets)', 'median(ets+theta+tsb)']) expect(choiceName(parseChoice(n))).toBe(n);
    expect(parseChoice('fallback:ses')).toEqual({ algos: ['ses'], combine: 'single' });
    expect(Array.from(combine([F([1, 10]), F([2, 0]), F([9, 5])], 'median'))).toEqual([2, 5]);
    expect(Array.from(combine([F([1, 10]), F([3, 0])], 'mean'))).toEqual([2, 5]);
  });
});

describe('censored days', () => {
  test('demand on a stock-out day is at least what sold, and at least a usual day', () => {
    const y = F([2, 2, NaN, NaN, NaN]);
    const out = withCensoredFloor(y, F([0, 0, 5, 1, 0]));
    // Day 3: max(5 sold, mean of the known days before, 2) = 5. Day 4: max(1, 2) = 2. Day 5: nothing sold, unknown.
    expect(out[2]).toBe(5);
    expect(out[3]).toBe(2);
    expect(Number.isNaN(out[4])).toBe(true);
  });
});

describe('conformal intervals and quantiles', () => {
  test('two-sided conformal order statistics: n = 19 at 80 % -> the 2nd and 18th smallest', () => {
    const sorted = F(Array.from({ length: 19 }, (_, i) => i + 1));
    expect(conformalBounds(sorted, 0.8)).toEqual([2, 18]);
    // 95 %: floor(20 x 0.025) = 0 -> clamped to the 1st; ceil(20 x 0.975) = 20 -> clamped to the 19th.
    expect(conformalBounds(sorted, 0.95)).toEqual([1, 19]);
  });
  test('bounds per horizon week, never below zero', () => {
    const { lo, hi } = applyInterval(F(Array(15).fill(2)), { lo: [-1, -3], hi: [1, 4], error_lo: -1, error_hi: 1 });
    expect(Array.from(lo)).toEqual([...Array(7).fill(1), ...Array(8).fill(0)]);
    expect(Array.from(hi)).toEqual([...Array(7).fill(3), ...Array(8).fill(6)]);
  });
  test('error sums over d days skip censored days and scale by d / known days', () => {
    // Stretches of 2: [1, null] -> 2, [null, 3] -> 6, [3, 5] -> 8; the median (q 0.5: ceil(4 x 0.5) = 2nd) is 6.
    expect(errorSumQuantile([[1, null, 3, 5]], 2, 0.5)).toEqual({ value: 6, windows: 3 });
  });
  test('safety stock reads the same error sums: a censored day does not count as a zero error', () => {
    const runs = [Array.from({ length: 28 }, (_, t) => (t % 2 ? 2 : null))];
    const s = safetyStock({ errorRuns: runs, leadTimeDays: 2, reviewDays: 0, leadTimeSdDays: 0, meanDailyDemand: 5, serviceLevel: 0.9 });
    // Every 2-day stretch holds one known error of 2 -> sum scaled to 4.
    expect(s.method).toBe('empirical');
    expect(s.units).toBeCloseTo(4, 9);
  });
});

describe('level combination (levels)', () => {
  test('hand-worked: a constant rate is forecast as that rate; a sale of 6 every 4th day as about 1.5 a day', async () => {
    const { LOCAL } = await import('../src/ml/forecasters.js');
    // Constant 3: SES, TSB (occurrence 1 x size 3) and IMAPA all give 3.
    const flat = LOCAL.levels(new Float64Array(60).fill(3), 5).f;
    flat.forEach((v) => expect(v).toBeCloseTo(3, 6));
    // 0, 0, 0, 6 repeated: TSB gives 0.25 x 6 = 1.5 exactly, IMAPA's 4-day buckets 6 / 4 = 1.5; SES and IMAPA's
    // finer levels swing around 1.5 with the phase of the last sale, so the mean is near 1.5 but not exact.
    const y = Float64Array.from({ length: 120 }, (_, t) => (t % 4 === 3 ? 6 : 0));
    const f = LOCAL.levels(y, 7).f;
    expect(new Set(Array.from(f)).size).toBe(1);
    expect(Math.abs(f[0] / 1.5 - 1)).toBeLessThan(0.15);
  });
});

describe('regression pooling, second level: group means shrunk towards the mean over groups', () => {
  const b = (...v: number[]) => v.map((x) => Float64Array.of(x));
  test('hand-worked: a noisy group mean moves towards the shop mean, exact ones stay', () => {
    // Groups {1, 3}, {2, 2}, {5, 5}: means 2, 2, 5; noise of the means 2/2 = 1, 0, 0; M = 3, var of the means 3,
    // tau_B^2 = 3 - 1/3 = 8/3; the first group: lam = 1 / (1 + 8/3) = 3/11, target = 3/11 * 3 + 8/11 * 2 = 25/11.
    const t = groupTargets([[0, 1], [2, 3], [4, 5]], [0], b(1, 3, 2, 2, 5, 5));
    expect(t[0].get(0)).toBeCloseTo(25 / 11, 12);
    expect(t[1].get(0)).toBeCloseTo(2, 12);
    expect(t[2].get(0)).toBeCloseTo(5, 12);
  });
  test('groups whose means differ by no more than their noise share one target', () => {
    // Means 2, 3, 4, each with noise 8 / 2 = 4 > their variance 1: tau_B^2 ~ 0, every target ~ M = 3.
    const t = groupTargets([[0, 1], [2, 3], [4, 5]], [0], b(0, 4, 1, 5, 2, 6));
    for (const g of t) expect(g.get(0)).toBeCloseTo(3, 6);
  });
  test('with fewer than 3 groups the target is the group mean', () => {
    const t = groupTargets([[0, 1], [2, 3]], [0], b(0, 4, 10, 20));
    expect(t[0].get(0)).toBe(2);
    expect(t[1].get(0)).toBe(15);
  });
});
