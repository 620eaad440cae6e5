/**
 * Writing the sample data set: the generator (src/io/sample.ts) hands rows to a
 * sink table by table and yields at chunk boundaries; this module decides how
 * they reach the database.
 *
 *  - SQLite: prepared multi-row inserts (BulkInsert) for the large tables, one
 *    transaction per chunk, synchronous: the fastest path better-sqlite3 has.
 *  - PostgreSQL: rows are buffered per table and written at each chunk boundary
 *    as one array per column (insertColumns below), all in one transaction: a
 *    failure leaves the database empty.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { sql } from 'kysely';
import { BulkInsert } from './bulk.js';
import type { Db } from './connection.js';
import { inTransaction, num, type Q } from './query.js';

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
  const r = await inTransaction(db, async (trx) => {
    const types = await columnTypes(trx);
    const buf = new Map<SampleTable, unknown[][]>(ORDER.map((t) => [t, []]));
    const sink: SampleSink = { writer: (t) => (...values) => buf.get(t)!.push(values) };
    const it = steps(sink);
    for (;;) {
      const step = it.next();
      for (const t of ORDER) {
        const rows = buf.get(t)!;
        if (!rows.length) continue;
        buf.set(t, []);
        await insertColumns(trx, t, types, rows);
      }
      if (step.done) {
        // Ids were given explicitly: move each id sequence past them, so later inserts get fresh ids.
        for (const t of ['locations', 'products', 'suppliers'] as const)
          await sql`select setval(pg_get_serial_sequence(${t}, 'id'), coalesce((select max(id) from ${sql.table(t)}), 0) + 1, false)`.execute(trx);
        return step.value;
      }
    }
  });
  await sql`analyze`.execute(db.kysely);
  return r;
}

/** PostgreSQL: each sample column's type, for the array casts below. */
async function columnTypes(q: Q): Promise<Map<string, string>> {
  const r = await sql<{ t: string; c: string; type: string }>`select table_name as t, column_name as c, udt_name as type from information_schema.columns
    where table_schema = current_schema() and table_name in (${sql.join(ORDER)})`.execute(q);
  return new Map(r.rows.map((x) => [`${x.t}.${x.c}`, x.type]));
}

/**
 * PostgreSQL: rows inserted as one array per column (`insert ... select * from unnest($1::int4[], ...)`):
 * a handful of bound values per statement instead of one per cell, so the client
 * builds and the server parses far less than a multi-row VALUES list (about 1.5x
 * faster than insertMany on the sample's sales). 20,000 rows per statement.
 */
async function insertColumns(q: Q, t: SampleTable, types: Map<string, string>, rows: unknown[][]): Promise<void> {
  const cols = SAMPLE_COLUMNS[t];
  for (let i = 0; i < rows.length; i += 20_000) {
    const part = rows.slice(i, i + 20_000);
    const arrays = cols.map((c, j) => sql`${part.map((r) => r[j] ?? null)}::${sql.raw(types.get(`${t}.${c}`) ?? 'text')}[]`);
    await sql`insert into ${sql.table(t)} (${sql.join(cols.map((c) => sql.ref(c)))}) select * from unnest(${sql.join(arrays)})`.execute(q);
  }
}

/** Does the database already hold products or sales? (The sample writes only into an empty one.) */
export async function holdsData(q: Q): Promise<boolean> {
  const p = await q.selectFrom('products').select((e) => e.fn.countAll().as('n')).executeTakeFirst();
  const s = await q.selectFrom('sales').select('product_id').limit(1).executeTakeFirst();
  return num(p?.n) > 0 || !!s;
}
