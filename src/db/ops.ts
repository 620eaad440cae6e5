/**
 * Queries of the operations commands (health, doctor, cleanup, demo, db status):
 * the same answers on SQLite and PostgreSQL; where the databases differ (integrity
 * checks, writability, VACUUM, size) the function says what it did on which.
 */
import { sql } from 'kysely';
import { statSync, existsSync } from 'node:fs';
import type { Db } from './connection.js';
import { canWrite, isReadOnlyError } from './connection.js';
import { num, type Q } from './query.js';

/** Reachability and integrity: SQLite's quick_check, or a round trip and the server version on PostgreSQL. */
export async function probeDatabase(db: Db): Promise<{ ok: boolean; detail: string }> {
  if (db.sqlite) {
    const r = db.sqlite.pragma('quick_check', { simple: true });
    return { ok: r === 'ok', detail: r === 'ok' ? 'quick_check ok' : `quick_check: ${String(r)}` };
  }
  const r = await sql<{ v: string }>`select current_setting('server_version') as v`.execute(db.kysely);
  return { ok: true, detail: `server PostgreSQL ${r.rows[0]?.v ?? '?'}` };
}

class Rollback extends Error {}

/**
 * Can this process write to the database? A write in a transaction, rolled back:
 * SQLite's write lock on the file, or on PostgreSQL a table created and dropped
 * (fails on a read-only server or without the privilege).
 */
export async function canWriteDb(db: Db): Promise<boolean> {
  if (db.sqlite) return canWrite(db.sqlite);
  try {
    await db.kysely.transaction().execute(async (trx) => {
      await sql`create table optiflow_write_probe (x integer)`.execute(trx);
      throw new Rollback();
    });
  } catch (e) {
    if (e instanceof Rollback) return true;
    const code = (e as { code?: string }).code ?? '';
    // 25006: read-only transaction (a standby or default_transaction_read_only); 42501: insufficient privilege.
    if (code === '25006' || code === '42501' || isReadOnlyError(e)) return false;
    throw e;
  }
  return true;
}

/** Series with a forecast issued on a run date. */
export async function seriesForecastOn(q: Q, runDate: string): Promise<number> {
  const r = await q
    .selectFrom((eb) => eb.selectFrom('forecasts').select(['product_id', 'location_id']).distinct().where('run_date', '=', runDate).as('x'))
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirst();
  return num(r?.n);
}

/** Active (or fallback) models, and how many were trained on data ending before `trainedBefore`. */
export async function modelAges(q: Q, trainedBefore: string): Promise<{ n: number; old: number }> {
  const r = await q
    .selectFrom('models')
    .select((eb) => [eb.fn.countAll().as('n'), eb.fn.sum<number>(eb.case().when('train_end', '<', trainedBefore).then(1).else(0).end()).as('old')])
    .where('status', 'in', ['active', 'fallback'])
    .executeTakeFirst();
  return { n: num(r?.n), old: num(r?.old) };
}

/** Models by outcome: all, usable (active or fallback), rejected by the gate. */
export async function modelOutcomes(q: Q): Promise<{ n: number; usable: number; rejected: number }> {
  const r = await q
    .selectFrom('models')
    .select((eb) => [
      eb.fn.countAll().as('n'),
      eb.fn.sum<number>(eb.case().when('status', 'in', ['active', 'fallback']).then(1).else(0).end()).as('usable'),
      eb.fn.sum<number>(eb.case().when('status', '=', 'rejected').then(1).else(0).end()).as('rejected'),
    ])
    .executeTakeFirst();
  return { n: num(r?.n), usable: num(r?.usable), rejected: num(r?.rejected) };
}

/** Notifications that failed and wait to be sent again, with one of their errors. */
export async function failedNotifications(q: Q): Promise<{ n: number; error: string | null }> {
  const r = await q
    .selectFrom('notifications')
    .select((eb) => [eb.fn.countAll().as('n'), eb.fn.max('error').as('err')])
    .where('sent_at', 'is', null)
    .where('error', 'is not', null)
    .executeTakeFirst();
  return { n: num(r?.n), error: (r?.err as string | null) ?? null };
}

/** Pending notifications and how many of them failed at least once. */
export async function pendingNotifications(q: Q): Promise<{ pending: number; failed: number }> {
  const r = await q
    .selectFrom('notifications')
    .select((eb) => [eb.fn.countAll().as('n'), eb.fn.sum<number>(eb.case().when('error', 'is not', null).then(1).else(0).end()).as('failed')])
    .where('sent_at', 'is', null)
    .executeTakeFirst();
  return { pending: num(r?.n), failed: num(r?.failed) };
}

/** Active alerts per severity. */
export async function activeAlertsBySeverity(q: Q): Promise<Record<string, number>> {
  const rows = await q.selectFrom('alerts').select((eb) => ['severity', eb.fn.countAll().as('n')]).where('active', '=', 1).groupBy('severity').execute();
  return Object.fromEntries(rows.map((r) => [r.severity, num(r.n)]));
}

