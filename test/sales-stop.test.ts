/**
 * A series that stopped selling (src/ml/zero-runs.ts, salesStop): its days
 * before the stop are not fitted, its forecast follows the days since, and
 * train and predict say so with the two fixes. Slow movers, short pauses and
 * products that paused as long before and came back are not stops.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { forecastMany } from '../src/ml/engine.js';
import { endedZeroRuns, RATE_DAYS, salesStop, STOP_MIN_DAYS, ZERO_RUN_PROBABILITY } from '../src/ml/zero-runs.js';
import { Rng } from '../src/io/random.js';
import { addDays, dayNumber, weekday } from '../src/dates.js';
import { importCsv } from '../src/io/import.js';
import { predictJob, trainJob } from '../src/jobs/forecasting.js';
import type { JobContext } from '../src/jobs/types.js';
import type { Db } from '../src/db/connection.js';
import { jobCtx, newDb, tempDir } from './helpers.js';

const WEEKLY = [0.8, 0.9, 0.9, 1.0, 1.2, 1.4, 0.8];
const start = dayNumber('2025-01-01');

function poissonSeries(seed: number, n: number, rate: (t: number) => number): Float64Array {
  const rng = new Rng(seed);
  return Float64Array.from({ length: n }, (_, t) => rng.poisson(rate(t) * WEEKLY[weekday(start + t)]));
}

test('the rule on hand-worked cases', () => {
  // 8 a day, then 20 days of zeros: exp(-8 x 20) is far below 1e-4.
  const dead = Float64Array.from({ length: 120 }, (_, t) => (t < 100 ? 8 : 0));
  expect(salesStop(dead)).toEqual({ start: 100, zeros: 20, rate: 8, kind: 'stop' });
  // Unknown days inside the run are not zero days: 20 zeros and 5 unknown days.
  const gappy = Float64Array.from({ length: 125 }, (_, t) => (t < 100 ? 8 : t < 105 ? NaN : 0));
  expect(salesStop(gappy)).toEqual({ start: 100, zeros: 20, rate: 8, kind: 'stop' });
  // Under two weeks of zeros is never a stop, however fast the product sold.
  const pause = Float64Array.from({ length: 113 }, (_, t) => (t < 100 ? 30 : 0));
  expect(STOP_MIN_DAYS).toBe(14);
  expect(salesStop(pause)).toBeNull();
  // A slow mover at 0.3 a day: 20 days without a sale happen (exp(-6) = 0.0025 >= 1e-4).
  const slow = Float64Array.from({ length: 140 }, (_, t) => (t < 120 && t % 10 < 3 ? 1 : 0));
  expect(Math.exp(-0.3 * 20)).toBeGreaterThanOrEqual(ZERO_RUN_PROBABILITY);
  expect(salesStop(slow)).toBeNull();
  // A product that paused 30 days before and sold again: its 25-day pause now is no stop.
  const seasonal = Float64Array.from({ length: 200 }, (_, t) => (t < 60 || (t >= 90 && t < 175) ? 8 : 0));
  expect(salesStop(seasonal)).toBeNull();
  // The rate is read over the RATE_DAYS days before the stop, not the whole history.
  const faded = Float64Array.from({ length: 300 }, (_, t) => (t < 200 ? 50 : t < 280 ? 0.2 : 0));
  expect(RATE_DAYS).toBe(56);
  expect(salesStop(faded)).toBeNull(); // 0.2 a day: 20 zero days happen by chance (exp(-4))
});

test('a product that stopped six weeks ago is forecast from the days since, and the reason says so', async () => {
  const n = 150;
  const y = poissonSeries(1, n, (t) => (t < n - 45 ? 8 : 0));
  const others = [2, 3, 4].map((s) => ({ id: `o${s}`, y: poissonSeries(s, n, () => 6), promo: null, logPrice: null, group: 'g' }));
  const o = { startDay: start, horizon: 28, holidays: new Map<number, number>(), nHolidays: 0, interval: 0.8 };
  const [dead, steady] = await forecastMany([{ id: 'dead', y, promo: null, logPrice: null, group: 'g' }, ...others], o);
  const mean = (f: Float64Array) => f.reduce((a, b) => a + b, 0) / f.length;
  expect(mean(dead.forecast)).toBeLessThan(0.1);
  expect(dead.stop).toMatchObject({ since: addDays('2025-01-01', n - 45), zeros: 45 });
  expect(dead.reason).toContain(`sold nothing over its last 45 known days (since ${addDays('2025-01-01', n - 45)})`);
  // Its neighbours are untouched by the rule.
  expect(steady.stop).toBeUndefined();
  expect(mean(steady.forecast)).toBeGreaterThan(4);
});

/** A job context whose warnings are kept. */
function capture(db: Db, asOf: string): { ctx: JobContext; warn: string[] } {
  const warn: string[] = [];
  const ctx = jobCtx(db, asOf);
  const log = { info: () => undefined, warn: (m: string) => warn.push(m), debug: () => undefined, error: () => undefined } as Record<string, unknown>;
  log.child = () => log;
  ctx.log = log as unknown as JobContext['log'];
  return { ctx, warn };
}

