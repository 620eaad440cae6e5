/**
 * Jobs under faults: KPI cache invalidated when its inputs change, weekly
 * training not repeated for flags the same day, absurd sales in savings and rotation.
 */
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { addDays, todayIso } from '../src/dates.js';
import { openDb, type Db } from '../src/db/connection.js';
import { cappedSum, plausibleDayCap } from '../src/inventory/outliers.js';
import { generateSample } from '../src/io/sample.js';
import { computeKpis, kpisJob, savingsJob } from '../src/jobs/dashboard.js';
import { trainJob } from '../src/jobs/forecasting.js';
import { jobCtx, newDb, tempDir } from './helpers.js';

const DAY = '2026-06-01';
let template: string;
beforeAll(async () => {
  template = join(tempDir(), 'template.db');
  const db = await newDb(template);
  generateSample(db.sqlite!, { products: 6, locations: 1, days: 420, seed: 12, today: DAY });
  await db.close();
});
function copy(): Db {
  const p = join(tempDir(), 'copy.db');
  copyFileSync(template, p);
  return openDb(p);
}

test('kpis: a cached answer is recomputed once the alerts it counted changed', async () => {
  const db = copy();
  const ctx = jobCtx(db, DAY);
  const first = await kpisJob.run(ctx, {});
  expect(first.summary).toMatchObject({ cached: 'no', critique: 0 });
  expect((await kpisJob.run(ctx, {})).summary).toMatchObject({ cached: 'yes', critique: 0 });
  // The night is fixed and resumed: alerts now holds active CRITIQUE alerts.
  const ins = db.sqlite!.prepare(`insert into alerts (product_id, location_id, created_on, severity, kind, message, active) values (?, 1, ?, 'CRITIQUE', 'stockout', 'out', 1)`);
  ins.run(1, DAY);
  ins.run(2, DAY);
  const after = await kpisJob.run(ctx, {});
  expect(after.summary).toMatchObject({ cached: 'no', critique: 2, critical_products: 2 });
  expect((await kpisJob.run(ctx, {})).summary).toMatchObject({ cached: 'yes', critique: 2 });
  // Resolving one changes the answer again.
  db.sqlite!.prepare('update alerts set active = 0 where product_id = 1').run();
  expect((await kpisJob.run(ctx, {})).summary).toMatchObject({ cached: 'no', critique: 1 });
  await db.close();
});

test('weekly training re-run the same day does not retrain series flagged that day; a later flag does', async () => {
  // Run dated today (wall clock): the weekly batch runs on the day its models are trained.
  const today = todayIso();
  const db = await newDb(join(tempDir(), 'train.db'));
  generateSample(db.sqlite!, { products: 6, locations: 1, days: 420, seed: 12, today });
  const ctx = jobCtx(db, today, { historyCache: false });
  const first = await trainJob.run(ctx, {});
  expect(first.summary.no_model).toBe(6);
  // monitor of the same night flags two series.
  const flag = db.sqlite!.prepare(`insert into retrain_flags (product_id, location_id, flagged_on, reason) values (?, 1, ?, 'worse than seasonal naive')`);
  flag.run(1, today);
  flag.run(2, today);
  // A flag dated after the run date does not exist yet for this run.
  flag.run(3, addDays(today, 3));
  const again = await trainJob.run(ctx, {});
  expect(again.summary).toMatchObject({ flagged: 0, series: 0 });
  // The next night's monitor flags series 1 again: the next weekly run retrains it.
  flag.run(1, addDays(today, 1));
  const next = await trainJob.run(jobCtx(db, addDays(today, 1), { historyCache: false }), {});
  expect(next.summary.flagged).toBe(1);
  await db.close();
});

describe('absurd sales in savings and rotation', () => {
  test('the plausible-day cap, worked by hand', () => {
    // Positive days sorted: 2, 3, 4, 1e9; lower median 3; cap 100 x 3 = 300.
    expect(plausibleDayCap([2, 4, 1e9, 3, 0], 100)).toBe(300);
    expect(cappedSum([2, 4, 1e9, 3, 0], 100)).toEqual({ sum: 2 + 4 + 300 + 3 + 0, capped: 1 });
    // Non-finite days are left out and counted; the cap comes from the finite positive days.
    expect(cappedSum([NaN, Infinity, 5], 100)).toEqual({ sum: 5, capped: 2 });
    expect(plausibleDayCap([0, 0], 100)).toBe(Infinity);
  });

  test.each([[1e9], [1e308]])('one sales day of %d changes reduced overstock and rotation by little, never to infinity', async (q) => {
    const clean = copy();
    const spiked = copy();
    // optiflow in use since 100 days: reduced overstock is measured against the stock before that.
    for (const d of [clean, spiked]) d.sqlite!.prepare(`insert into alerts (product_id, location_id, created_on, severity, kind, message, active) values (1, 1, ?, 'INFO', 'overstock', 'x', 0)`).run(addDays(DAY, -100));
    const day = addDays(DAY, -40);
    spiked.sqlite!.prepare('update sales set quantity = ? where product_id = 2 and location_id = 1 and date = ?').run(q, day);
    expect(spiked.sqlite!.prepare('select quantity from sales where product_id = 2 and date = ?').get(day)).toEqual({ quantity: q });
    const a = (await savingsJob.run(jobCtx(clean, DAY), {})).summary;
    const b = (await savingsJob.run(jobCtx(spiked, DAY), {})).summary;
    expect(Number.isFinite(b.reduced_overstock)).toBe(true);
    expect(Math.abs(Number(b.reduced_overstock) - Number(a.reduced_overstock))).toBeLessThan(0.1 * Math.abs(Number(a.reduced_overstock)) + 1);
    const ka = await computeKpis(jobCtx(clean, DAY));
    const kb = await computeKpis(jobCtx(spiked, DAY));
    expect(Number.isFinite(kb.rotation_rate)).toBe(true);
    expect(Math.abs(kb.rotation_rate! - ka.rotation_rate!)).toBeLessThan(0.1 * ka.rotation_rate!);
    await clean.close();
    await spiked.close();
  });
});
