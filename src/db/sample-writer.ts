/**
 * Writing the sample data set: the generator (src/io/sample.ts) hands rows to a
 * sink table by table and yields at chunk boundaries; this module decides how
 * they reach the database.
 *
 *  - SQLite: prepared multi-row inserts (BulkInsert) for the large tables, one
 *    transaction per chunk, synchronous: the fastest path better-sqlite3 has.
 *  - PostgreSQL: rows are buffered per table and sent at each chunk boundary
 *    with COPY FROM STDIN, on a connection of its own, all in one transaction: a
 *    failure leaves the database empty.
 */
import type BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { BulkInsert } from './bulk.js';
import type { Db } from './connection.js';
import { num, type Q } from './query.js';

/** The tables the sample writes, in foreign-key order (parents first). */
export const SAMPLE_COLUMNS = {
  locations: ['id', 'code', 'name'],
  products: ['id', 'sku', 'name', 'category', 'unit_cost', 'unit_price', 'shelf_life_days', 'storage', 'active'],
  suppliers: ['id', 'code', 'name', 'lead_time_days', 'lead_time_sd_days', 'order_cost', 'review_days', 'min_order_value'],
  supplier_products: ['supplier_id', 'product_id', 'pack_size', 'min_order_qty', 'unit_cost', 'is_primary'],
  price_breaks: ['supplier_id', 'product_id', 'min_qty', 'unit_cost'],
  sales: ['product_id', 'location_id', 'date', 'quantity', 'revenue', 'unit_price', 'on_promo'],
  stock_levels: ['product_id', 'location_id', 'date', 'on_hand'],
  purchase_orders: ['supplier_id', 'product_id', 'location_id', 'quantity', 'unit_cost', 'ordered_on', 'expected_on', 'received_on', 'status'],
  events: ['name', 'kind', 'start_date', 'end_date', 'product_id', 'category', 'location_id', 'planned_uplift', 'ref'],
  weather: ['location_id', 'date', 'temp_max_c', 'precipitation_mm'],
  sensor_readings: ['location_id', 'zone', 'ts', 'temperature_c', 'humidity_pct'],
  quality_incidents: ['product_id', 'location_id', 'date', 'quantity_lost', 'cause'],
  data_changes: ['entity', 'min_date', 'max_date', 'rows', 'changed_at'],
} as const;

export type SampleTable = keyof typeof SAMPLE_COLUMNS;
export const SAMPLE_TABLES = Object.keys(SAMPLE_COLUMNS) as SampleTable[];
const ORDER = SAMPLE_TABLES;

/** Where the generator puts rows: `writer(table)` returns a function taking one row's values in SAMPLE_COLUMNS order. */
export interface SampleSink {
  writer(table: SampleTable): (...values: unknown[]) => void;
}

/** The generator: adds rows to the sink, yields after each chunk it wants written, returns its result. */
export type SampleSteps<R> = (sink: SampleSink) => Generator<void, R, void>;

/** A raw better-sqlite3 handle (what tests and the benchmark open). */
export type SqliteHandle = BetterSqlite3.Database;

/** Rows per multi-row statement on SQLite (the large tables; parents go row by row so children never precede them). */
const SQLITE_ROWS: Partial<Record<SampleTable, number>> = { sales: 64, stock_levels: 64, purchase_orders: 32, weather: 64, sensor_readings: 64 };

/** Writes the sample into an empty SQLite database, synchronously (one transaction per chunk). */
export function writeSampleSqlite<R>(sqlite: SqliteHandle, steps: SampleSteps<R>): R {
  const writers = new Map<SampleTable, BulkInsert>();
  for (const t of ORDER) writers.set(t, new BulkInsert(sqlite, t, [...SAMPLE_COLUMNS[t]], SQLITE_ROWS[t] ?? 1));
  const sink: SampleSink = { writer: (t) => { const w = writers.get(t)!; return w.push.bind(w); } };
  const it = steps(sink);
  for (;;) {
    let done = false;
    let value: R | undefined;
    sqlite.transaction(() => {
      const r = it.next();
      for (const t of ORDER) writers.get(t)!.flush();
      done = !!r.done;
      value = r.value as R | undefined;
    })();
    if (done) return value as R;
  }
}

/**
 * Writes the sample into an empty database through its `Db`. SQLite takes the
 * synchronous path above with the journal off during the write (a fresh file: a
 * crash leaves a file to delete, never a half-valid one in use); PostgreSQL
 * writes everything in one transaction. Statistics are refreshed at the end.
 */
export async function writeSample<R>(db: Db, steps: SampleSteps<R>): Promise<R> {
  if (db.sqlite) {
    const s = db.sqlite;
    s.pragma('journal_mode = OFF');
    s.pragma('synchronous = OFF');
    try {
      return writeSampleSqlite(s, steps);
    } finally {
      s.exec('analyze');
      s.pragma('synchronous = NORMAL');
      s.pragma('journal_mode = WAL');
    }
  }
  return writeSamplePostgres(db.location, steps);
}

