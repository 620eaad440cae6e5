/**
 * The same answers on both databases: one small sample (trained on SQLite), the
 * same rows copied into a fresh PostgreSQL database, then the nightly batch on
 * each. Forecasts (to 1e-9), alerts, notifications, KPIs, forecast metrics and
 * the operator metrics must be the same.
 */
import { join } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { openDb, type Db } from '../src/db/connection.js';
import { collectSnapshot } from '../src/ops/metrics.js';
import { cli, copyRows, newDb, tempDir, testConfig } from './helpers.js';
import { describePg, startPostgres, type PgServer } from './pg-server.js';

const AS_OF = '2026-04-01';
/** Columns that record when or by whom, not what: they differ between any two runs. */
const VOLATILE = new Set(['computed_at', 'expires_at', 'sent_at', 'created_at', 'trained_at', 'started_at', 'finished_at', 'claimed_by', 'claim_until', 'changed_at']);
/** Surrogate keys: compared through the rows they point to, not by value. */
const isKey = (k: string) => k === 'id' || (k.endsWith('_id') && k !== 'product_id' && k !== 'location_id') || k === 'idempotency_key';

/** A row (or a JSON payload inside it) without volatile columns and surrogate keys; JSON text parsed. */
function normalize(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(normalize);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) if (!VOLATILE.has(k) && !isKey(k)) out[k] = normalize(x);
    return out;
  }
  if (typeof v === 'string' && /^[[{]/.test(v)) {
    try {
      return normalize(JSON.parse(v));
    } catch {
      return v;
    }
  }
  return v;
}

/** Sort key: the row with floats rounded (so rows pair up across databases before the exact comparison). */
const sortKey = (r: unknown) => JSON.stringify(r, (_k, x) => (typeof x === 'number' ? Number(x.toPrecision(6)) : x));

async function rows(db: Db, table: 'forecasts' | 'alerts' | 'notifications' | 'kpi_cache' | 'forecast_metrics' | 'metrics_history' | 'retrain_flags' | 'savings'): Promise<unknown[]> {
  const all = (await db.kysely.selectFrom(table).selectAll().execute()) as Record<string, unknown>[];
  return all.map(normalize).sort((a, b) => sortKey(a).localeCompare(sortKey(b)));
}

/** Deep equality, numbers within 1e-9 (relative above 1). Returns the first difference, or null. */
function firstDifference(a: unknown, b: unknown, path = ''): string | null {
  if (typeof a === 'number' && typeof b === 'number') return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a)) ? null : `${path}: ${a} vs ${b}`;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return `${path}: ${a.length} vs ${b.length} rows`;
    for (let i = 0; i < a.length; i++) {
      const d = firstDifference(a[i], b[i], `${path}[${i}]`);
      if (d) return d;
    }
    return null;
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) {
      const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`);
      if (d) return d;
    }
    return null;
  }
  return a === b ? null : `${path}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`;
}

describePg('the nightly batch on PostgreSQL and on SQLite', () => {
  let server: PgServer;
  let lite: string;
  let pgUrl: string;
  const stateRoot = mkdtempSync(join(tmpdir(), 'optiflow-parity-'));

  beforeAll(async () => {
    server = startPostgres();
    lite = join(tempDir(), 'parity.db');
    expect(cli(['sample', '--db', lite, '--products', '8', '--days', '400', '--seed', '11', '--as-of', AS_OF, '-q']).code).toBe(0);
    expect(cli(['train', '--db', lite, '--as-of', AS_OF, '-q']).code).toBe(0);
    // The same rows (sample and trained models) in PostgreSQL.
    pgUrl = await server.freshDatabase();
    const from = openDb(lite);
    const to = await newDb(pgUrl);
    await copyRows(from, to);
    await from.close();
    await to.close();
  }, 300_000);
  afterAll(async () => {
    await server?.stop();
  });

  test('forecasts, alerts, notifications, KPIs and metrics are the same', async () => {
    const env = { OPTIFLOW_BATCH_STATE_DIR: join(stateRoot, '{db}'), OPTIFLOW_BATCH_THREADS: 'false' };
    const a = cli(['batch', '--db', lite, '--as-of', AS_OF, '-q'], { env });
    expect(a.stderr).toBe('');
    expect(a.code).toBe(0);
    const b = cli(['batch', '--db', pgUrl, '--as-of', AS_OF, '-q'], { env });
    expect(b.stderr).toBe('');
    expect(b.code).toBe(0);

    const dl = openDb(lite);
    const dp = openDb(pgUrl);
    try {
      for (const t of ['forecasts', 'alerts', 'notifications', 'kpi_cache', 'forecast_metrics', 'metrics_history', 'retrain_flags', 'savings'] as const) {
        const [x, y] = [await rows(dl, t), await rows(dp, t)];
        if (t === 'forecasts' || t === 'kpi_cache') expect(x.length).toBeGreaterThan(0);
        expect({ table: t, difference: firstDifference(x, y) }).toEqual({ table: t, difference: null });
      }
    } finally {
      await dl.close();
      await dp.close();
    }
    // The operator's figures (Prometheus metrics) read from each database.
    const figures = async (db: string) => {
      const s = await collectSnapshot(testConfig(db, AS_OF));
      return { series: s.seriesForecast, fallback: s.fallbackSeries, run: s.forecastRunDate, alerts: s.alerts, pending: s.notificationsPending, failed: s.notificationsFailed, yesterday: s.yesterday, freshness: s.freshnessDays };
    };
    const [fl, fp] = [await figures(lite), await figures(pgUrl)];
    expect(fl.series).toBeGreaterThan(0);
    expect(firstDifference(fl, fp)).toBeNull();
  }, 300_000);
});
