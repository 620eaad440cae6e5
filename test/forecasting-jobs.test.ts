import { join } from 'node:path';
import { addDays } from '../src/dates.js';
import { generateSample } from '../src/io/sample.js';
import { initBackend } from '../src/ml/backend.js';
import { predictJob, trainJob, validateJob } from '../src/jobs/forecasting.js';
import { jobCtx, newDb, tempDir } from './helpers.js';
import type { Db } from '../src/db/connection.js';

const TODAY = '2026-04-01';
const noCache = { historyCache: false };

async function sampleDb(products = 6, days = 400, today = TODAY): Promise<Db> {
  const db = await newDb(join(tempDir(), 'f.db'));
  generateSample(db.sqlite!, { products, locations: 1, days, seed: 5, today });
  return db;
}

const idOf = (db: Db, sku: string) => (db.sqlite!.prepare('select id from products where sku = ?').get(sku) as { id: number }).id;

beforeAll(async () => {
  await initBackend();
});

test('one series with a quantity of 1e308: train skips and names it, predict forecasts all the others and names it', async () => {
  const db = await sampleDb();
  const bad = idOf(db, 'SKU-00002');
  db.sqlite!.prepare(`update sales set quantity = 1e308 where product_id = ? and date = (select max(date) from sales where product_id = ?)`).run(bad, bad);
  const t = await trainJob.run(jobCtx(db, TODAY, noCache), {});
  expect(t.summary.skipped).toBe(1);
  expect(String(t.summary.skipped_series)).toMatch(/SKU-00002/);
  const p = await predictJob.run(jobCtx(db, TODAY, noCache), {});
  expect(p.summary.skipped).toBe(1);
  expect(String(p.summary.problem_series)).toMatch(/SKU-00002@MAIN \(demand 1e\+308/);
  expect(p.summary.predictions).toBe(5 * 30);
  const rows = db.sqlite!.prepare('select product_id, count(*) as n from forecasts where run_date = ? group by product_id').all(TODAY) as { product_id: number; n: number }[];
  expect(rows.map((r) => r.product_id)).not.toContain(bad);
  expect(rows).toHaveLength(5);
  await db.close();
});

test('validate with a deactivated candidate: no crash, that candidate rejected with the reason, the others scored with their own models', async () => {
  // Two identical databases: in the first, SKU-00001 (a candidate) is deactivated before validate.
  const run = async (deactivate: boolean) => {
    const db = await sampleDb();
    await trainJob.run(jobCtx(db, addDays(TODAY, -7), noCache), {});
    await trainJob.run(jobCtx(db, TODAY, noCache), { force: true, sku: ['SKU-00001', 'SKU-00003'] });
    if (deactivate) db.sqlite!.prepare(`update products set active = 0 where sku = 'SKU-00001'`).run();
    const v = await validateJob.run(jobCtx(db, TODAY, noCache), {});
    const cands = db.sqlite!.prepare(`select m.id, p.sku, m.algorithm from models m join products p on p.id = m.product_id where m.version = 2 order by p.sku`).all() as { id: number; sku: string; algorithm: string }[];
    await db.close();
    return { v, cands };
  };
  const a = await run(true);
  const b = await run(false);
  const rowOf = (r: typeof a, sku: string) => {
    const id = r.cands.find((c) => c.sku === sku)!.id;
    return r.v.rows!.find((x) => (x as { model: number }).model === id) as { algorithm: string; rmsse: number | null; decision: string; why?: string };
  };
  expect(rowOf(a, 'SKU-00001').decision).toBe('rejected');
  expect(rowOf(a, 'SKU-00001').why).toMatch(/no sales history for this series/);
  // SKU-00003 is scored exactly as when nothing was deactivated: paired with its own candidate.
  expect(rowOf(a, 'SKU-00003').algorithm).toBe(a.cands.find((c) => c.sku === 'SKU-00003')!.algorithm);
  expect(rowOf(a, 'SKU-00003').rmsse).not.toBeNull();
  // Scored as when nothing was deactivated, up to the batched models' share of SKU-00001: they fit across the
  // series (a shared profile, a history that starts on the batch's first known day), so leaving one out moves
  // the others' fit a little; a candidate paired with another series' forecast would be far off.
  expect(Math.abs(rowOf(a, 'SKU-00003').rmsse! / rowOf(b, 'SKU-00003').rmsse! - 1)).toBeLessThan(0.03);
});

test('train that rejects every series says why, naming history that ends long before --as-of', async () => {
  const db = await sampleDb(4, 300, '2026-01-01');
  const impossible = { ...noCache, train: { maxModelAgeDays: 28, gateMape: 0.01, gateRmsse: 0.0001, origins: 3, backtestHorizon: 28, historyDays: 730, globalModel: false, holdout: true } };
  // Give every series an incumbent first, so that a failing candidate is rejected rather than kept as the fallback.
  await trainJob.run(jobCtx(db, '2026-01-01', noCache), {});
  // Incumbents of a kind this backtest does not score (Croston is no longer a candidate): they stay when a candidate fails.
  db.sqlite!.prepare(`update models set algorithm = 'croston' where status in ('active', 'fallback')`).run();
  // The coverage check would refuse 90 days of missing sales first (exit 1); widen it to reach the gate's own message.
  const ctx = jobCtx(db, '2026-04-01', impossible);
  ctx.config.data.maxStalenessDays = 365;
  const r = await trainJob.run(ctx, { force: true });
  expect(r.summary.rejected).toBe(4);
  // The 91 days without any sales row are sales not imported (unknown demand), not 91 days of zero sales: no
  // backtest window holds known demand, and the account says so and why.
  expect(String(r.summary.all_rejected)).toMatch(/^4 x no backtest window with known demand; /);
  expect(String(r.summary.all_rejected)).toMatch(/sales history ends 2025-12-31, 91 days before 2026-04-01/);
  // With the history up to date, the gate is what rejects them, and the account names its rule.
  const current = jobCtx(db, '2026-01-01', impossible);
  const g = await trainJob.run(current, { force: true });
  expect(g.summary.rejected).toBe(4);
  expect(String(g.summary.all_rejected)).toMatch(/^\d x RMSSE # > #/);
  expect(String(g.summary.all_rejected).match(/(\d) x /g)!.reduce((n, m) => n + Number(m[0]), 0)).toBe(4);
  expect(String(g.summary.all_rejected)).not.toMatch(/sales history ends/);
  await db.close();
});

test('intervals follow the configured level: wider at 95 % than at 80 %, and bounds calibrated at another level are not reused', async () => {
  const db = await sampleDb(6, 400);
  const width = () => (db.sqlite!.prepare('select avg(yhat_hi - yhat_lo) as w from forecasts where run_date = ?').get(TODAY) as { w: number }).w;
  await trainJob.run(jobCtx(db, TODAY, noCache), {});
  const p80 = await predictJob.run(jobCtx(db, TODAY, noCache), {});
  expect(p80.summary.intervals_at_other_level).toBeUndefined();
  const w80 = width();
  const p95stale = await predictJob.run(jobCtx(db, TODAY, { ...noCache, interval: 0.95 }), {});
  expect(p95stale.summary.intervals_at_other_level).toBe(6);
  await trainJob.run(jobCtx(db, TODAY, { ...noCache, interval: 0.95 }), { force: true });
  // The retrained versions are candidates beside the active ones: activate them for this check.
  db.sqlite!.prepare(`update models set status = 'retired' where status = 'active'`).run();
  db.sqlite!.prepare(`update models set status = 'active' where status = 'candidate'`).run();
  const p95 = await predictJob.run(jobCtx(db, TODAY, { ...noCache, interval: 0.95 }), {});
  expect(p95.summary.intervals_at_other_level).toBeUndefined();
  expect(width()).toBeGreaterThan(w80 * 1.2);
  await db.close();
});
