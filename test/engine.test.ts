import { fitRegression } from '../src/ml/regression.js';
import { forecastMany, forecastWith, crossValidationWindows, forecastDetailed } from '../src/ml/engine.js';
import { backtest, originView } from '../src/ml/backtest.js';
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

describe('cross-validation windows and the backtest', () => {
  test('recent windows end at the history end, the latest one held out; seasonal ones a year back on long histories', () => {
    expect(crossValidationWindows(200, 28, { recent: 3 })).toEqual([
      { trainEnd: 116, testEnd: 144, kind: 'recent', role: 'select' },
      { trainEnd: 144, testEnd: 172, kind: 'recent', role: 'select' },
      { trainEnd: 172, testEnd: 200, kind: 'recent', role: 'holdout' },
    ]);
    const long = crossValidationWindows(800, 28, { recent: 3 });
    // 52, 39 and 26 weeks back: the first covers the same weeks as the forecast, a year earlier.
    expect(long.filter((w) => w.kind === 'seasonal').map((w) => w.trainEnd)).toEqual([800 - 364, 800 - 273, 800 - 182]);
    expect(long.filter((w) => w.role === 'holdout')).toEqual([{ trainEnd: 772, testEnd: 800, kind: 'recent', role: 'holdout' }]);
  });
  test('the backtest never sees data at or after its origin: rewriting every later row leaves its forecasts unchanged', async () => {
    const T = 420;
    const series = synth(6, T, 3, [1, 1, 1, 1, 1, 1.5, 0.5]).map((s, i) => ({
      ...s,
      id: String(i),
      logPrice: Float32Array.from({ length: T + 28 }, (_, t) => (t % 90 < 10 ? -0.2 : 0)),
      planned: Uint8Array.from({ length: T + 28 }, (_, t) => (t >= 330 && t < 337 ? 1 : 0)),
    }));
    const o = { startDay: start, horizon: 28, holidays: new Map(), nHolidays: 0 };
    const windows = crossValidationWindows(T, 28, { recent: 3 });
    const cands = series.map(() => ['regression', 'pooled', 'ets', 'theta', 'tsb', 'ses', 'imapa', 'snaive'] as const).map((c) => [...c]);
    const a = await backtest(series, windows, cands, o);
    for (const [wi, w] of windows.entries()) {
      const changed = series.map((s) => {
        const y = Float64Array.from(s.y);
        const promo = Float64Array.from(s.promo);
        const logPrice = Float32Array.from(s.logPrice);
        for (let t = w.trainEnd; t < y.length; t++) y[t] = 1000 + t;
        for (let t = w.trainEnd; t < promo.length; t++) {
          promo[t] = 1 - promo[t];
          logPrice[t] = 3;
        }
        return { ...s, y, promo, logPrice };
      });
      const b = await backtest(changed, windows, cands, o);
      series.forEach((_, i) => {
        for (const alg of cands[i]) expect(Array.from(b[i].get(alg)![wi]!)).toEqual(Array.from(a[i].get(alg)![wi]!));
      });
    }
  });
  test('after the origin a backtest knows planned promotions and the last regular price, not the actual ones', () => {
    const promo = Uint8Array.from([0, 1, 0, 0, 1, 1]);
    const planned = Uint8Array.from([0, 1, 0, 1, 0, 0]);
    const logPrice = Float32Array.from([0, -0.5, 0.1, 0.2, -0.6, 0.3]);
    const v = originView({ id: 'x', y: Float64Array.from([1, 2, 3, 4, 5, 6]), promo, planned, logPrice, group: 'g' }, 3, 3);
    expect(Array.from(v.y)).toEqual([1, 2, 3]);
    expect(Array.from(v.promo!)).toEqual([0, 1, 0, 1, 0, 0]);
    // Last non-promotion price before day 3 is day 2's (0.1), carried over the window.
    expect(Array.from(v.logPrice!).map((x) => Math.round(x * 10) / 10)).toEqual([0, -0.5, 0.1, 0.1, 0.1, 0.1]);
  });
  test('forecastWith fits only on the first T days', async () => {
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

describe('per-series isolation', () => {
  test('a series with a quantity of 1e308 is skipped and named; the others are forecast', async () => {
    const series = synth(4, 200, 5, [1, 1, 1, 1, 1, 1, 1]).map((s, i) => ({ ...s, id: `s${i}` }));
    const bad = Float64Array.from(series[2].y);
    bad[150] = 1e308;
    series[2] = { ...series[2], y: bad };
    const r = await forecastDetailed(series, series.map(() => ['ets'] as ['ets']), 28, { startDay: start, horizon: 28, holidays: new Map(), nHolidays: 0 });
    expect(r.forecasts[2]).toBeNull();
    expect(r.problems).toEqual([{ index: 2, problem: expect.stringMatching(/1e\+308/) }]);
    for (const i of [0, 1, 3]) for (const v of r.forecasts[i]!) expect(Number.isFinite(v)).toBe(true);
    const many = await forecastMany(series, { startDay: start, horizon: 28, holidays: new Map(), nHolidays: 0 });
    expect(many[2].skipped).toBe(true);
    expect(many.filter((m) => !m.skipped)).toHaveLength(3);
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
      expect(r.metrics).toHaveProperty('tsb');
      // Never seasonal naive on intermittent data: not even a candidate.
      expect(r.algorithm).not.toMatch(/snaive/);
      expect(r.metrics).not.toHaveProperty('snaive');
    }
    // Not biased: over the 8 series the mean forecast rate is within 25 % of the true mean rate (0.12 x 2 = 0.24 per day).
    const inter = out.filter((x) => x.id.startsWith('i'));
    const rate = inter.reduce((a, r) => a + r.forecast.reduce((p, q) => p + q, 0) / r.forecast.length, 0) / inter.length;
    expect(rate).toBeGreaterThan(0.24 * 0.75);
    expect(rate).toBeLessThan(0.24 * 1.25);
    const s = out.find((x) => x.id === 'short')!;
    expect(s.fallback).toBe(true);
    expect(s.algorithm).toMatch(/^fallback:/);
    expect(out[0].reason).toMatch(/lowest trimmed mean backtest RMSSE over 2 windows x 28 days/);
    expect(s.algorithm).not.toMatch(/snaive/);
    for (const r of out.filter((x) => /^s\d/.test(x.id))) {
      expect(r.kind).toBe('smooth');
      expect(r.chosenRmsse).toBeLessThanOrEqual(r.metrics.snaive.trimmed);
    }
  });
});

describe('selection that sees seasons', () => {
  test('a yearly swing invisible to the last 84 days makes selection choose a model with a yearly season', async () => {
    const rng = new Rng(21);
    const T = 800;
    const series = Array.from({ length: 6 }, (_, i) => {
      const y = new Float64Array(T);
      // An autumn rise: demand triples for ~60 days each year, starting 20 days after the history ends (a year earlier, inside a seasonal window).
      for (let t = 0; t < T; t++) {
        const d = (t - (T + 20 - 365 * 3) + 365 * 10) % 365;
        y[t] = rng.poisson(d < 60 ? 30 : 10);
      }
      return { id: `y${i}`, y, promo: null, logPrice: null, group: 'g' };
    });
    const out = await forecastMany(series, { startDay: start, horizon: 56, holidays: new Map(), nHolidays: 0 });
    for (const r of out) {
      expect(r.reason).toMatch(/a season back/);
      expect(r.algorithm).toMatch(/regression/);
      // The rise is in the forecast: days 21-56 well above days 1-14.
      const early = r.forecast.subarray(0, 14).reduce((a, b) => a + b, 0) / 14;
      const late = r.forecast.subarray(28, 56).reduce((a, b) => a + b, 0) / 28;
      expect(late).toBeGreaterThan(early * 1.5);
    }
  });
});

describe('regression trend pooled across the group', () => {
  test('series that share a bend of the trend follow it even when each alone is too noisy to see it', async () => {
    // 12 series of one category, two years: demand grows 40 %/year, then from day 520 falls 30 %/year; Poisson
    // noise at about 4 units/day. The truth over the next 28 days is known; each series' forecast total is
    // compared with it. Pooled trend: the bend, estimated from all 12, reaches every forecast.
    const T = 730;
    const H = 28;
    const rng = new Rng(21);
    const logMu = (t: number) => Math.log(4) + (0.4 * Math.min(t, 520) - 0.3 * Math.max(0, t - 520)) / 365;
    const series = Array.from({ length: 12 }, () => {
      const y = new Float64Array(T);
      for (let t = 0; t < T; t++) y[t] = rng.poisson(Math.exp(logMu(t)));
      return { y, promo: null, logPrice: null, group: 'g' };
    });
    let truth = 0;
    for (let t = T; t < T + H; t++) truth += Math.exp(logMu(t));
    const errOf = (fit: { forecast: Float64Array[] }) => fit.forecast.reduce((a, f) => a + Math.abs(f.reduce((x, v) => x + v, 0) / truth - 1), 0) / fit.forecast.length;
    // The test of the pooling alone: without the step check (relevelSteps), which re-levels one of these series,
    // whose last six weeks happen to sell 30 % under its six weeks before (4 standard deviations of their Poisson noise).
    const pooled = await fitRegression(series, { startDay: start, T, H, holidays: new Map(), nHolidays: 0, stepCheck: false });
    const alone = await fitRegression(series, { startDay: start, T, H, holidays: new Map(), nHolidays: 0, pool: false, stepCheck: false });
    expect(errOf(pooled)).toBeLessThan(0.1);
    expect(errOf(pooled)).toBeLessThan(0.7 * errOf(alone));
  });
});
