/** Data-quality check: injected faults are each reported where they are; clean sample data passes. */
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { runCheck } from '../src/check/index.js';
import { robustScale } from '../src/check/rules.js';
import { runBatch } from '../src/batch/batch.js';
import { JobError } from '../src/errors.js';
import { addDays } from '../src/dates.js';
import { cli, jobCtx, sampleDb } from './helpers.js';

const TODAY = '2026-04-01';

test('clean sample data passes', async () => {
  const { db } = await sampleDb({ today: TODAY });
  const r = await runCheck(jobCtx(db, TODAY));
  expect(r.blocking_failures).toEqual([]);
  expect(r.status).toBe('pass');
  expect(r.findings.filter((f) => f.rule !== 'demand-anomalies')).toEqual([]);
});

test('a gap, a negative stock, a duplicate order and a price spike are each reported with their location; blocking ones fail the check and the batch', async () => {
  const { db, path, dir } = await sampleDb({ today: TODAY });
  const q = db.sqlite!;
  // A fast series that never ran out of stock: ten of its days go missing from the sales import.
  const fast = q.prepare(`select s.product_id as p, p.sku, count(*) as n from sales s join products p on p.id = s.product_id
    where s.product_id in (select product_id from stock_levels group by product_id having min(on_hand) > 0) group by s.product_id order by n desc limit 1`).get() as { p: number; sku: string };
  const gapFrom = addDays(TODAY, -60);
  const gapTo = addDays(TODAY, -51);
  q.prepare('delete from sales where product_id = ? and date between ? and ?').run(fast.p, gapFrom, gapTo);
  // Another series: a stock count below zero.
  const neg = q.prepare(`select st.product_id as p, p.sku, st.date from stock_levels st join products p on p.id = st.product_id where st.product_id != ? and st.date < ? order by st.date desc limit 1`).get(fast.p, addDays(TODAY, -10)) as { p: number; sku: string; date: string };
  q.prepare('update stock_levels set on_hand = -5 where product_id = ? and date = ?').run(neg.p, neg.date);
  // An order imported twice.
  const order = q.prepare(`select o.id, p.sku from purchase_orders o join products p on p.id = o.product_id where o.status = 'received' order by o.id desc limit 1`).get() as { id: number; sku: string };
  q.prepare(`insert into purchase_orders (supplier_id, product_id, location_id, quantity, unit_cost, ordered_on, expected_on, received_on, status) select supplier_id, product_id, location_id, quantity, unit_cost, ordered_on, expected_on, received_on, status from purchase_orders where id = ?`).run(order.id);
  // A price ten times the usual on one ordinary day.
  const sale = q.prepare(`select s.product_id as p, p.sku, s.date, s.unit_price from sales s join products p on p.id = s.product_id where s.on_promo = 0 and s.product_id not in (?, ?) and s.date < ? order by s.date desc limit 1`).get(fast.p, neg.p, addDays(TODAY, -5)) as { p: number; sku: string; date: string; unit_price: number };
  q.prepare('update sales set unit_price = unit_price * 10 where product_id = ? and date = ?').run(sale.p, sale.date);

  const r = await runCheck(jobCtx(db, TODAY));
  const of = (rule: string) => r.findings.filter((f) => f.rule === rule);
  expect(of('sales-gaps')).toEqual([expect.objectContaining({ table: 'sales', sku: fast.sku, location: 'MAIN', date: gapFrom, to: gapTo, value: 10 })]);
  expect(of('negative-stock')).toEqual([expect.objectContaining({ table: 'stock_levels', sku: neg.sku, location: 'MAIN', date: neg.date, value: -5 })]);
  expect(of('duplicate-orders')).toEqual([expect.objectContaining({ table: 'purchase_orders', sku: order.sku, id: order.id, value: 2 })]);
  expect(of('price-outliers')).toEqual([expect.objectContaining({ table: 'sales', sku: sale.sku, location: 'MAIN', date: sale.date })]);
  // The missing sales and the negative count also break the stock balance, at the same places.
  expect(of('stock-balance').map((f) => f.sku)).toEqual(expect.arrayContaining([fast.sku, neg.sku]));
  expect(r.status).toBe('fail');
  expect(r.blocking_failures.sort()).toEqual(['duplicate-orders', 'negative-stock']);
  const score = (rule: string) => r.rules.find((x) => x.rule === rule)!;
  expect(score('negative-stock').failed).toBe(1);
  expect(score('negative-stock').score).toBeLessThan(100);
  expect(score('sales-values').score).toBe(100);

  // batch.checkFirst: the nightly batch refuses to run, and says why.
  const ctx = jobCtx(db, TODAY, { batch: { ...jobCtx(db, TODAY).config.batch, checkFirst: true } });
  await expect(runBatch(ctx, { kind: 'nightly' })).rejects.toThrow(JobError);
  await expect(runBatch(ctx, { kind: 'nightly' })).rejects.toThrow(/blocking rule\(s\) duplicate-orders, negative-stock; the batch did not run/);
  expect(q.prepare('select count(*) as n from batch_runs').get()).toEqual({ n: 0 });
  await db.close();

  // The command: exit 1, CSV lines naming each place.
  const out = join(dir, 'check.csv');
  const c = cli(['--db', path, '--as-of', TODAY, 'check', '--format', 'csv', '--out', out, '--quiet']);
  expect(c.code).toBe(1);
  const csv = readFileSync(out, 'utf8');
  expect(csv).toContain(`negative-stock,blocking,stock_levels,${neg.sku},MAIN,${neg.date}`);
  expect(csv).toContain(`sales-gaps,warning,sales,${fast.sku},MAIN,${gapFrom},${gapTo}`);
  const j = cli(['--db', path, '--as-of', TODAY, 'check', '--json', '--rule', 'sales-gaps', '--quiet']);
  expect(j.code).toBe(0);
  expect(JSON.parse(j.stdout).status).toBe('warn');
  expect(cli(['--db', path, 'check', '--format', 'xml']).code).toBe(2);
});

test('robust scale: MAD-based, and the mean absolute deviation when over half the values are equal', () => {
  // 1..5 and 100: median 3.5, |x - 3.5| = 2.5,1.5,.5,.5,1.5,96.5 -> MAD 1.5 -> scale 1.5 / 0.6745.
  expect(robustScale([1, 2, 3, 4, 5, 100]).median).toBe(3.5);
  expect(robustScale([1, 2, 3, 4, 5, 100]).scale).toBeCloseTo(1.5 / 0.6745, 12);
  // 0,0,0,0,8: median 0, MAD 0; mean |x - 0| = 1.6 -> 1.6 x 1.2533.
  expect(robustScale([0, 0, 0, 0, 8]).scale).toBeCloseTo(1.6 * 1.2533, 12);
});
