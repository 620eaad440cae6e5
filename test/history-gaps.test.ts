/**
 * Days without a sales row that are a missing import, not a day without sales:
 * a day with no sales row for any product of a location, and a series' trailing
 * run without a row that is too long for its own selling rate. Both are unknown
 * demand (NaN) in the history, with or without the history cache, and train and
 * predict name them. Train's count of unknown days counts only what it says.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addDays, dayNumber, fromDayNumber } from '../src/dates.js';
import { loadHistory, type History } from '../src/db/history.js';
import { RATE_DAYS as STALE_RATE_DAYS, ZERO_RUN_PROBABILITY as STALE_PROBABILITY } from '../src/ml/zero-runs.js';
import { cachedHistory } from '../src/db/history-cache.js';
import { runCheck } from '../src/check/index.js';
import { importCsv } from '../src/io/import.js';
import { predictJob, trainJob } from '../src/jobs/forecasting.js';
import type { Db } from '../src/db/connection.js';
import type { JobContext } from '../src/jobs/types.js';
import { jobCtx, newDb, tempDir } from './helpers.js';

const AS_OF = '2025-07-01';
const DAYS = 150;
const FIRST = addDays(AS_OF, -DAYS);
const WEEK = [0.8, 0.9, 0.9, 1.0, 1.2, 1.4, 0.8];

/** Deterministic Poisson draws (Knuth's method on a seeded generator). */
function poissonSource(seed: number): (mean: number) => number {
  let s = seed >>> 0;
  const u = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return (mean) => {
    const L = Math.exp(-mean);
    let k = 0;
    let p = u();
    while (p > L) {
      k++;
      p *= u();
    }
    return k;
  };
}

const RATES: Record<string, number> = { SLOW03: 0.3, ONE: 1, TWO: 1.5, BIG50: 50, BIG30: 30 };

/**
 * Sales of the five products at MAIN for the DAYS days before AS_OF, one row a day per product (zero rows
 * included) unless `drop(sku, dayIndex)` says the row is missing. Returns the rows kept, by SKU and date.
 */
async function salesDb(name: string, drop: (sku: string, i: number) => boolean, extra: string[] = []): Promise<{ db: Db; rows: Map<string, Map<string, number>> }> {
  const dir = tempDir();
  const db = await newDb(join(dir, name));
  const draw = poissonSource(2);
  const lines = ['date,sku,location,quantity'];
  const rows = new Map<string, Map<string, number>>();
  for (const [sku, rate] of Object.entries(RATES)) {
    const m = new Map<string, number>();
    rows.set(sku, m);
    for (let i = 0; i < DAYS; i++) {
      const d = addDays(FIRST, i);
      const q = draw(rate * WEEK[new Date(d + 'T00:00:00Z').getUTCDay()]);
      if (drop(sku, i)) continue;
      lines.push(`${d},${sku},MAIN,${q}`);
      m.set(d, q);
    }
  }
  lines.push(...extra);
  const csv = join(dir, 'sales.csv');
  writeFileSync(csv, lines.join('\n') + '\n');
  await importCsv(db, { entity: 'sales', file: csv });
  return { db, rows };
}

/** A job context whose log lines are kept. */
function capture(db: Db, over: Parameters<typeof jobCtx>[2] = {}): { ctx: JobContext; warn: string[]; info: string[] } {
  const warn: string[] = [];
  const info: string[] = [];
  const ctx = jobCtx(db, AS_OF, over);
  const log = { info: (m: string) => info.push(m), warn: (m: string) => warn.push(m), debug: () => undefined, error: () => undefined } as Record<string, unknown>;
  log.child = () => log;
  ctx.log = log as unknown as JobContext['log'];
  return { ctx, warn, info };
}

const ySeries = (h: History, sku: string) => h.series[h.refs.findIndex((r) => r.sku === sku)].y;
const dayOf = (h: History, d: string) => dayNumber(d) - h.startDay;

