import { fitRegression } from '../src/ml/regression.js';
import { forecastMany, forecastWith, rollingOrigins } from '../src/ml/engine.js';
import { initBackend } from '../src/ml/backend.js';
import { Rng } from '../src/io/random.js';
import { dayNumber, weekday } from '../src/dates.js';

beforeAll(async () => {
  await initBackend();
});

const start = dayNumber('2024-01-01');

function synth(n: number, T: number, seed: number, weekly: number[], promoLift = 1.5) {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const level = rng.uniform(10, 40);
    const promo = new Float64Array(T + 28);
    for (let s = 20; s < T + 28; s += 60) for (let k = 0; k < 7; k++) if (s + k < T + 28) promo[s + k] = 1;
    const y = new Float64Array(T);
    for (let t = 0; t < T; t++) y[t] = rng.poisson(level * weekly[weekday(start + t)] * (promo[t] ? promoLift : 1));
    return { y, promo, logPrice: null, group: 'g', level };
  });
}

describe('batched regression', () => {
  const weekly = [0.8, 0.9, 0.9, 1.0, 1.1, 1.4, 0.9];
  test('recovers the weekly profile and the promotion uplift', async () => {
    const T = 500;
    const series = synth(30, T, 1, weekly);
    const fit = await fitRegression(series, { startDay: start, T, H: 28, holidays: new Map(), nHolidays: 0 });
    const truth = weekly.map((w) => Math.log(w));
    const mt = truth.reduce((a, b) => a + b, 0) / 7;
    for (let d = 0; d < 7; d++) {
      const mean = fit.weekly.reduce((a, w) => a + w[d], 0) / fit.weekly.length;
      // log1p of counts around 10-40 flattens ratios slightly: within 0.06 on the log scale.
      expect(Math.abs(mean - (truth[d] - mt))).toBeLessThan(0.06);
    }
    const lift = Math.exp(fit.promoEffect.reduce((a, b) => a + b, 0) / fit.promoEffect.length);
    expect(Math.abs(lift - 1.5)).toBeLessThan(0.1);
    for (const f of fit.forecast) for (const v of f) expect(v).toBeGreaterThanOrEqual(0);
  });
  test('unknown days (stock-outs) are not learned as zero demand', async () => {
    const T = 400;
    const clean = synth(10, T, 2, weekly);
    const censored = clean.map((s) => {
      const y = Float64Array.from(s.y);
      for (let t = T - 60; t < T - 30; t++) y[t] = NaN;
      return { ...s, y };
    });
    const zeroed = clean.map((s) => {
      const y = Float64Array.from(s.y);
      for (let t = T - 60; t < T - 30; t++) y[t] = 0;
      return { ...s, y };
    });
    const o = { startDay: start, T, H: 28, holidays: new Map(), nHolidays: 0 };
    const [a, b, c] = await Promise.all([fitRegression(clean, o), fitRegression(censored, o), fitRegression(zeroed, o)]);
    const mean = (f: Float64Array[]) => f.reduce((s, x) => s + x.reduce((p, q) => p + q, 0), 0);
    expect(Math.abs(mean(b.forecast) / mean(a.forecast) - 1)).toBeLessThan(0.05);
    expect(mean(c.forecast) / mean(a.forecast)).toBeLessThan(0.9);
  });
});

describe('backtest splitter', () => {
  test('origins are consecutive 28-day windows ending at the history end', () => {
    expect(rollingOrigins(200, 3, 28)).toEqual([
      { trainEnd: 116, testEnd: 144 },
      { trainEnd: 144, testEnd: 172 },
      { trainEnd: 172, testEnd: 200 },
    ]);
    expect(rollingOrigins(100, 3, 28)).toEqual([{ trainEnd: 72, testEnd: 100 }]);
  });
  test('no future data leaks into a fit: changing days after the origin does not change its forecast', async () => {
    const T = 300;
    const series = synth(6, T, 3, [1, 1, 1, 1, 1, 1.5, 0.5]).map((s, i) => ({ ...s, id: String(i) }));
    const algos = series.map((_, i) => (i % 2 ? ['regression'] : ['ets']) as ('regression' | 'ets')[]);
    const o = { startDay: start, horizon: 28, holidays: new Map(), nHolidays: 0 };
    const a = await forecastWith(series, algos, 28, o, 200);
    const changed = series.map((s) => {
      const y = Float64Array.from(s.y);
      for (let t = 200; t < T; t++) y[t] = 1000;
      return { ...s, y };
    });
    const b = await forecastWith(changed, algos, 28, o, 200);
    a.forEach((f, i) => expect(Array.from(b[i])).toEqual(Array.from(f)));
  });
});

describe('model choice', () => {
  test('intermittent series go to an intermittent model; forecasts never negative; choice and reason recorded', async () => {
    const rng = new Rng(9);
    const T = 400;
    const smooth = synth(8, T, 4, [0.9, 0.9, 1, 1, 1.1, 1.3, 0.8]).map((s, i) => ({ ...s, id: `s${i}` }));
    const slow = Array.from({ length: 8 }, (_, i) => {
      const y = new Float64Array(T);
      for (let t = 0; t < T; t++) y[t] = rng.next() < 0.12 ? 1 + rng.poisson(1) : 0;
      return { id: `i${i}`, y, promo: null, logPrice: null, group: 'slow' };
    });
    const short = { id: 'short', y: Float64Array.from({ length: T }, (_, t) => (t < T - 40 ? NaN : 3)), promo: null, logPrice: null, group: 'g' };
    const out = await forecastMany([...smooth, ...slow, short], { startDay: start, horizon: 28, holidays: new Map(), nHolidays: 0 });
    for (const r of out) for (const v of r.forecast) expect(v).toBeGreaterThanOrEqual(0);
    for (const r of out.filter((x) => x.id.startsWith('i'))) {
      expect(r.kind).toBe('intermittent');
      expect(r.metrics).toHaveProperty('sba');
      // Not wildly biased: the forecast rate is within 50 % of the true mean rate (0.12 x 2 = 0.24 per day).
      const rate = r.forecast.reduce((a, b) => a + b, 0) / r.forecast.length;
      expect(rate).toBeGreaterThan(0.12);
      expect(rate).toBeLessThan(0.36);
    }
    const s = out.find((x) => x.id === 'short')!;
    expect(s.fallback).toBe(true);
    expect(s.algorithm).toMatch(/^fallback:/);
    expect(out[0].reason).toMatch(/lowest mean backtest RMSSE over 3 origins x 28 days/);
    for (const r of out.filter((x) => /^s\d/.test(x.id))) {
      expect(r.kind).toBe('smooth');
      expect(r.chosenRmsse).toBeLessThanOrEqual(r.metrics.snaive.rmsse);
    }
  });
});
