/**
 * What the shared query modules accept: the opened database (`Db`, which keeps
 * the raw SQLite handle for the fast paths that stay inside src/db) or a kysely
 * handle/transaction (`Q`, portable queries only).
 */
import type BetterSqlite3 from 'better-sqlite3';
import { PostgresAdapter, sql, type RawBuilder } from 'kysely';
import type { Db } from './connection.js';
import type { Q } from './query.js';

export type DbOrQ = Db | Q;

export function qOf(d: DbOrQ): Q {
  return 'kysely' in d ? d.kysely : d;
}

/** The raw SQLite handle for a fast path, or null (PostgreSQL, or a kysely handle/transaction). */
export function fastSqlite(d: DbOrQ): BetterSqlite3.Database | null {
  return 'kysely' in d ? d.sqlite : null;
}

export interface SeriesId {
  productId: number;
  locationId: number;
}

/**
 * A `with v(p, l) as (values ...)` list of series, joined by the set-based
 * queries (portable: SQLite and PostgreSQL). Ids are validated integers, inlined
 * as literals (no bound-parameter limit, and PostgreSQL types them as integers).
 */
export function seriesValues(refs: readonly SeriesId[]): RawBuilder<unknown> {
  const parts = refs.map((r) => {
    if (!Number.isSafeInteger(r.productId) || !Number.isSafeInteger(r.locationId)) throw new Error(`series id ${r.productId}:${r.locationId} is not an integer`);
    return `(${r.productId}, ${r.locationId})`;
  });
  return sql.raw(`v(p, l) as (values ${parts.join(', ')})`);
}

/**
 * `alias.product_id between <min> and <max>` of `refs`: added to a query that
 * joins a `seriesValues` list on a table keyed by (product_id, location_id, ...),
 * it changes no result but gives PostgreSQL's planner a range on the key's
 * leading column. Without it the planner misjudges the join (it expects a few
 * rows per series) and reads all of a 20-million-row table by a hash join for
 * each chunk instead of 2,000 index ranges (7 s instead of 0.6 s per chunk of
 * the sales of 30,000 series).
 */
export function seriesSpan(refs: readonly SeriesId[], alias: string): RawBuilder<unknown> {
  let lo = Infinity;
  let hi = -Infinity;
  for (const r of refs) {
    if (!Number.isSafeInteger(r.productId)) throw new Error(`series id ${r.productId}:${r.locationId} is not an integer`);
    if (r.productId < lo) lo = r.productId;
    if (r.productId > hi) hi = r.productId;
  }
  if (!/^[a-z_]+$/.test(alias)) throw new Error(`bad alias ${alias}`);
  return refs.length ? sql.raw(`${alias}.product_id between ${lo} and ${hi}`) : sql.raw('false');
}

/** `refs` in chunks of `size` (a set-based query per chunk keeps statements and result sets bounded). */
export function chunks<T>(refs: readonly T[], size = 2000): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < refs.length; i += size) out.push(refs.slice(i, i + size));
  return out;
}

/** `refs` (ordered by product id) in consecutive parts of about `size` series, never splitting a product. */
export function productParts<T extends { productId: number }>(refs: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  let cur: T[] = [];
  for (const r of refs) {
    if (cur.length >= size && cur[cur.length - 1].productId !== r.productId) {
      out.push(cur);
      cur = [];
    }
    cur.push(r);
  }
  if (cur.length) out.push(cur);
  return out;
}

/** True when the handle talks to PostgreSQL (for the few expressions whose SQL differs per dialect). */
export function isPostgres(d: DbOrQ): boolean {
  return 'kysely' in d ? d.dialect === 'postgres' : d.getExecutor().adapter instanceof PostgresAdapter;
}