test('train and predict on a shop whose product stopped: forecast near zero, a warning naming it with both fixes', async () => {
  // Explicit zero rows over the last 45 days of DEAD45 (it sold 8 a day before); three steady products.
  const asOf = '2025-07-01';
  const days = 150;
  const rng = new Rng(7);
  const lines = ['date,sku,location,quantity'];
  for (let i = 0; i < days; i++) {
    const d = addDays(asOf, i - days);
    const w = WEEKLY[weekday(dayNumber(d))];
    lines.push(`${d},DEAD45,MAIN,${i < days - 45 ? rng.poisson(8 * w) : 0}`);
    for (const [sku, rate] of [['A', 10], ['B', 3], ['C', 0.5]] as const) lines.push(`${d},${sku},MAIN,${rng.poisson(rate * w)}`);
  }
  const dir = tempDir();
  writeFileSync(join(dir, 'sales.csv'), lines.join('\n') + '\n');
  const db = await newDb(join(dir, 'stop.db'));
  await importCsv(db, { entity: 'sales', file: join(dir, 'sales.csv') });
  const t = capture(db, asOf);
  await trainJob.run(t.ctx, {});
  const tw = t.warn.filter((m) => m.includes('sold nothing over their last'));
  expect(tw).toHaveLength(1);
  expect(tw[0]).toContain(`1 series`);
  expect(tw[0]).toContain(`DEAD45@MAIN (no sale since ${addDays(asOf, -45)}, 45 days`);
  expect(tw[0]).toContain('optiflow import stock');
  expect(tw[0]).toContain('optiflow import products');
  const p = capture(db, asOf);
  await predictJob.run(p.ctx, {});
  expect(p.warn.filter((m) => m.includes('DEAD45@MAIN (no sale since'))).toHaveLength(1);
  const f = async (sku: string) => (await db.kysely.selectFrom('forecasts').innerJoin('products', 'products.id', 'forecasts.product_id').select(['forecasts.yhat', 'forecasts.yhat_hi']).where('products.sku', '=', sku).where('run_date', '=', asOf).execute()).map((r) => [Number(r.yhat), Number(r.yhat_hi)]);
  const dead = await f('DEAD45');
  expect(dead).toHaveLength(p.ctx.config.horizon);
  // Before the rule: 3.7 a day (an SBA that never updates through zeros, mixed with a regression's old level).
  for (const [yhat, hi] of dead) {
    expect(yhat).toBeLessThan(0.5);
    expect(hi).toBeLessThan(2);
  }
  const a = await f('A');
  expect(a.reduce((s, [y]) => s + y, 0) / a.length).toBeGreaterThan(7);
  await db.close();
});

/** A shop's sales (rows only where `q` gives a number) imported into a fresh database, and a job context on it. */
async function shop(name: string, asOf: string, days: number, q: Record<string, (i: number, w: number, rng: Rng) => number | null>): Promise<Db> {
  const rng = new Rng(11);
  const lines = ['date,sku,location,quantity'];
  for (let i = 0; i < days; i++) {
    const d = addDays(asOf, i - days);
    const w = WEEKLY[weekday(dayNumber(d))];
    for (const [sku, f] of Object.entries(q)) {
      const v = f(i, w, rng);
      if (v !== null) lines.push(`${d},${sku},MAIN,${v}`);
    }
  }
  const dir = tempDir();
  writeFileSync(join(dir, 'sales.csv'), lines.join('\n') + '\n');
  const db = await newDb(join(dir, name));
  await importCsv(db, { entity: 'sales', file: join(dir, 'sales.csv') });
  return db;
}

