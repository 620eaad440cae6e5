/**
 * A shop whose data begins after the start of the loaded window (sales from 120 days ago in a 730-day window,
 * the days before unknown): the models start their history on the first known day (firstKnownDay), so the
 * window's length cannot switch on terms the data cannot carry.
 */
import { fitPooled } from '../src/ml/pooled.js';
import { fitRegression } from '../src/ml/regression.js';
import { explainRegression } from '../src/ml/regression-explain.js';
import { firstKnownDay } from '../src/ml/models.js';
import { Rng } from '../src/io/random.js';
import { dayNumber, weekday } from '../src/dates.js';

const WEEKLY = [0.8, 0.9, 0.9, 1.0, 1.2, 1.4, 0.8];
const start = dayNumber('2023-07-02');
const WINDOW = 730;
const DATA = 120;
const H = 28;
const LEVELS = [0.3, 0.7, 1, 1.5, 50];

/** Five products selling for the last DATA days of a WINDOW-day history, unknown before. */
function shop(seed: number): Float64Array[] {
  const rng = new Rng(seed);
  return LEVELS.map((l) => Float64Array.from({ length: WINDOW }, (_, t) => (t < WINDOW - DATA ? NaN : rng.poisson(l * WEEKLY[weekday(start + t)]))));
}

test('firstKnownDay: the first day any series is known, T when none is', () => {
  const nan = new Float64Array(10).fill(NaN);
  const late = Float64Array.from({ length: 10 }, (_, t) => (t < 6 ? NaN : 1));
  const early = Float64Array.from({ length: 10 }, (_, t) => (t < 3 ? NaN : 0));
  expect(firstKnownDay([nan, late], 10)).toBe(6);
  expect(firstKnownDay([late, early], 10)).toBe(3);
  expect(firstKnownDay([nan], 10)).toBe(10);
  // Only days before T count.
  expect(firstKnownDay([late], 5)).toBe(5);
});

test('pooled: 120 days of sales in a 730-day window forecast as the same 120 days alone, near each level', () => {
  // The window's 730 days switched on 10 yearly harmonics fitted to 120 known days: forecasts of 1e9 to 1e11 a day.
  const ys = shop(1);
  const padded = fitPooled(ys.map((y) => ({ y })), [0, 1, 2, 3, 4], { startDay: start, T: WINDOW, H });
  const alone = fitPooled(ys.map((y) => ({ y: y.subarray(WINDOW - DATA) })), [0, 1, 2, 3, 4], { startDay: start + WINDOW - DATA, T: DATA, H });
  padded.forecast.forEach((f, i) => {
    expect(Array.from(f)).toEqual(Array.from(alone.forecast[i]));
    const m = f.reduce((a, b) => a + b, 0) / H;
    // Within a factor 2 of the true level (a 0.3/day product has about 36 sales to learn from).
    expect(m).toBeGreaterThan(LEVELS[i] / 2);
    expect(m).toBeLessThan(LEVELS[i] * 2);
  });
});

test('regression: 120 days of sales in a 730-day window forecast as the same 120 days alone; explained to the same numbers', async () => {
  // Before: the 610 unknown days were filled with each series' mean and the window's length chose yearly terms and light changepoints.
  const ys = shop(2);
  const o = { holidays: new Map<number, number>(), nHolidays: 0, H, yearlyOrder: 4, months: true };
  const padded = await fitRegression(ys.map((y) => ({ y, promo: null, logPrice: null, group: 'g' })), { ...o, startDay: start, T: WINDOW });
  const alone = await fitRegression(ys.map((y) => ({ y: y.subarray(WINDOW - DATA), promo: null, logPrice: null, group: 'g' })), { ...o, startDay: start + WINDOW - DATA, T: DATA });
  padded.forecast.forEach((f, i) => {
    // The same fit up to float32 rounding of the batched products (relative 1e-6).
    f.forEach((v, h) => expect(Math.abs(v - alone.forecast[i][h])).toBeLessThanOrEqual(1e-6 * Math.max(1, v)));
    // The explanation reads the design rows of the forecast days at the caller's T.
    const e = explainRegression(padded, i, WINDOW, H, null, null);
    e.forecast.forEach((v, h) => expect(Math.abs(v - f[h])).toBeLessThanOrEqual(1e-6 * Math.max(1, f[h])));
  });
});

test('pooled: one year of data has no yearly profile to share, so a flat product is not given the others\' season', () => {
  // 13 months: two products peak in July, one is flat. A profile learned from one cycle cannot be told from the
  // products' trends, and shared it gave the flat product a +50 % rise into July.
  const rng = new Rng(3);
  const s0 = dayNumber('2024-05-01');
  const T = 396;
  const season = (t: number) => 1 + 0.7 * Math.sin((2 * Math.PI * (t - 109)) / 365);
  const rates = [(t: number) => 10 * season(t), (t: number) => 40 * season(t), () => 10];
  const ys = rates.map((r) => Float64Array.from({ length: T }, (_, t) => rng.poisson(r(t) * WEEKLY[weekday(s0 + t)])));
  const fit = fitPooled(ys.map((y) => ({ y })), [2], { startDay: s0, T, H });
  const m = fit.forecast[0].reduce((a, b) => a + b, 0) / H;
  expect(Math.abs(m / 10 - 1)).toBeLessThan(0.15);
});
