/**
 * The same small sample on SQLite and on PostgreSQL: the sample writer, the
 * notification outbox and the dashboard reads give identical rows (numbers to
 * 1e-9), and two senders at once on PostgreSQL deliver each notification once.
 * Then, from the same forecasts (made on SQLite, copied over), the alerts job
 * with its notifications, the KPIs and the dashboard jobs give the same results
 * and stored rows on both.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { migrateToLatest, openDb, type Db } from '../src/db/connection.js';
import { generateSample } from '../src/io/sample.js';
import { sendPending } from '../src/jobs/notify.js';
import { DEFAULTS } from '../src/config.js';
import { activeAlerts, alertCountsOn, writeAlertsOfDay } from '../src/db/alerts.js';
import { forEachSeriesSales, lastSaleBefore } from '../src/db/kpis.js';
import { inTransaction } from '../src/db/query.js';
import { describePg, startPostgres, type PgServer } from './pg-server.js';
import { jobCtx, tempDir } from './helpers.js';
import { predictJob } from '../src/jobs/forecasting.js';
import { alertsJob } from '../src/jobs/alerts.js';
import { computeKpis, dormantJob, kpisJob, revenueJob, savingsJob, topUrgentJob, trendsJob } from '../src/jobs/dashboard.js';
import { ALL_TABLES } from '../src/db/types.js';
import { sql } from 'kysely';
import { expectSame } from './pg-compare.js';

const DAY = '2026-06-01';
const SAMPLE = { products: 8, locations: 2, days: 120, seed: 13, today: DAY };
const TABLES: Record<string, string[]> = {
  locations: ['id'],
  products: ['id'],
  suppliers: ['id'],
  supplier_products: ['supplier_id', 'product_id'],
  price_breaks: ['supplier_id', 'product_id', 'min_qty'],
  sales: ['product_id', 'location_id', 'date'],
  stock_levels: ['product_id', 'location_id', 'date'],
  purchase_orders: ['id'],
  events: ['id'],
  weather: ['location_id', 'date'],
  sensor_readings: ['location_id', 'zone', 'ts'],
  quality_incidents: ['product_id', 'location_id', 'date'],
};

/** Rows with numbers as numbers (PostgreSQL returns bigint and numeric as text), volatile columns dropped. */
function norm(rows: Record<string, unknown>[], drop: string[] = []): Record<string, unknown>[] {
  return rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !drop.includes(k)).map(([k, v]) => [k, typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v) && k !== 'date' ? Number(v) : v])));
}

const expectSameRows = (a: Record<string, unknown>[], b: Record<string, unknown>[]) => expectSame(a, b);

async function tableRows(db: Db, t: string, order: string[]): Promise<Record<string, unknown>[]> {
  let q = db.kysely.selectFrom(t as 'sales').selectAll();
  for (const c of order) q = q.orderBy(c as 'date');
  return norm((await q.execute()) as Record<string, unknown>[], ['changed_at']);
}

