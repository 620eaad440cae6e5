/**
 * Real, incomplete data: right, or a clear refusal. State per database, stock
 * that was never imported is unknown (not zero), days after the last sale are
 * missing (not zero demand), and messages name the file and the fix.
 */
import { chmodSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { predictJob, trainJob } from '../src/jobs/forecasting.js';
import { alertsJob } from '../src/jobs/alerts.js';
import { kpisJob } from '../src/jobs/dashboard.js';
import { checkHealth } from '../src/batch/health.js';
import { StaleDataError } from '../src/db/coverage.js';
import { stateDir } from '../src/config.js';
import { cli, jobCtx, sampleDb, tempDir, testConfig } from './helpers.js';

const asOf = '2026-06-01';
const yhatSum = (db: { sqlite: import('better-sqlite3').Database | null }) => (db.sqlite!.prepare('select sum(yhat) as s from forecasts where run_date = ?').get(asOf) as { s: number }).s;

describe('state per database', () => {
  test('two databases in one folder: each is forecast from its own history (history cache, default state folder)', async () => {
    const dir = tempDir();
    const a = await sampleDb({ products: 12, days: 400, seed: 42, today: asOf }, dir);
    // sampleDb names the file sample.db: a second database beside it under another name.
    const { newDb } = await import('./helpers.js');
    const { generateSample } = await import('../src/io/sample.js');
    const b = await newDb(join(dir, 'b.db'));
    generateSample(b.sqlite!, { products: 12, locations: 1, days: 400, seed: 7, today: asOf });
    const shared = { historyCache: true, batch: { ...testConfig('x', asOf).batch, stateDir: '' } };
    await predictJob.run(jobCtx(a.db, asOf, shared), {});
    await predictJob.run(jobCtx(b, asOf, shared), {});
    const bCached = yhatSum(b);
    await predictJob.run(jobCtx(b, asOf, { historyCache: false }), {});
    expect(bCached).toBeCloseTo(yhatSum(b), 6);
    expect(bCached).not.toBeCloseTo(yhatSum(a.db), 0);
    // Two state folders, each named after its database.
    expect(readdirSync(join(dir, '.optiflow')).sort()).toEqual(['b.db', 'sample.db']);
    expect(existsSync(join(stateDir(jobCtx(b, asOf, shared).config), 'history-cache.bin'))).toBe(true);
    await a.db.close();
    await b.close();
  });
});

describe('missing stock is unknown, not zero', () => {
  test('sales without any stock rows: no stock alert, no notification; the summary and health name how many and the fix', async () => {
    const { db, path } = await sampleDb({ products: 10, days: 200, seed: 11, today: asOf });
    db.sqlite!.exec('delete from stock_levels; delete from purchase_orders');
    const ctx = jobCtx(db, asOf, { historyCache: false });
    await predictJob.run(ctx, {});
    const r = await alertsJob.run(ctx, { emit: () => undefined });
    expect(r.summary.unknown_stock).toBe(10);
    expect(r.summary.unknown_stock_fix).toBe('optiflow import stock FILE');
    expect(db.sqlite!.prepare(`select count(*) as n from alerts where kind in ('stockout', 'overstock', 'expiry')`).get()).toEqual({ n: 0 });
    expect(db.sqlite!.prepare('select count(*) as n from notifications').get()).toEqual({ n: 0 });
    const k = await kpisJob.run(ctx, { refresh: true });
    expect(k.summary.critique).toBe(0);
    expect(k.summary.critical_products).toBe(0);
    expect(k.summary.stock_unknown_series).toBe(10);
    const h = await checkHealth(testConfig(path, asOf));
    const stock = h.checks.find((c) => c.check === 'stock data')!;
    expect(stock.status).toBe('warn');
    expect(stock.detail).toMatch(/10 series .*optiflow import stock FILE/);
    await db.close();
  });
});

describe('days after the last imported sale are missing data, not zero demand', () => {
  test('predict, alerts and train refuse 14 days after the last sale, naming the date and the fix; a wider limit lets them run', async () => {
    const { db, path } = await sampleDb({ products: 6, days: 200, seed: 5, today: asOf });
    const later = '2026-06-15';
    const ctx = jobCtx(db, later, { historyCache: false });
    for (const job of [predictJob, alertsJob, trainJob]) {
      const err = await job.run(ctx, {}).then(() => null, (e) => e);
      expect(err).toBeInstanceOf(StaleDataError);
      expect(err.exitCode).toBe(1);
      expect(err.message).toMatch(/ends on 2026-05-31/);
      expect(err.message).toMatch(/optiflow import sales FILE/);
    }
    const h = await checkHealth(testConfig(path, later));
    expect(h.checks.find((c) => c.check === 'sales data')!.status).toBe('fail');
    expect(h.status).toBe('unhealthy');
    const wide = jobCtx(db, later, { historyCache: false, data: { ...testConfig(path, later).data, maxStalenessDays: 30 } });
    const r = await predictJob.run(wide, {});
    expect(Number(r.summary.series)).toBeGreaterThan(0);
    await db.close();
  });
  test('the CLI exits 1 with the message', async () => {
    const { db, path } = await sampleDb({ products: 5, days: 120, seed: 2, today: asOf });
    await db.close();
    const r = cli(['predict', '--db', path, '--as-of', '2026-07-01']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ends on 2026-05-31.*optiflow import sales FILE/);
  });
});

describe('messages', () => {
  test('export to a missing folder: exit 2, the folder named, no stack trace', async () => {
    const { db, path } = await sampleDb({ products: 5, days: 90, seed: 1, today: asOf });
    await db.close();
    const r = cli(['export', 'sales', '--db', path, '--output', '/missing/dir/x.csv']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/folder \/missing\/dir does not exist/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
  test('init in a missing folder says the folder is missing, not to run init', () => {
    const r = cli(['init', '--db', '/missing/dir/x.db']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/folder \/missing\/dir does not exist/);
    expect(r.stderr).not.toMatch(/optiflow init/);
  });
  test('a mistyped command keeps commander\'s suggestion', () => {
    const r = cli(['predcit']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Did you mean predict\?/);
  });
  test('a read-only database: the write names the file; health is not healthy', async () => {
    const dir = tempDir();
    chmodSync(dir, 0o755);
    const { db, path } = await sampleDb({ products: 5, days: 90, seed: 1, today: asOf }, dir);
    db.sqlite!.pragma('wal_checkpoint(TRUNCATE)');
    await db.close();
    chmodSync(path, 0o444);
    // Another user than the owner (root ignores file modes).
    const asNobody = { uid: 65534, gid: 65534 };
    const r = cli(['predict', '--db', path, '--as-of', asOf], asNobody);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`database ${path} is read-only`);
    const h = cli(['health', '--db', path, '--as-of', asOf, '--json'], asNobody);
    expect(h.code).toBe(2);
    expect(JSON.parse(h.stdout).status).toBe('unhealthy');
  });
});
