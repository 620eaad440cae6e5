/** Comparing the same work on SQLite and PostgreSQL: copying a database's rows across, and equality to 1e-9. */
import { sql } from 'kysely';
import type { Db } from '../src/db/connection.js';
import { insertMany, num } from '../src/db/query.js';
import { ALL_TABLES } from '../src/db/types.js';

const PARENTS_FIRST = [
  'locations', 'products', 'suppliers', 'supplier_products', 'price_breaks', 'sales', 'stock_levels', 'purchase_orders', 'events', 'weather',
  'sensor_readings', 'quality_incidents', 'models', 'forecasts',
];

/** Copies every row of the SQLite database into the (migrated, empty) PostgreSQL one, ids included. */
export async function copyAll(from: Db, to: Db): Promise<void> {
  const tables = [...PARENTS_FIRST, ...ALL_TABLES.filter((t) => !PARENTS_FIRST.includes(t))];
  for (const t of tables) {
    const rows = (await sql<Record<string, unknown>>`select * from ${sql.table(t)}`.execute(from.kysely)).rows;
    if (!rows.length) continue;
    // Rows the migrations wrote themselves (the schema's own bookkeeping) are already there.
    if (num((await sql<{ n: unknown }>`select count(*) as n from ${sql.table(t)}`.execute(to.kysely)).rows[0].n) > 0) continue;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    await insertMany(to.kysely, t as any, rows);
    if ('id' in rows[0]) await sql`select setval(pg_get_serial_sequence(${t}, 'id'), (select max(id) from ${sql.table(t)}))`.execute(to.kysely);
  }
}

/**
 * a and b equal, numbers within 1e-9 (relative to their size); the path names the first
 * difference. Keys in `ignore` (a run's own clock, e.g. trained_at) are not compared.
 */
export function expectSame(a: unknown, b: unknown, o: { ignore?: string[] } = {}, path = '$'): void {
  if (typeof a === 'number' && typeof b === 'number') {
    if (Number.isNaN(a) && Number.isNaN(b)) return;
    if (a !== b && !(Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b)))) throw new Error(`${path}: ${a} (SQLite) != ${b} (PostgreSQL)`);
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) throw new Error(`${path}: ${a.length} items (SQLite) != ${b.length} (PostgreSQL)`);
    a.forEach((x, i) => expectSame(x, b[i], o, `${path}[${i}]`));
    return;
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    if (ka.join() !== kb.join()) throw new Error(`${path}: keys ${ka.join()} (SQLite) != ${kb.join()} (PostgreSQL)`);
    for (const k of ka) if (!o.ignore?.includes(k)) expectSame((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], o, `${path}.${k}`);
    return;
  }
  if (a !== b) throw new Error(`${path}: ${JSON.stringify(a)} (SQLite) != ${JSON.stringify(b)} (PostgreSQL)`);
}