test('days with no sales row for any product of a location are unknown demand, with and without the cache, and train and predict name them', async () => {
  // Days 60..89 (2025-04-02..2025-05-01) have no row for any product.
  const gap = (i: number) => i >= 60 && i < 90;
  const { db, rows } = await salesDb('gap.db', (_, i) => gap(i));
  const o = { asOf: AS_OF, days: 400, horizon: 28 };
  const h = await loadHistory(db, o);
  const cached = await cachedHistory(db, o, join(tempDir(), 'cache.bin'));
  // The same runs `optiflow check` reports as missing-sales-days.
  const report = await runCheck(jobCtx(db, AS_OF), { rules: ['missing-sales-days'] });
  const found = report.findings.filter((f) => f.rule === 'missing-sales-days').map((f) => [f.date, f.to]);
  expect(found).toEqual([[addDays(FIRST, 60), addDays(FIRST, 89)]]);
  // A history of one series (train --sku without the cache, validate) judges the location's days by all its series.
  const ref = h.refs.find((r) => r.sku === 'BIG50')!;
  const one = await loadHistory(db, { ...o, only: new Set([`${ref.productId}:${ref.locationId}`]) });
  expect(one.refs.map((r) => r.sku)).toEqual(['BIG50']);
  expect(Array.from(one.series[0].y)).toEqual(Array.from(ySeries(h, 'BIG50')));
  expect([...one.missingDays]).toEqual([...h.missingDays]);
  for (const hist of [h, cached])
    for (const sku of Object.keys(RATES)) {
      const y = ySeries(hist, sku);
      for (let i = 0; i < DAYS; i++) {
        const d = addDays(FIRST, i);
        const v = y[dayOf(hist, d)];
        if (gap(i)) expect(v).toBeNaN();
        else expect(v).toBe(rows.get(sku)!.get(d));
      }
    }
  // Train and predict warn once, naming the location, the range and the fix; train counts the days as such.
  const t = capture(db);
  await trainJob.run(t.ctx, {});
  const tw = t.warn.filter((m) => m.includes('no sales row at all'));
  expect(tw).toHaveLength(1);
  expect(tw[0]).toContain('MAIN');
  expect(tw[0]).toContain(`${addDays(FIRST, 60)}..${addDays(FIRST, 89)}`);
  expect(tw[0]).toContain('optiflow import sales');
  expect(t.info.join('\n')).toContain('unknown demand (series x days): 0 stock-out or closed, 150 without sales rows (150 with none at the location, 0 at the end of a series)');
  const p = capture(db);
  await predictJob.run(p.ctx, {});
  expect(p.warn.filter((m) => m.includes('no sales row at all') && m.includes('MAIN') && m.includes(`${addDays(FIRST, 60)}..${addDays(FIRST, 89)}`))).toHaveLength(1);
  await db.close();
});

test('a location with more missing ranges than shown is named with "and N more"', async () => {
  // Five separate whole days missing.
  const missing = new Set([20, 30, 40, 50, 60]);
  const { db } = await salesDb('ranges.db', (_, i) => missing.has(i));
  const t = capture(db);
  await predictJob.run(t.ctx, {});
  const w = t.warn.find((m) => m.includes('no sales row at all'))!;
  expect(w).toContain('MAIN: 5 day(s)');
  expect(w).toContain('and 2 more range(s)');
  await db.close();
});