/**
 * The last day before `before` with a row in sales or stock_levels: one
 * primary-key seek per series inside one statement (a plain max(date) would scan
 * the whole table).
 */
export async function lastDataDay(q: Q, table: 'sales' | 'stock_levels', before: string): Promise<string | null> {
  const r = await sql<{ d: string | null }>`select max((select max(x.date) from ${sql.table(table)} x where x.product_id = p.id and x.location_id = l.id and x.date < ${before})) as d from products p, locations l`.execute(q);
  return r.rows[0]?.d ?? null;
}

/** Whether any sales row exists. */
export async function hasSales(q: Q): Promise<boolean> {
  return (await q.selectFrom('sales').select(sql`1`.as('x')).limit(1).executeTakeFirst()) !== undefined;
}

/** Refreshes the query planner's statistics (ANALYZE, on both databases). */
export async function analyze(db: Db): Promise<void> {
  if (db.sqlite) db.sqlite.exec('analyze');
  else await sql`analyze`.execute(db.kysely);
}

/** The retention rules of `cleanup`: table, and the rows it removes. Cut-off dates are computed by the caller. */
export interface RetentionCutoffs {
  forecasts: string; alerts: string; notifications: string; metrics: string; batchRuns: string; now: string;
}

/**
 * Applies the retention rules in one transaction (or counts what they would
 * remove); returns rows per table. Kept whatever their age: the latest forecast
 * run, active alerts, unsent notifications, usable models. A run's steps go with it.
 */
export async function applyRetention(q: Q, c: RetentionCutoffs, dryRun: boolean): Promise<Record<string, number>> {
  const latest = await q.selectFrom('forecasts').select((eb) => eb.fn.max('run_date').as('r')).executeTakeFirst();
  const latestRun = (latest?.r as string | null) ?? '';
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  type B = any; // a select or delete builder of the rule's table
  const rules: { table: RetainedTable; column: string; before: string; also?: (b: B) => B }[] = [
    { table: 'forecasts', column: 'run_date', before: c.forecasts, also: (b) => b.where('run_date', '<', latestRun) },
    { table: 'alerts', column: 'created_on', before: c.alerts, also: (b) => b.where('active', '=', 0) },
    { table: 'notifications', column: 'created_at', before: c.notifications, also: (b) => b.where('sent_at', 'is not', null) },
    { table: 'forecast_metrics', column: 'date', before: c.metrics },
    { table: 'metrics_history', column: 'date', before: c.metrics },
    { table: 'retrain_flags', column: 'flagged_on', before: c.metrics },
    { table: 'trends', column: 'date', before: c.metrics },
    { table: 'revenue_daily', column: 'computed_on', before: c.metrics },
    { table: 'dormant_stock', column: 'computed_on', before: c.metrics },
    { table: 'event_factors', column: 'computed_on', before: c.metrics },
    { table: 'kpi_cache', column: 'expires_at', before: c.now },
    // A run's steps go with it (foreign key on delete cascade).
    { table: 'batch_runs', column: 'run_date', before: c.batchRuns },
    { table: 'models', column: 'train_end', before: c.metrics, also: (b) => b.where('status', 'in', ['retired', 'rejected']) },
  ];
  const removed: Record<string, number> = {};
  const run = async (trx: Q) => {
    for (const r of rules) {
      const filter = (b: B): B => (r.also ? r.also(b.where(r.column, '<', r.before)) : b.where(r.column, '<', r.before));
      if (dryRun) {
        const row = await filter((trx.selectFrom(r.table) as B).select((eb: B) => eb.fn.countAll().as('n'))).executeTakeFirst();
        removed[r.table] = num(row?.n);
      } else {
        const res = await filter(trx.deleteFrom(r.table) as B).executeTakeFirst();
        removed[r.table] = num(res?.numDeletedRows);
      }
    }
  };
  if (dryRun || q.isTransaction) await run(q);
  else await q.transaction().execute(run);
  return removed;
}

type RetainedTable = 'forecasts' | 'alerts' | 'notifications' | 'forecast_metrics' | 'metrics_history' | 'retrain_flags' | 'trends' | 'revenue_daily' | 'dormant_stock' | 'event_factors' | 'kpi_cache' | 'batch_runs' | 'models';

/**
 * Gives the freed space back and refreshes statistics: SQLite VACUUM (the file
 * shrinks); PostgreSQL VACUUM ANALYZE (space reusable, statistics fresh). Neither
 * may run inside a transaction.
 */
export async function vacuum(db: Db): Promise<string> {
  if (db.sqlite) {
    db.sqlite.exec('vacuum');
    return 'VACUUM';
  }
  await sql`vacuum analyze`.execute(db.kysely);
  return 'VACUUM ANALYZE';
}