async function meanForecast(db: Db, sku: string, asOf: string): Promise<number> {
  const f = (await db.kysely.selectFrom('forecasts').innerJoin('products', 'products.id', 'forecasts.product_id').select('forecasts.yhat').where('products.sku', '=', sku).where('run_date', '=', asOf).execute()).map((r) => Number(r.yhat));
  return f.reduce((a, b) => a + b, 0) / f.length;
}

const steady = { A: (_: number, w: number, rng: Rng) => rng.poisson(10 * w), B: (_: number, w: number, rng: Rng) => rng.poisson(4 * w), C: (_: number, w: number, rng: Rng) => rng.poisson(6 * w) };

test('a week of zero rows at the end (a stock count) is a pause: the level before stands, and train says so', async () => {
  const asOf = '2025-06-01';
  // FASTZ sells 40 a day; its last 7 days are rows of 0. Before: forecast 2 a day (the models followed the week).
  const db = await shop('pause.db', asOf, 300, { ...steady, FASTZ: (i, w, rng) => (i >= 293 ? 0 : rng.poisson(40 * w)) });
  const t = capture(db, asOf);
  await trainJob.run(t.ctx, {});
  const w = t.warn.filter((m) => m.includes('sold nothing over their last days'));
  expect(w).toHaveLength(1);
  expect(w[0]).toContain(`FASTZ@MAIN (no sale since ${addDays(asOf, -7)}, 7 days`);
  expect(w[0]).toContain('planned_uplift -1');
  const p = capture(db, asOf);
  await predictJob.run(p.ctx, {});
  expect(await meanForecast(db, 'FASTZ', asOf)).toBeGreaterThan(30);
  expect(t.warn.some((m) => m.includes('sold nothing over their last two weeks'))).toBe(false);
  await db.close();
});

test('a product without any row for six weeks in a shop whose other products sell is a stop, not a late import', async () => {
  const asOf = '2025-06-01';
  // Sales rows only on days with a sale (a point-of-sale export). Before: 8.7 a day for ever, with advice to import its sales.
  const db = await shop('bare.db', asOf, 300, { ...steady, GONE: (i, w, rng) => (i >= 258 ? null : rng.poisson(8 * w) || null) });
  const t = capture(db, asOf);
  await trainJob.run(t.ctx, {});
  expect(t.warn.filter((m) => m.includes('sold nothing over their last two weeks') && m.includes(`GONE@MAIN (no sale since ${addDays(asOf, -42)}`))).toHaveLength(1);
  expect(t.warn.some((m) => m.includes('without a sales row over their last days'))).toBe(false);
  await predictJob.run(capture(db, asOf).ctx, {});
  expect(await meanForecast(db, 'GONE', asOf)).toBeLessThan(0.5);
  await db.close();
});

test('a summer product three weeks into its first winter is a stop; one that paused as long before is its season', async () => {
  const asOf = '2025-10-20';
  // Sells May to September (rows on sale days only). One season of history: the gap is a stop (before: 14 a day).
  const summer = (d: string) => d.slice(5, 7) >= '05' && d.slice(5, 7) <= '09';
  const one = await shop('season1.db', asOf, 200, { ...steady, SUMMER: (i, w, rng) => (summer(addDays(asOf, i - 200)) ? rng.poisson(15 * w) || null : null) });
  const t = capture(one, asOf);
  await trainJob.run(t.ctx, {});
  expect(t.warn.some((m) => m.includes('SUMMER@MAIN (no sale since 2025-10-01'))).toBe(true);
  await predictJob.run(capture(one, asOf).ctx, {});
  expect(await meanForecast(one, 'SUMMER', asOf)).toBeLessThan(0.5);
  await one.close();
  // The same product with last winter in its history: the run is its pattern, neither a stop nor a late import.
  const two = await shop('season2.db', asOf, 600, { ...steady, SUMMER: (i, w, rng) => (summer(addDays(asOf, i - 600)) ? rng.poisson(15 * w) || null : null) });
  const u = capture(two, asOf);
  await trainJob.run(u.ctx, {});
  expect(u.warn.some((m) => m.includes('SUMMER@MAIN'))).toBe(false);
  await two.close();
});