test('a series without rows over its last days, implausible for its rate, is unknown demand there; explicit zero rows, slow movers and products with stock on hand are unchanged', async () => {
  // BIG30 (about 30/day) has no row over the last 10 days; ZERO30 sells the same but its last 10 days are explicit
  // zero rows; SLOW03 (about 0.3/day) has no row over its last 8 days (plausible: e^(-0.3 x 8) = 0.09).
  const lastTen = (i: number) => i >= DAYS - 10;
  const zeroRows: string[] = [];
  const draw = poissonSource(9);
  for (let i = 0; i < DAYS; i++) zeroRows.push(`${addDays(FIRST, i)},ZERO30,MAIN,${lastTen(i) ? 0 : draw(30)}`);
  // DORM30 sells the same and has no row over its last 10 days either, but its stock records show stock on hand:
  // it was on the shelf and did not sell (a dormant product), real zeros.
  for (let i = 0; i < DAYS - 10; i++) zeroRows.push(`${addDays(FIRST, i)},DORM30,MAIN,${draw(30)}`);
  const { db, rows } = await salesDb('stale.db', (sku, i) => (sku === 'BIG30' && lastTen(i)) || (sku === 'SLOW03' && i >= DAYS - 8), zeroRows);
  const stock = join(tempDir(), 'stock.csv');
  writeFileSync(stock, `date,sku,location,on_hand\n${FIRST},DORM30,MAIN,9000\n${addDays(FIRST, DAYS - 11)},DORM30,MAIN,4500\n`);
  await importCsv(db, { entity: 'stock', file: stock });
  const o = { asOf: AS_OF, days: 400, horizon: 28 };
  for (const h of [await loadHistory(db, o), await cachedHistory(db, o, join(tempDir(), 'cache.bin'))]) {
    const big = ySeries(h, 'BIG30');
    const zero = ySeries(h, 'ZERO30');
    const slow = ySeries(h, 'SLOW03');
    const dorm = ySeries(h, 'DORM30');
    for (let i = DAYS - 10; i < DAYS; i++) {
      const t = dayOf(h, addDays(FIRST, i));
      expect(big[t]).toBeNaN();
      expect(zero[t]).toBe(0);
      expect(dorm[t]).toBe(0);
      expect(slow[t]).toBe(i >= DAYS - 8 ? 0 : rows.get('SLOW03')!.get(addDays(FIRST, i)));
    }
    // The rule's own arithmetic: the slow mover's run is above the threshold, BIG30's far below.
    const rate = (y: ArrayLike<number>, end: number) => {
      let s = 0;
      for (let t = end - STALE_RATE_DAYS; t < end; t++) s += y[t];
      return s / STALE_RATE_DAYS;
    };
    const slowEnd = dayOf(h, addDays(FIRST, DAYS - 8));
    expect(Math.exp(-rate(slow, slowEnd) * 8)).toBeGreaterThanOrEqual(STALE_PROBABILITY);
    expect(Math.exp(-rate(big, dayOf(h, addDays(FIRST, DAYS - 10))) * 10)).toBeLessThan(STALE_PROBABILITY);
    // The days before the run are what the rows say.
    expect(big[dayOf(h, addDays(FIRST, DAYS - 11))]).toBe(rows.get('BIG30')!.get(addDays(FIRST, DAYS - 11)));
  }
  const t = capture(db);
  await trainJob.run(t.ctx, {});
  const w = t.warn.filter((m) => m.includes('without a sales row over their last days'));
  expect(w).toHaveLength(1);
  expect(w[0]).toContain(`1 series`);
  expect(w[0]).toContain(`BIG30@MAIN (no row since ${addDays(FIRST, DAYS - 10)}`);
  expect(w[0]).not.toContain('ZERO30');
  expect(w[0]).not.toContain('SLOW03');
  expect(w[0]).not.toContain('DORM30');
  expect(w[0]).toContain('optiflow import sales');
  expect(w[0]).toContain('optiflow import stock');
  expect(t.info.join('\n')).toContain('10 without sales rows (0 with none at the location, 10 at the end of a series)');
  const p = capture(db);
  await predictJob.run(p.ctx, {});
  expect(p.warn.filter((m) => m.includes('BIG30@MAIN (no row since'))).toHaveLength(1);
  // BIG30's forecast stays near its rate (about 30 a day), not a level pulled down by ten zero days.
  const f = (await db.kysely.selectFrom('forecasts').innerJoin('products', 'products.id', 'forecasts.product_id').select(['forecasts.yhat']).where('products.sku', '=', 'BIG30').where('run_date', '=', AS_OF).execute()).map((r) => Number(r.yhat));
  const known = [...rows.get('BIG30')!.values()].slice(-STALE_RATE_DAYS);
  const mean = known.reduce((a, b) => a + b, 0) / known.length;
  expect(f.reduce((a, b) => a + b, 0) / f.length).toBeGreaterThan(mean * 0.75);
  await db.close();
});

test('train counts stock-out days from each series\' first sale, for the series it trains only', async () => {
  // Products listed at different dates, no stock file: no stock-out day at all.
  const starts: Record<string, number> = { SLOW03: 0, ONE: 40, TWO: 80, BIG50: 0, BIG30: 100 };
  const { db } = await salesDb('count.db', (sku, i) => i < starts[sku]);
  const t = capture(db);
  await trainJob.run(t.ctx, {});
  expect(t.info.join('\n')).toContain('unknown demand (series x days): 0 stock-out or closed, 0 without sales rows');
  // ONE out of stock for 5 days (end-of-day stock 0 from day 120, back on day 125), TWO for 3 days.
  const dir = tempDir();
  const stock = join(dir, 'stock.csv');
  writeFileSync(stock, ['date,sku,location,on_hand', `${addDays(FIRST, 119)},ONE,MAIN,5`, `${addDays(FIRST, 120)},ONE,MAIN,0`, `${addDays(FIRST, 125)},ONE,MAIN,8`, `${addDays(FIRST, 119)},TWO,MAIN,5`, `${addDays(FIRST, 130)},TWO,MAIN,0`, `${addDays(FIRST, 133)},TWO,MAIN,9`].join('\n') + '\n');
  await importCsv(db, { entity: 'stock', file: stock });
  const all = capture(db);
  await trainJob.run(all.ctx, { force: true });
  expect(all.info.join('\n')).toContain('5 series, 730 days before 2025-07-01; unknown demand (series x days): 8 stock-out or closed');
  // Training one series (the history is read for all through the cache and then filtered) counts that series' days.
  const one = capture(db);
  await trainJob.run(one.ctx, { sku: ['ONE'] });
  expect(one.info.join('\n')).toContain('1 series, 730 days before 2025-07-01; unknown demand (series x days): 5 stock-out or closed');
  const none = capture(db);
  await trainJob.run(none.ctx, { sku: ['BIG30'] });
  expect(none.info.join('\n')).toContain('1 series, 730 days before 2025-07-01; unknown demand (series x days): 0 stock-out or closed');
  await db.close();
});

