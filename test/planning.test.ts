/**
 * Hand-worked job cases (revenue, dormant), bad input to `suggest`, and
 * quality-risk on sample data.
 */
import { join } from 'node:path';
import { addDays } from '../src/dates.js';
import { revenueJob, dormantJob } from '../src/jobs/dashboard.js';
import { alertsJob } from '../src/jobs/alerts.js';
import { assessQuality } from '../src/jobs/quality.js';
import { predictJob, trainJob } from '../src/jobs/forecasting.js';
import { generateSample } from '../src/io/sample.js';
import { cli, fileHash, jobCtx, newDb, tempDir } from './helpers.js';

const TODAY = '2026-06-01';

test('revenue: a day with zero prediction has variance null, not infinity', async () => {
  const db = await newDb(join(tempDir(), 'r.db'));
  const s = db.sqlite!;
  s.exec(`insert into locations (id, code) values (1, 'MAIN'); insert into products (id, sku, unit_cost, unit_price) values (1, 'A', 1, 2)`);
  const run = addDays(TODAY, -3);
  const ins = s.prepare('insert into forecasts (product_id, location_id, run_date, date, yhat, yhat_lo, yhat_hi, base_yhat, base_lo, base_hi) values (1, 1, ?, ?, ?, 0, 0, ?, 0, 0)');
  ins.run(run, addDays(TODAY, -2), 0, 0);
  ins.run(run, addDays(TODAY, -1), 5, 5);
  const sale = s.prepare('insert into sales (product_id, location_id, date, quantity, revenue) values (1, 1, ?, ?, ?)');
  sale.run(addDays(TODAY, -2), 3, 6);
  sale.run(addDays(TODAY, -1), 4, 8);
  const r = await revenueJob.run(jobCtx(db, TODAY));
  const rows = r.rows as { date: string; predicted: number | null; actual: number; variance_pct: number | null }[];
  expect(rows).toHaveLength(30);
  expect(rows.find((x) => x.date === addDays(TODAY, -2))).toMatchObject({ predicted: 0, actual: 6, variance_pct: null });
  // Predicted 5 units x price 2 = 10; actual 8: (8 - 10) / 10 = -20 %.
  expect(rows.find((x) => x.date === addDays(TODAY, -1))).toMatchObject({ predicted: 10, actual: 8, variance_pct: -20 });
  expect(rows.find((x) => x.date === addDays(TODAY, -10))).toMatchObject({ predicted: null, variance_pct: null });
  await db.close();
});

test('dormant: stock and no sale for 120 days -> listed, value = on hand x unit cost', async () => {
  const db = await newDb(join(tempDir(), 'd.db'));
  const s = db.sqlite!;
  s.exec(`insert into locations (id, code) values (1, 'MAIN');
          insert into products (id, sku, unit_cost, unit_price) values (1, 'SLEEPY', 2.5, 4), (2, 'BUSY', 1, 2), (3, 'EMPTY', 1, 2)`);
  const stock = s.prepare('insert into stock_levels (product_id, location_id, date, on_hand) values (?, 1, ?, ?)');
  const sale = s.prepare('insert into sales (product_id, location_id, date, quantity) values (?, 1, ?, ?)');
  stock.run(1, addDays(TODAY, -130), 40);
  sale.run(1, addDays(TODAY, -120), 2);
  stock.run(2, addDays(TODAY, -130), 10);
  sale.run(2, addDays(TODAY, -10), 1);
  stock.run(3, addDays(TODAY, -130), 0);
  const r = await dormantJob.run(jobCtx(db, TODAY), { days: 90 });
  expect(r.rows).toEqual([{ sku: 'SLEEPY', location: 'MAIN', on_hand: 40, value: 100, last_sale: addDays(TODAY, -120), days_since_sale: 120 }]);
  expect(r.summary).toMatchObject({ series: 1, tied_up_value: 100 });
  expect(s.prepare('select product_id, value from dormant_stock').all()).toEqual([{ product_id: 1, value: 100 }]);
  await db.close();
});