/** Size of the database: the SQLite file with its WAL, or pg_database_size on PostgreSQL. */
export async function databaseBytes(db: Db): Promise<number> {
  if (db.sqlite) {
    let n = 0;
    for (const f of [db.location, db.location + '-wal']) if (existsSync(f)) n += statSync(f).size;
    return n;
  }
  const r = await sql<{ n: string | number }>`select pg_database_size(current_database()) as n`.execute(db.kysely);
  return num(r.rows[0]?.n);
}

/** What kind of database this is, in a few words (db status, doctor). */
export async function describeDatabase(db: Db): Promise<Record<string, string | number>> {
  if (db.sqlite) {
    return {
      engine: `SQLite ${String(db.sqlite.prepare('select sqlite_version() as v').pluck().get())}`,
      journal_mode: String(db.sqlite.pragma('journal_mode', { simple: true })),
      bytes: await databaseBytes(db),
    };
  }
  const r = await sql<{ v: string; db: string; usr: string }>`select current_setting('server_version') as v, current_database() as db, current_user as usr`.execute(db.kysely);
  return { engine: `PostgreSQL ${r.rows[0].v}`, database: r.rows[0].db, user: r.rows[0].usr, bytes: await databaseBytes(db) };
}

/** Whether a table has a column (schema introspection: the same on both databases). */
export async function columnsOf(q: Q): Promise<Map<string, Set<string>>> {
  const tables = await q.introspection.getTables();
  return new Map(tables.map((t) => [t.name, new Set(t.columns.map((c) => c.name))]));
}

/** The non-empty values of a free-text column. */
export async function textValues(q: Q, table: string, column: string): Promise<string[]> {
  const r = await sql<{ v: unknown }>`select ${sql.ref(column)} as v from ${sql.table(table)} where ${sql.ref(column)} is not null and ${sql.ref(column)} <> ''`.execute(q);
  return r.rows.map((x) => String(x.v));
}

/** The audit trail's extent, and how many batch runs since it began lie within no audited `batch` command. */
export async function auditCoverage(q: Q): Promise<{ entries: number; since: string | null; runsWithoutEntry: number }> {
  const a = await q.selectFrom('audit_log').select((eb) => [eb.fn.countAll().as('n'), eb.fn.min('started_at').as('since')]).executeTakeFirst();
  const since = (a?.since as string | null) ?? null;
  // A run is covered by a `batch` command that ended (finished_at) inside it, or, for a run that never finished (killed), one that began it.
  const missing = since
    ? await sql<{ n: unknown }>`select count(*) as n from batch_runs b where b.started_at >= ${since} and not exists (
        select 1 from audit_log l where l.command = 'batch' and l.started_at <= coalesce(b.finished_at, b.started_at) and l.finished_at >= coalesce(b.finished_at, b.started_at))`.execute(q)
    : await sql<{ n: unknown }>`select count(*) as n from batch_runs`.execute(q);
  return { entries: num(a?.n), since, runsWithoutEntry: num(missing.rows[0]?.n) };
}

/** The latest forecast run on or before a day. */
export async function latestRunOnOrBefore(q: Q, day: string): Promise<string | null> {
  const r = await q.selectFrom('forecasts').select((eb) => eb.fn.max('run_date').as('r')).where('run_date', '<=', day).executeTakeFirst();
  return (r?.r as string | null) ?? null;
}

/** Series of a forecast run, and how many of them ran on the fallback model (or on no recorded model). */
export async function runSeriesAndFallbacks(q: Q, runDate: string): Promise<{ n: number; fallback: number }> {
  const r = await sql<{ n: unknown; fb: unknown }>`select count(*) as n, sum(case when m.id is null or m.status = 'fallback' then 1 else 0 end) as fb
    from (select distinct product_id, location_id, model_id from forecasts where run_date = ${runDate}) x left join models m on m.id = x.model_id`.execute(q);
  return { n: num(r.rows[0]?.n), fallback: num(r.rows[0]?.fb) };
}

/** Forecast and actual demand (0 without a sales row) of every series for one day of one run. */
export async function forecastVsActual(q: Q, runDate: string, day: string): Promise<{ yhat: number; actual: number }[]> {
  const r = await sql<{ yhat: unknown; actual: unknown }>`select f.yhat, coalesce(sa.quantity, 0) as actual from forecasts f
    left join sales sa on sa.product_id = f.product_id and sa.location_id = f.location_id and sa.date = f.date
    where f.run_date = ${runDate} and f.date = ${day}`.execute(q);
  return r.rows.map((x) => ({ yhat: num(x.yhat), actual: num(x.actual) }));
}

/** Runs `fn` on one consistent view of the database (a read transaction; repeatable read on PostgreSQL). */
export async function readSnapshot<T>(db: Db, fn: (q: Q) => Promise<T>): Promise<T> {
  const t = db.dialect === 'postgres' ? db.kysely.transaction().setIsolationLevel('repeatable read') : db.kysely.transaction();
  return t.execute(fn);
}
