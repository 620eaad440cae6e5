import { fitPooled } from '../src/ml/pooled.js';
import { Rng } from '../src/io/random.js';
import { dayNumber, weekday } from '../src/dates.js';

const start = dayNumber('2024-01-01');
// Monday .. Sunday, mean 1.
const WEEKLY = [0.7, 0.8, 0.9, 1.0, 1.2, 1.6, 0.8];
const T = 200;
const H = 14;

describe('pooled seasonal model', () => {
  test('hand-worked: constant levels times one shared weekday pattern are forecast exactly', () => {
    // y_it = level_i x WEEKLY[weekday]: the Poisson fit is exact (no trend, no yearly swing), and the recent
    // level equals the fitted one, so forecast_i(T + h) = level_i x WEEKLY[weekday(T + h)].
    const levels = [2, 10, 40];
    const series = levels.map((l) => ({ y: Float64Array.from({ length: T }, (_, t) => l * WEEKLY[weekday(start + t)]) }));
    const fit = fitPooled(series, [0, 1, 2], { startDay: start, T, H });
    fit.weekly.forEach((w, d) => expect(w).toBeCloseTo(WEEKLY[d], 3));
    levels.forEach((l, i) => {
      // Within 0.1 %: the fit stops at a 1e-4 step on the log scale, and the weak growth prior pulls by less.
      for (let h = 0; h < H; h++) expect(Math.abs(fit.forecast[i][h] / (l * WEEKLY[weekday(start + T + h)]) - 1)).toBeLessThan(1e-3);
    });
  });

  test('a slow mover learns the weekday shape from the others', () => {
    // One series sells about 0.5 a day: alone, its weekday shape is noise; pooled, its forecast follows WEEKLY.
    const rng = new Rng(5);
    const levels = [0.5, 30, 30, 30, 30];
    const series = levels.map((l) => ({ y: Float64Array.from({ length: T }, (_, t) => rng.poisson(l * WEEKLY[weekday(start + t)])) }));
    const fit = fitPooled(series, [0], { startDay: start, T, H });
    const f = fit.forecast[0];
    const sat = f.findIndex((_, h) => weekday(start + T + h) === 5);
    const mon = f.findIndex((_, h) => weekday(start + T + h) === 0);
    // Within 5 %: the shared shape comes from 120 units a day over 200 days.
    expect(Math.abs(f[sat] / f[mon] / (1.6 / 0.7) - 1)).toBeLessThan(0.05);
  });

  test('never reads days at or after T; unknown days are skipped', () => {
    const rng = new Rng(9);
    const series = [8, 20, 3].map((l) => ({ y: Float64Array.from({ length: T + H }, (_, t) => (t % 17 === 3 ? NaN : rng.poisson(l * WEEKLY[weekday(start + t)]))) }));
    const a = fitPooled(series, [0, 1, 2], { startDay: start, T, H });
    const changed = series.map((s) => ({ y: Float64Array.from(s.y, (v, t) => (t >= T ? 1000 + t : v)) }));
    const b = fitPooled(changed, [0, 1, 2], { startDay: start, T, H });
    expect(b.forecast.map((f) => Array.from(f))).toEqual(a.forecast.map((f) => Array.from(f)));
    a.forecast.forEach((f) => f.forEach((v) => expect(Number.isFinite(v) && v >= 0).toBe(true)));
  });

  test('a series with no demand in the window is forecast zero', () => {
    const series = [{ y: new Float64Array(T) }, { y: Float64Array.from({ length: T }, (_, t) => 5 * WEEKLY[weekday(start + t)]) }];
    const fit = fitPooled(series, [0], { startDay: start, T, H });
    expect(Array.from(fit.forecast[0])).toEqual(new Array(H).fill(0));
  });
});