test('a shop closed every Sunday keeps its Sundays as zero demand, and a month without rows among them is still missing', async () => {
  const sunday = (i: number) => new Date(addDays(FIRST, i) + 'T00:00:00Z').getUTCDay() === 0;
  const gap = (i: number) => i >= 70 && i < 100;
  const { db, rows } = await salesDb('sundays.db', (_, i) => sunday(i) || gap(i));
  const o = { asOf: AS_OF, days: 400, horizon: 28 };
  const report = await runCheck(jobCtx(db, AS_OF), { rules: ['missing-sales-days'] });
  const found = report.findings.filter((f) => f.rule === 'missing-sales-days').map((f) => [f.date, f.to]);
  // The month is reported (its Sundays split it into weekly runs); no Sunday outside it is.
  expect(found.length).toBeGreaterThan(0);
  for (const [from, to] of found) {
    expect(dayNumber(from!)).toBeGreaterThanOrEqual(dayNumber(addDays(FIRST, 70)));
    expect(dayNumber(to!)).toBeLessThanOrEqual(dayNumber(addDays(FIRST, 99)));
  }
  for (const h of [await loadHistory(db, o), await cachedHistory(db, o, join(tempDir(), 'cache.bin'))]) {
    const y = ySeries(h, 'BIG50');
    for (let i = 0; i < DAYS; i++) {
      const d = addDays(FIRST, i);
      const v = y[dayOf(h, d)];
      if (gap(i) && !sunday(i)) expect(v).toBeNaN();
      else if (sunday(i) && !gap(i)) expect(v).toBe(0);
      else if (!gap(i)) expect(v).toBe(rows.get('BIG50')!.get(d));
    }
  }
  await db.close();
});

test('a history window that starts inside a month without rows marks the days from its start', async () => {
  // Rows stop for days 60..89; the window loaded starts on day 70.
  const gap = (i: number) => i >= 60 && i < 90;
  const { db, rows } = await salesDb('inside.db', (_, i) => gap(i));
  const o = { asOf: AS_OF, days: DAYS - 70, horizon: 28 };
  for (const h of [await loadHistory(db, o), await cachedHistory(db, o, join(tempDir(), 'cache.bin'))]) {
    expect(h.startDay).toBe(dayNumber(addDays(FIRST, 70)));
    const y = ySeries(h, 'BIG30');
    for (let i = 70; i < DAYS; i++) {
      const d = addDays(FIRST, i);
      if (gap(i)) expect(y[dayOf(h, d)]).toBeNaN();
      else expect(y[dayOf(h, d)]).toBe(rows.get('BIG30')!.get(d));
    }
  }
  await db.close();
});

test('days after the last import (no row for any product up to the run date) are unknown demand, not a stop of every product', async () => {
  // No rows at all over the last 20 days: an import that stopped, not 20 days of zero sales.
  const { db, rows } = await salesDb('tail.db', (_, i) => i >= DAYS - 20);
  const o = { asOf: AS_OF, days: 400, horizon: 28 };
  for (const h of [await loadHistory(db, o), await cachedHistory(db, o, join(tempDir(), 'cache.bin'))]) {
    const y = ySeries(h, 'BIG50');
    for (let i = DAYS - 25; i < DAYS; i++) {
      const d = addDays(FIRST, i);
      if (i >= DAYS - 20) expect(y[dayOf(h, d)]).toBeNaN();
      else expect(y[dayOf(h, d)]).toBe(rows.get('BIG50')!.get(d));
    }
  }
  // Train refuses data that old by default (data.maxStalenessDays), naming the setting that allows it; allowed,
  // it reads the days as unknown.
  await expect(trainJob.run(capture(db).ctx, {})).rejects.toThrow(/allow older data with data.maxStalenessDays \(env OPTIFLOW_DATA_MAX_STALENESS_DAYS=20\): its missing days are then unknown demand/);
  const t = capture(db);
  t.ctx.config.data.maxStalenessDays = 30;
  await trainJob.run(t.ctx, {});
  expect(t.warn.filter((m) => m.includes('no sales row at all') && m.includes(`${addDays(FIRST, DAYS - 20)}..${addDays(AS_OF, -1)}`))).toHaveLength(1);
  expect(t.warn.filter((m) => m.includes('sold nothing over their last'))).toHaveLength(0);
  await db.close();
});