describe('on sample data', () => {
  const dir = tempDir();
  const path = join(dir, 'p.db');
  let truthPerishable: { sku: string; storage: string }[] = [];
  beforeAll(async () => {
    const db = await newDb(path);
    const g = generateSample(db.sqlite!, { products: 42, locations: 1, days: 730, seed: 8, today: TODAY });
    truthPerishable = g.truth.map((t) => ({ sku: t.sku, storage: t.category })).filter((t) => ['dairy', 'bakery', 'frozen'].includes(t.storage));
    const ctx = jobCtx(db, TODAY);
    await trainJob.run(ctx, {});
    await predictJob.run(ctx, {});
    await db.close();
  });

  test('suggest: bad input is one clear line, exit 2, nothing written', () => {
    const before = fileHash(path);
    const cases: [string[], RegExp][] = [
      [['suggest', 'NOPE'], /unknown SKU "NOPE"/],
      [['suggest', 'SKU-00001', '--location', 'NOWHERE'], /--location: unknown location "NOWHERE"/],
      [['suggest', 'SKU-00001', '--target-date', '2026-01-01'], /--target-date: 2026-01-01 is in the past \(today is 2026-06-01\)/],
      [['suggest', 'SKU-00001', '--service-level', '1.5'], /--service-level: 1.5 must be between 0 and 1/],
      [['suggest', 'SKU-00001', '--service-level', '0'], /--service-level: 0 must be between 0 and 1/],
      [['suggest', 'SKU-00001', '--safety-margin=-0.1'], /--safety-margin: -0.1 must be >= 0/],
      [['suggest', 'SKU-00001', '--target-date', 'soon'], /--target-date: "soon" is not a date/],
    ];
    for (const [args, msg] of cases) {
      const r = cli([...args, '--db', path, '--as-of', TODAY, '--record']);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(msg);
    }
    expect(fileHash(path)).toBe(before);
    const ok = cli(['suggest', 'SKU-00001', '--db', path, '--as-of', TODAY, '--json']);
    expect(ok.code).toBe(0);
    const j = JSON.parse(ok.stdout);
    for (const k of ['quantity', 'order_by', 'expected_arrival', 'supplier', 'unit_cost', 'total_cost', 'alternatives', 'why']) expect(j).toHaveProperty(k);
    expect(j.supplier).toHaveProperty('lead_time_days');
  });

  test('quality-risk ranks perishables exposed to excursions above the others, and its alerts appear in alerts', async () => {
    const { openDb } = await import('../src/db/connection.js');
    const db = openDb(path);
    const ctx = jobCtx(db, TODAY);
    const q = await assessQuality(ctx);
    const rows = q.rows as { sku: string; storage: string; risk: number; level: string; excursion: number }[];
    expect(rows.length).toBe(truthPerishable.length);
    const exposed = rows.filter((r) => r.storage === 'chilled');
    const others = rows.filter((r) => r.storage !== 'chilled');
    expect(exposed.length).toBeGreaterThan(0);
    expect(others.length).toBeGreaterThan(0);
    for (const r of exposed) expect(r.excursion).toBeGreaterThan(0);
    // Every exposed series ranks above every unexposed one.
    expect(Math.min(...exposed.map((r) => r.risk))).toBeGreaterThan(Math.max(...others.map((r) => r.risk)));
    await alertsJob.run(ctx, {});
    const flagged = rows.filter((r) => r.level === 'high' || r.level === 'critical').map((r) => r.sku).sort();
    const alerted = (db.sqlite!.prepare(`select p.sku from alerts a join products p on p.id = a.product_id where a.kind = 'quality' and a.active = 1 and a.created_on = ?`).all(TODAY) as { sku: string }[]).map((r) => r.sku).sort();
    // Alerts only above a level whose precision is stated; without one, none.
    if (q.summary.alert_threshold === null) expect(flagged).toEqual([]);
    else expect(flagged.length).toBeGreaterThan(0);
    expect(alerted).toEqual(flagged);
    await db.close();
  });
});
