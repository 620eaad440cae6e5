/**
 * What every query module in src/db shares: the handle type, number decoding,
 * transactions and chunked multi-row inserts, the same on SQLite and PostgreSQL.
 *
 * Conventions (see docs/data-layer.md):
 *  - a query function takes `q: Q` first (the database's kysely instance or a
 *    transaction), is async, and returns plain typed rows;
 *  - dates are ISO 'YYYY-MM-DD' text on both databases: date arithmetic is done in
 *    TypeScript (src/dates.ts) and passed as parameters, never `julianday()`/`date()`;
 *  - JSON columns are text: parsed in TypeScript, never `json_extract()`;
 *  - upserts use kysely's `onConflict`, never `insert or replace`;
 *  - one query per job step over all series (grouped, windowed), never one per series.
 */
import type { Kysely, Transaction } from 'kysely';
import type { Db } from './connection.js';
import type { Database } from './types.js';

/** A database handle or an open transaction: query modules accept either. */
export type Q = Kysely<Database> | Transaction<Database>;

/** PostgreSQL returns bigint (count, sum of integers) and numeric as strings: decode once here. */
export function num(v: unknown): number {
  return typeof v === 'number' ? v : v === null || v === undefined ? 0 : Number(v);
}

export function numOrNull(v: unknown): number | null {
  return v === null || v === undefined ? null : typeof v === 'number' ? v : Number(v);
}

/** Runs `fn` in one transaction: all its writes land, or none do. */
export async function inTransaction<T>(db: Db | Q, fn: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  const k = 'kysely' in db ? db.kysely : db;
  if (k.isTransaction) return fn(k as Transaction<Database>);
  return k.transaction().execute(fn);
}

/**
 * Inserts rows in multi-row statements of at most `maxParams` bound values
 * (SQLite allows 32,766, PostgreSQL 65,535): a few statements instead of one per row.
 */
export async function insertMany<T extends keyof Database & string>(q: Q, table: T, rows: readonly Record<string, unknown>[], maxParams = 30_000): Promise<void> {
  if (!rows.length) return;
  const width = Object.keys(rows[0]).length || 1;
  const per = Math.max(1, Math.floor(maxParams / width));
  for (let i = 0; i < rows.length; i += per) {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    await q.insertInto(table).values(rows.slice(i, i + per) as any).execute();
  }
}
