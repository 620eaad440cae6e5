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

describe('pooled seasonal model: each series its own strength of the shared year', () => {
  const T2 = 730;
  const H2 = 28;
  // Day of the year of day number d (0 = 1 January).
  const doy = (d: number) => (d - Date.UTC(new Date(d * 864e5).getUTCFullYear(), 0, 1) / 864e5);
  // A summer product: 20 a day times exp(cos(2 pi (doy - 196) / 365.25)): about 54 a day mid-July, 7 mid-January.
  const summer = (d: number) => 20 * Math.exp(Math.cos((2 * Math.PI * (doy(d) - 196)) / 365.25));
  const mean = (f: Float64Array) => f.reduce((s, x) => s + x, 0) / f.length;

  for (const origin of ['2026-06-01', '2026-07-01', '2026-01-10']) {
    test(`a small shop: four flat products do not take the season of the fifth (origin ${origin})`, () => {
      const rng = new Rng(11);
      const s0 = dayNumber(origin) - T2;
      const rates = [summer, ...[0, 1, 2, 3].map(() => () => 10)];
      const series = rates.map((r) => ({ y: Float64Array.from({ length: T2 }, (_, t) => rng.poisson(r(s0 + t))) }));
      const fit = fitPooled(series, [0, 1, 2, 3, 4], { startDay: s0, T: T2, H: H2 });
      // Flat products sell 10 a day whatever the season: within 8 % (the recent level from 56 days of about
      // 10 a day has a standard error near 4 %).
      for (let i = 1; i <= 4; i++) expect(Math.abs(mean(fit.forecast[i]) / 10 - 1)).toBeLessThan(0.08);
      // The summer product keeps its season: within 15 % of its true mean over the horizon in summer, 30 % in
      // the winter trough (its loading scales the shop's shared shape, whose trough the flat products flatten;
      // the shared shape alone was 65 % over there, and 35 % under in June).
      const truth = mean(Float64Array.from({ length: H2 }, (_, h) => summer(s0 + T2 + h)));
      expect(Math.abs(mean(fit.forecast[0]) / truth - 1)).toBeLessThan(origin.endsWith('01-10') ? 0.3 : 0.15);
      expect(fit.loading[0]).toBeGreaterThan(1.5);
      for (let i = 1; i <= 4; i++) expect(Math.abs(fit.loading[i]!)).toBeLessThan(0.3);
    });
  }

  test('a shop whose products share one season: a slow mover still learns it from the others', () => {
    const rng = new Rng(12);
    const origin = '2026-06-15';
    const s0 = dayNumber(origin) - T2;
    const levels = [0.3, 5, 8, 12, 15, 20, 25, 30];
    const series = levels.map((l) => ({ y: Float64Array.from({ length: T2 }, (_, t) => rng.poisson((l / 20) * summer(s0 + t))) }));
    const fit = fitPooled(series, [0], { startDay: s0, T: T2, H: H2 });
    // Alone, 0.3 a day cannot show its season; pooled, its forecast over the next four weeks (the summer peak,
    // about 2.4 times its yearly mean) is within 25 % of the truth, where a flat level would be far below it.
    const truth = mean(Float64Array.from({ length: H2 }, (_, h) => (0.3 / 20) * summer(s0 + T2 + h)));
    expect(Math.abs(mean(fit.forecast[0]) / truth - 1)).toBeLessThan(0.25);
  });
});
