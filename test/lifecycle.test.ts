import { join } from 'node:path';
import { addDays } from '../src/dates.js';
import { generateSample } from '../src/io/sample.js';
import { initBackend } from '../src/ml/backend.js';
import { listModels, predictJob, rollbackModel, trainJob, validateJob } from '../src/jobs/forecasting.js';
import { jobCtx, newDb, tempDir } from './helpers.js';
import type { Db } from '../src/db/connection.js';
import { UsageError } from '../src/errors.js';

const TODAY = '2026-04-01';
let db: Db;
beforeAll(async () => {
  await initBackend();
  db = await newDb(join(tempDir(), 'l.db'));
  generateSample(db.sqlite!, { products: 12, locations: 1, days: 500, seed: 3, today: TODAY });
});
afterAll(async () => db.close());

const statuses = (sku: string) =>
  (db.sqlite!.prepare(`select m.version, m.status from models m join products p on p.id = m.product_id where p.sku = ? order by m.version`).all(sku) as { version: number; status: string }[]).map((r) => `${r.version}:${r.status}`);

test('first training activates passing models directly; predict uses them', async () => {
  const r = await trainJob.run(jobCtx(db, addDays(TODAY, -14)), {});
  expect(Number(r.summary.activated) + Number(r.summary.fallback) + Number(r.summary.rejected)).toBe(12);
  expect(Number(r.summary.activated)).toBeGreaterThanOrEqual(9);
  expect(statuses('SKU-00001')).toEqual(['1:active']);
  const p = await predictJob.run(jobCtx(db, addDays(TODAY, -14)), {});
  expect(p.summary.predictions).toBe(12 * 30);
});

test('a candidate failing the quality gate is rejected and the active model stays', async () => {
  // An impossible gate: RMSSE <= 0.01 and MAPE < 0.01 %.
  const ctx = jobCtx(db, TODAY, { train: { maxModelAgeDays: 28, gateMape: 0.01, gateRmsse: 0.01, origins: 3, backtestHorizon: 28, historyDays: 730 } });
  const r = await trainJob.run(ctx, { force: true, sku: ['SKU-00001'] });
  expect(r.summary.rejected).toBe(1);
  expect(statuses('SKU-00001')).toEqual(['1:active', '2:rejected']);
  const p = await predictJob.run(jobCtx(db, TODAY), {});
  const used = db.sqlite!.prepare(`select distinct m.version from forecasts f join models m on m.id = f.model_id join products p on p.id = f.product_id where p.sku = 'SKU-00001' and f.run_date = ?`).all(TODAY) as { version: number }[];
  expect(used).toEqual([{ version: 1 }]);
  // Series with no usable model (rejected at their first training) are served by the fallback, and counted.
  const withoutModel = (db.sqlite!.prepare(`select count(*) as n from products p where not exists (select 1 from models m where m.product_id = p.id and m.status = 'active')`).get() as { n: number }).n;
  expect(p.summary.fallback).toBe(withoutModel);
});

test('a passing candidate waits for validate, which promotes it (or rejects it) with the improvement', async () => {
  await trainJob.run(jobCtx(db, TODAY), { force: true, sku: ['SKU-00002'] });
  expect(statuses('SKU-00002')).toEqual(['1:active', '2:candidate']);
  const v = await validateJob.run(jobCtx(db, TODAY), {});
  expect(v.summary.candidates).toBe(1);
  const row = v.rows![0] as { decision: string; improvement_pct: number };
  expect(['approved', 'rejected']).toContain(row.decision);
  expect(typeof row.improvement_pct).toBe('number');
  expect(statuses('SKU-00002')).toEqual(row.decision === 'approved' ? ['1:retired', '2:active'] : ['1:active', '2:rejected']);
});

test('rollback restores the previous version', async () => {
  // Force a promotable candidate: retrain and validate until SKU-00003 has two versions, the new one active.
  await trainJob.run(jobCtx(db, TODAY), { force: true, sku: ['SKU-00003'] });
  db.sqlite!.prepare(`update models set status = 'retired' where status = 'active' and product_id = (select id from products where sku = 'SKU-00003')`).run();
  db.sqlite!.prepare(`update models set status = 'active' where status = 'candidate' and product_id = (select id from products where sku = 'SKU-00003')`).run();
  expect(statuses('SKU-00003')).toEqual(['1:retired', '2:active']);
  const r = await rollbackModel(jobCtx(db, TODAY), 'SKU-00003');
  expect(r).toEqual({ from: 2, to: 1 });
  expect(statuses('SKU-00003')).toEqual(['1:active', '2:retired']);
  await expect(rollbackModel(jobCtx(db, TODAY), 'SKU-00003')).rejects.toThrow(UsageError);
  await expect(rollbackModel(jobCtx(db, TODAY), 'NOPE')).rejects.toThrow(/unknown SKU/);
  expect(await listModels(jobCtx(db, TODAY), { sku: 'SKU-00003' })).toHaveLength(1);
});