describePg('dashboard, alerts and notifications on PostgreSQL', () => {
  let server: PgServer;
  let lite: Db;
  let pg: Db;
  let pgUrl: string;
  const dir = tempDir();
  beforeAll(async () => {
    server = startPostgres();
    pgUrl = await server.freshDatabase();
    lite = openDb(join(dir, 's.db'));
    pg = openDb(pgUrl);
    for (const db of [lite, pg]) {
      const m = await migrateToLatest(db);
      if (m.error) throw m.error;
      await generateSample(db, SAMPLE);
    }
  }, 120_000);
  afterAll(async () => {
    await lite?.close();
    await pg?.close();
    await server?.stop();
  });

  test('the sample writes the same rows on both databases, and later inserts get fresh ids', async () => {
    for (const [t, order] of Object.entries(TABLES)) {
      const a = await tableRows(lite, t, order);
      expect(a.length).toBeGreaterThan(0);
      expectSameRows(a, await tableRows(pg, t, order));
    }
    for (const db of [lite, pg]) {
      const r = await db.kysely.insertInto('locations').values({ code: 'NEW', name: 'after the sample' }).returning('id').executeTakeFirstOrThrow();
      expect(r.id).toBe(SAMPLE.locations + 1);
      await db.kysely.deleteFrom('locations').where('code', '=', 'NEW').execute();
    }
  });

  test('sales series by series, last sales and alerts read the same on both', async () => {
    const visit = async (db: Db) => {
      const out: unknown[] = [];
      await forEachSeriesSales(db, '2026-03-01', DAY, (p, l, c, qs) => out.push([p, l, c, qs.length, qs.reduce((a, b) => a + b, 0)]));
      // Series order follows each database's plan: compare as sets.
      return out.sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));
    };
    const a = await visit(lite);
    expect(a.length).toBeGreaterThan(SAMPLE.products);
    expect(await visit(pg)).toEqual(a);
    const series = Array.from({ length: SAMPLE.products }, (_, i) => ({ productId: i + 1, locationId: 2 }));
    const la = await lastSaleBefore(lite.kysely, DAY, series);
    expect(la.size).toBeGreaterThan(0);
    expect([...(await lastSaleBefore(pg.kysely, DAY, series))].sort()).toEqual([...la].sort());
  });

  test('a day of alerts, re-run, and its notifications give the same rows; the outbox sends each once', async () => {
    const drafts = (n: number) =>
      Array.from({ length: n }, (_, i) => ({
        productId: i + 1, locationId: 1, severity: (i % 3 === 0 ? 'CRITIQUE' : i % 3 === 1 ? 'ATTENTION' : 'INFO') as 'CRITIQUE' | 'ATTENTION' | 'INFO', kind: 'stockout' as const,
        stockoutDate: i % 2 ? null : `2026-06-0${2 + (i % 5)}`, daysOfCover: i * 0.7, suggestedQty: i * 3, revenueAtRisk: i * 1.25, message: `series ${i + 1}`,
      }));
    const run = async (db: Db, day: string, n: number) =>
      inTransaction(db, async (trx) => {
        const w = await writeAlertsOfDay(trx, day, drafts(n));
        const { queueNotifications } = await import('../src/db/alerts.js');
        await queueNotifications(trx, w.filter((a) => a.needsNotification).map((a) => ({ alert_id: a.id, channel: 'file', payload: JSON.stringify({ alert_id: a.id }), created_at: `${day}T00:00:00Z`, idempotency_key: `${a.id}:${day}` })));
        return w.map((a) => [a.id, a.created, a.needsNotification]);
      });
    for (const [day, n] of [['2026-05-30', 8], [DAY, 8], [DAY, 5]] as const) {
      const a = await run(lite, day, n);
      expect(await run(pg, day, n)).toEqual(a);
    }
    const rows = async (db: Db) => ({
      alerts: norm((await db.kysely.selectFrom('alerts').selectAll().orderBy('id').execute()) as Record<string, unknown>[]),
      active: norm((await activeAlerts(db.kysely, DAY)) as unknown as Record<string, unknown>[]),
      counts: await alertCountsOn(db.kysely, DAY),
    });
    const a = await rows(lite);
    expect(a.active.length).toBe(5);
    expect(a.counts.bySeverity.CRITIQUE).toBe(2);
    const b = await rows(pg);
    expectSameRows(a.alerts, b.alerts);
    expectSameRows(a.active, b.active);
    expect(b.counts).toEqual(a.counts);

    // Two senders at once on PostgreSQL (separate pools): every notification delivered exactly once.
    const out = join(dir, 'pg.jsonl');
    const cfg = { ...DEFAULTS.notify, channel: 'file', target: out };
    const other = openDb(pgUrl);
    const [s1, s2] = await Promise.all([sendPending(pg, cfg, out), sendPending(other, cfg, out)]);
    await other.close();
    const liteOut = join(dir, 'lite.jsonl');
    const sl = await sendPending(lite, { ...cfg, target: liteOut }, liteOut);
    expect(s1.sent + s2.sent).toBe(sl.sent);
    expect(sl.sent).toBeGreaterThan(2);
    const lines = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { alert_id: number; idempotency_key: string }) : []);
    const ids = (f: string) => lines(f).map((l) => l.alert_id).sort((x, y) => x - y);
    expect(ids(out)).toEqual(ids(liteOut));
    expect(new Set(ids(out)).size).toBe(ids(out).length);
    const notif = async (db: Db) => norm((await db.kysely.selectFrom('notifications').selectAll().orderBy('id').execute()) as Record<string, unknown>[], ['sent_at', 'created_at']);
    expectSameRows(await notif(lite), await notif(pg));
    const { unsentCount } = await import('../src/db/notifications.js');
    expect(await unsentCount(pg.kysely)).toBe(0);
    expect(sl.pending).toBe(0);
  });

  test('from the same forecasts, alerts (with notifications), KPIs and the dashboard jobs agree on both databases', async () => {
    const a = openDb(join(dir, 'jobs.db'));
    const b = openDb(await server.freshDatabase());
    try {
      for (const db of [a, b]) {
        const m = await migrateToLatest(db);
        if (m.error) throw m.error;
      }
      await generateSample(a, { products: 10, locations: 1, days: 420, seed: 5, today: DAY });
      await predictJob.run(jobCtx(a, DAY, { historyCache: false } as never), {});
      // A few shelves empty last night: CRITIQUE alerts and notifications.
      await sql`update stock_levels set on_hand = 0 where date = (select max(date) from stock_levels s2 where s2.product_id = stock_levels.product_id and s2.location_id = stock_levels.location_id) and product_id <= 4`.execute(a.kysely);
      // The same rows on PostgreSQL, ids included; then each id sequence moves past them.
      for (const t of ALL_TABLES.filter((x) => x !== 'meta')) {
        const rows = (await a.kysely.selectFrom(t as 'sales').selectAll().execute()) as Record<string, unknown>[];
        for (let i = 0; i < rows.length; i += 2000) await b.kysely.insertInto(t as 'sales').values(rows.slice(i, i + 2000) as never).execute();
      }
      const seqs = await sql<{ t: string }>`select table_name as t from information_schema.columns where table_schema = current_schema() and column_name = 'id' and column_default like 'nextval%'`.execute(b.kysely);
      for (const { t } of seqs.rows) await sql`select setval(pg_get_serial_sequence(${t}, 'id'), coalesce((select max(id) from ${sql.table(t)}), 0) + 1, false)`.execute(b.kysely);

      const out = { a: join(dir, 'a.jsonl'), b: join(dir, 'b.jsonl') };
      const results: Record<string, unknown>[] = [];
      for (const [db, file] of [[a, out.a], [b, out.b]] as const) {
        // State files (history cache) in the test's folder, not beside a database URL.
        const ctx = () => jobCtx(db, DAY, { notify: { ...DEFAULTS.notify, channel: 'file', target: file }, batch: { stateDir: join(dir, `state-${db.dialect}`) } } as never);
        const r: Record<string, unknown> = {};
        for (const [name, job] of Object.entries({ alertsRun: alertsJob, alertsAgain: alertsJob, savings: savingsJob, kpis: kpisJob, revenue: revenueJob, trends: trendsJob, top: topUrgentJob, dormant: dormantJob })) {
          const res = await job.run(ctx(), {});
          r[name] = { summary: res.summary, rows: res.rows };
        }
        const k = await computeKpis(ctx());
        r.computed = k;
        for (const t of ['alerts', 'notifications', 'savings', 'revenue_daily', 'trends', 'dormant_stock'])
          r[t] = norm((await db.kysely.selectFrom(t as 'alerts').selectAll().execute()) as Record<string, unknown>[], ['sent_at', 'created_at', 'details']);
        results.push(r);
      }
      const [ra, rb] = results as Record<string, Record<string, unknown>>[];
      expect(Number((ra.alertsRun.summary as Record<string, number>).critique)).toBeGreaterThan(0);
      expect(Number((ra.alertsRun.summary as Record<string, number>).notifications_sent)).toBeGreaterThan(0);
      for (const t of ['alerts', 'notifications', 'revenue_daily', 'trends', 'savings']) expect([t, (ra[t] as unknown as unknown[]).length > 0]).toEqual([t, true]);
      expect(Number((ra.alertsAgain.summary as Record<string, number>).notifications_queued)).toBe(0);
      const sortRows = (x: unknown) => (Array.isArray(x) ? norm(x as Record<string, unknown>[]).sort((p, q) => JSON.stringify(p).localeCompare(JSON.stringify(q))) : x);
      for (const key of Object.keys(ra)) {
        const x = ra[key];
        const y = rb[key];
        if (Array.isArray(x)) expectSameRows(sortRows(x) as Record<string, unknown>[], sortRows(y) as Record<string, unknown>[]);
        else {
          const { rows: xr, summary: xs, ...xo } = x as Record<string, unknown>;
          const { rows: yr, summary: ys, ...yo } = y as Record<string, unknown>;
          if (xs !== undefined) expectSameRows([norm([xs as Record<string, unknown>])[0]], [norm([ys as Record<string, unknown>])[0]]);
          if (xr !== undefined) expectSameRows(norm(xr as Record<string, unknown>[]), norm(yr as Record<string, unknown>[]));
          expect(JSON.parse(JSON.stringify(yo), (_, v) => (typeof v === 'number' ? Math.round(v * 1e6) / 1e6 : v))).toEqual(JSON.parse(JSON.stringify(xo), (_, v) => (typeof v === 'number' ? Math.round(v * 1e6) / 1e6 : v)));
        }
      }
      const delivered = (f: string) => readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(delivered(out.b)).toEqual(delivered(out.a));
    } finally {
      await a.close();
      await b.close();
    }
  }, 120_000);
});
