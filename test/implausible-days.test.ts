/**
 * Days of implausible demand (engine.ts, OUTLIER_FACTOR): more than ten times the 95th percentile of a series'
 * sale days are left out of the fits and scores, and said; seasons, promotions and lumpy slow movers are not.
 */
import { forecastMany, implausibleDays, OUTLIER_FACTOR } from '../src/ml/engine.js';
import { Rng } from '../src/io/random.js';
import { dayNumber, weekday } from '../src/dates.js';

const WEEKLY = [0.8, 0.9, 0.9, 1.0, 1.2, 1.4, 0.8];
const start = dayNumber('2025-01-01');

function poissonSeries(seed: number, n: number, rate: (t: number) => number): Float64Array {
  const rng = new Rng(seed);
  return Float64Array.from({ length: n }, (_, t) => rng.poisson(rate(t) * WEEKLY[weekday(start + t)]));
}

test('a 1000 in a 10-a-day series is implausible; a fivefold December and a lumpy slow mover are not', () => {
  const y = poissonSeries(1, 180, () => 10);
  y[170] = 1000;
  expect(implausibleDays(y)).toEqual([170]);
  // A fivefold season peak over two weeks: a season, not a data error.
  const peak = poissonSeries(2, 365, (t) => (t >= 340 && t < 354 ? 50 : 10));
  expect(implausibleDays(peak)).toEqual([]);
  // A slow mover selling 1 to 20 units on one day in ten (lumpy sizes are its nature).
  const rng = new Rng(3);
  const lumpy = Float64Array.from({ length: 365 }, () => (rng.uniform(0, 1) < 0.1 ? 1 + Math.floor(rng.uniform(0, 20)) : 0));
  expect(implausibleDays(lumpy)).toEqual([]);
  // Under 20 days with a sale nothing is judged: what is usual for the product is not known.
  const few = new Float64Array(100);
  for (let t = 0; t < 18; t++) few[5 * t] = 2;
  few[99] = 500;
  expect(implausibleDays(few)).toEqual([]);
  // Just above and just below the factor (95th percentile of the sale days: 3 here).
  const edge = Float64Array.from({ length: 60 }, (_, t) => (t % 2 ? 3 : 2));
  edge[59] = OUTLIER_FACTOR * 3 + 1;
  expect(implausibleDays(edge)).toEqual([59]);
  edge[59] = OUTLIER_FACTOR * 3;
  expect(implausibleDays(edge)).toEqual([]);
});

test('one day of 1000 three days before the end does not move the forecast of a 10-a-day product; the reason says which day', async () => {
  // Fitted, the day tripled the month's forecast (30.6 a day).
  const n = 178;
  const y = poissonSeries(4, n, () => 10);
  const z = Float64Array.from(y);
  z[n - 3] = 1000;
  const others = [5, 6, 7].map((s) => ({ id: `o${s}`, y: poissonSeries(s, n, () => 6), promo: null, logPrice: null, group: 'g' }));
  const o = { startDay: start, horizon: 28, holidays: new Map<number, number>(), nHolidays: 0, interval: 0.8 };
  const [clean] = await forecastMany([{ id: 'a', y, promo: null, logPrice: null, group: 'g' }, ...others], o);
  const [spiked] = await forecastMany([{ id: 'a', y: z, promo: null, logPrice: null, group: 'g' }, ...others], o);
  const mean = (f: Float64Array) => f.reduce((a, b) => a + b, 0) / f.length;
  expect(Math.abs(mean(spiked.forecast) / 10 - 1)).toBeLessThan(0.15);
  // Within 10 % of the forecast without the day (the day is unknown, not a zero: the models refit without it).
  expect(Math.abs(mean(spiked.forecast) / mean(clean.forecast) - 1)).toBeLessThan(0.1);
  expect(spiked.outliers).toBe(1);
  expect(spiked.reason).toMatch(/1 day\(s\) of implausible demand left out \(2025-06-25: 1000\)/);
  expect(clean.outliers).toBe(0);
});