/**
 * PostgreSQL: one connection of its own, one transaction. Each chunk's rows go
 * to the server with COPY FROM STDIN (text format; about 3x faster than the
 * multi-row or `unnest` inserts on the sample's sales), with the tables'
 * foreign keys and secondary indexes dropped during the load and put back at the
 * end (dropLoadChecks). Statistics are refreshed after the commit.
 */
async function writeSamplePostgres<R>(location: string, steps: SampleSteps<R>): Promise<R> {
  const client = new pg.Client({ connectionString: location });
  await client.connect();
  try {
    await client.query('begin');
    const restore = await dropLoadChecks(client);
    const buf = new Map<SampleTable, unknown[][]>(ORDER.map((t) => [t, []]));
    const sink: SampleSink = { writer: (t) => (...values) => buf.get(t)!.push(values) };
    const it = steps(sink);
    let value: R;
    for (;;) {
      const step = it.next();
      for (const t of ORDER) {
        const rows = buf.get(t)!;
        if (!rows.length) continue;
        buf.set(t, []);
        await copyRows(client, t, rows);
      }
      if (step.done) {
        value = step.value;
        break;
      }
    }
    for (const stmt of restore) await client.query(stmt);
    // Ids were given explicitly: move each id sequence past them, so later inserts get fresh ids.
    for (const t of ['locations', 'products', 'suppliers'] as const)
      await client.query(`select setval(pg_get_serial_sequence('${t}', 'id'), coalesce((select max(id) from ${t}), 0) + 1, false)`);
    await client.query('commit');
    await client.query('analyze');
    return value;
  } catch (e) {
    await client.query('rollback').catch(() => {});
    throw e;
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * PostgreSQL: drops the foreign keys and the secondary non-unique indexes of
 * the sample's tables (unique ones stay: the purchase-order reference trigger
 * looks its reference up), and returns the statements that put them back.
 * Checked row by row, the foreign keys cost about 4x the insert itself (one
 * lookup and row lock per sales row); added back after the load, each is
 * validated by one join and each index is built by one sort. Inside the load's
 * transaction: a failure rolls the drops back too. Primary keys stay (the rows
 * arrive in key order, so maintaining them is cheap).
 */
async function dropLoadChecks(client: pg.Client): Promise<string[]> {
  const tables = ORDER.map((t) => `'${t}'`).join(', ');
  const fks = await client.query<{ t: string; name: string; def: string }>(`select c.conrelid::regclass::text as t, quote_ident(c.conname) as name, pg_get_constraintdef(c.oid) as def
    from pg_constraint c join pg_class r on r.oid = c.conrelid join pg_namespace n on n.oid = r.relnamespace
    where c.contype = 'f' and n.nspname = current_schema() and r.relname in (${tables}) order by c.conname`);
  const ixs = await client.query<{ name: string; def: string }>(`select quote_ident(i.indexname) as name, i.indexdef as def from pg_indexes i
    where i.schemaname = current_schema() and i.tablename in (${tables}) and i.indexdef not like 'CREATE UNIQUE %'
      and not exists (select 1 from pg_constraint c where c.conindid = (quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass)
    order by i.indexname`);
  for (const f of fks.rows) await client.query(`alter table ${f.t} drop constraint ${f.name}`);
  for (const i of ixs.rows) await client.query(`drop index ${i.name}`);
  return [...ixs.rows.map((i) => i.def), ...fks.rows.map((f) => `alter table ${f.t} add constraint ${f.name} ${f.def}`)];
}

/** One value in COPY's text format: `\N` for null, backslash, tab and line breaks escaped. */
function copyValue(v: unknown): string {
  if (v === null || v === undefined) return '\\N';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'boolean') return v ? '1' : '0';
  return String(v).replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

/** PostgreSQL: `rows` (values in SAMPLE_COLUMNS order) into `t` by COPY FROM STDIN, sent in pieces of about 1 MB. */
async function copyRows(client: pg.Client, t: SampleTable, rows: unknown[][]): Promise<void> {
  const cols = SAMPLE_COLUMNS[t];
  const stream = client.query(copyFrom(`copy ${t} (${cols.join(', ')}) from stdin`));
  const done = new Promise<void>((resolve, reject) => {
    stream.on('finish', resolve);
    stream.on('error', reject);
  });
  let piece = '';
  for (const r of rows) {
    let line = '';
    for (let j = 0; j < cols.length; j++) line += (j ? '\t' : '') + copyValue(r[j]);
    piece += line + '\n';
    if (piece.length >= 1 << 20) {
      if (!stream.write(piece)) await new Promise((res) => stream.once('drain', res));
      piece = '';
    }
  }
  stream.end(piece);
  await done;
}

/** Does the database already hold products or sales? (The sample writes only into an empty one.) */
export async function holdsData(q: Q): Promise<boolean> {
  const p = await q.selectFrom('products').select((e) => e.fn.countAll().as('n')).executeTakeFirst();
  const s = await q.selectFrom('sales').select('product_id').limit(1).executeTakeFirst();
  return num(p?.n) > 0 || !!s;
}