test('days a location is known to be closed (a holiday, an event with planned_uplift -1) and Sundays it stopped opening are not missing', async () => {
  // No rows on 2025-05-01 (a holiday in the events table), on days 100..106 (a closure event, uplift -1, at MAIN)
  // and on every Sunday of the last 10 weeks (the shop stopped opening on Sundays).
  const holiday = '2025-05-01';
  const sunday = (i: number) => new Date(addDays(FIRST, i) + 'T00:00:00Z').getUTCDay() === 0;
  const closure = (i: number) => i >= 100 && i < 107;
  const { db, rows } = await salesDb('closed.db', (_, i) => addDays(FIRST, i) === holiday || closure(i) || (i >= DAYS - 70 && sunday(i)));
  const events = join(tempDir(), 'events.csv');
  writeFileSync(events, `name,kind,start_date,end_date,location,planned_uplift\nLabour day,holiday,${holiday},${holiday},,\nRefit,other,${addDays(FIRST, 100)},${addDays(FIRST, 106)},MAIN,-1\n`);
  await importCsv(db, { entity: 'events', file: events });
  const o = { asOf: AS_OF, days: 400, horizon: 28 };
  const report = await runCheck(jobCtx(db, AS_OF), { rules: ['missing-sales-days'] });
  expect(report.findings.filter((f) => f.rule === 'missing-sales-days')).toEqual([]);
  for (const h of [await loadHistory(db, o), await cachedHistory(db, o, join(tempDir(), 'cache.bin'))]) {
    expect([...h.missingDays]).toEqual([]);
    const y = ySeries(h, 'BIG50');
    for (let i = 0; i < DAYS; i++) {
      const d = addDays(FIRST, i);
      // The closure event's days are unknown demand (the shop could not sell); the holiday's a day of no sales.
      if (closure(i)) expect(y[dayOf(h, d)]).toBeNaN();
      else expect(y[dayOf(h, d)]).toBe(rows.get('BIG50')!.get(d) ?? 0);
    }
  }
  // Without the events, the same days are missing; the Sundays still are not (the shop no longer opens then).
  await db.kysely.deleteFrom('events').execute();
  const h = await loadHistory(db, o);
  const days = (h.missingDays.get(h.refs[0].locationId) ?? []).flatMap(([a, b]) => Array.from({ length: b - a + 1 }, (_, k) => fromDayNumber(a + k)));
  const closureDays = Array.from({ length: 7 }, (_, k) => 100 + k).filter((i) => !sunday(i)).map((i) => addDays(FIRST, i));
  expect(days.sort()).toEqual([...closureDays, holiday].sort());
  await db.close();
});

test('a shop of two products that sell every day: a week without any row is missing; a slow product alone is not judged on short runs', async () => {
  const dir = tempDir();
  const draw = poissonSource(5);
  const lines = ['date,sku,location,quantity'];
  for (let i = 0; i < DAYS; i++) {
    const d = addDays(FIRST, i);
    // TWO: P1 and P2 at 40 and 20 a day, no row at all on days 100..106.
    if (!(i >= 100 && i < 107)) for (const [sku, rate] of [['P1', 40], ['P2', 20]] as const) lines.push(`${d},${sku},TWO,${draw(rate)}`);
    // SLOW: one product at 0.3 a day, rows on sale days only (runs of a week or two without a row are its nature).
    const q = draw(0.3);
    if (q) lines.push(`${d},S1,SLOW,${q}`);
  }
  writeFileSync(join(dir, 'sales.csv'), lines.join('\n') + '\n');
  const db = await newDb(join(dir, 'two.db'));
  await importCsv(db, { entity: 'sales', file: join(dir, 'sales.csv') });
  const h = await loadHistory(db, { asOf: AS_OF, days: 400, horizon: 28 });
  const loc = (code: string) => h.refs.find((r) => r.location === code)!.locationId;
  expect(h.missingDays.get(loc('TWO'))).toEqual([[dayNumber(addDays(FIRST, 100)), dayNumber(addDays(FIRST, 106))]]);
  expect(h.missingDays.get(loc('SLOW'))).toBeUndefined();
  const report = await runCheck(jobCtx(db, AS_OF), { rules: ['missing-sales-days'] });
  expect(report.findings.filter((f) => f.rule === 'missing-sales-days').map((f) => [f.location, f.date, f.to])).toEqual([['TWO', addDays(FIRST, 100), addDays(FIRST, 106)]]);
  await db.close();
});