test('a three-week pause that ended (a stock-out without stock records) is unknown to the models; runs that recur are not', async () => {
  const paused = Float64Array.from({ length: 135 }, (_, t) => (t >= 100 && t < 121 ? 0 : 10));
  expect(endedZeroRuns(paused)).toEqual([[100, 120]]);
  // Two such runs are two stock-outs; three as long are the series' habit, and a run a year after another its season.
  const twice = Float64Array.from({ length: 200 }, (_, t) => ((t >= 40 && t < 70) || (t >= 140 && t < 170) ? 0 : 10));
  expect(endedZeroRuns(twice)).toEqual([[40, 69], [140, 169]]);
  const thrice = Float64Array.from({ length: 300 }, (_, t) => ((t >= 40 && t < 70) || (t >= 140 && t < 170) || (t >= 240 && t < 270) ? 0 : 10));
  expect(endedZeroRuns(thrice)).toEqual([]);
  const yearly = Float64Array.from({ length: 500 }, (_, t) => ((t >= 40 && t < 70) || (t >= 400 && t < 420) ? 0 : 10));
  expect(endedZeroRuns(yearly)).toEqual([]);
  // A slow mover's runs are chance: 0.2 a day, 25 days without a sale (exp(-5)).
  const slow = Float64Array.from({ length: 200 }, (_, t) => (t % 5 === 0 && (t < 100 || t >= 125) ? 1 : 0));
  expect(endedZeroRuns(slow)).toEqual([]);
  // Through the engine: 10 a day (Poisson), 21 days of zeros, 14 days of sales again. Before: 6.7 a day (the
  // zeros fitted), or 14 with the rebound read as a trend.
  const n = 300;
  const y = poissonSeries(21, n, (t) => (t >= n - 35 && t < n - 14 ? 0 : 10));
  const others = [22, 23, 24].map((s) => ({ id: `o${s}`, y: poissonSeries(s, n, () => 6), promo: null, logPrice: null, group: 'g' }));
  const o = { startDay: start, horizon: 28, holidays: new Map<number, number>(), nHolidays: 0, interval: 0.8 };
  const [p] = await forecastMany([{ id: 'p', y, promo: null, logPrice: null, group: 'g' }, ...others], o);
  const mean = p.forecast.reduce((a, b) => a + b, 0) / p.forecast.length;
  expect(Math.abs(mean / 10 - 1)).toBeLessThan(0.15);
});

test('a stop on a product whose stock records show stock on hand: no advice to import stock; a model trained before the stop is no failed fit', async () => {
  const asOf = '2025-06-01';
  const db = await shop('stocked.db', asOf, 300, { ...steady, SHELF: (i, w, rng) => (i >= 260 ? 0 : rng.poisson(9 * w)) });
  // Trained while SHELF still sold; its stock records show units on hand through the stop.
  await trainJob.run(capture(db, addDays(asOf, -45)).ctx, {});
  const dir = tempDir();
  writeFileSync(join(dir, 'stock.csv'), `date,sku,location,on_hand\n${addDays(asOf, -60)},SHELF,MAIN,300\n`);
  await importCsv(db, { entity: 'stock', file: join(dir, 'stock.csv') });
  const p = capture(db, asOf);
  p.ctx.config.train.maxModelAgeDays = 365;
  await predictJob.run(p.ctx, {});
  const w = p.warn.filter((m) => m.includes('SHELF@MAIN'));
  expect(w).toHaveLength(1);
  expect(w[0]).toContain('with stock on hand by their stock records (1)');
  expect(w[0]).not.toContain('import stock records');
  expect(p.warn.some((m) => m.includes('failed fit'))).toBe(false);
  expect(await meanForecast(db, 'SHELF', asOf)).toBeLessThan(0.5);
  await db.close();
});
