/** Current stock-outs: since when, and the sales rate before (read once for the series a job asks about). */
import { sql } from 'kysely';
import { addDays, daysBetween } from '../dates.js';
import { chunks, fastSqlite, qOf, seriesValues, type DbOrQ, type SeriesId } from './handle.js';
import { num } from './query.js';

export interface StockoutSince {
  since: string;
  days: number;
  lastRate: number | null;
}

/**
 * For the series out of stock today (pass those in `series`): the first day of
 * the current stock-out (after the last day with stock on hand), its length in
 * days, and the mean daily sales of the 28 days before it (null when none were
 * recorded). Returns a lookup; a series not in `series` or not out of stock
 * gives null. SQLite: point reads per series; PostgreSQL: one query per chunk.
 */
export async function outOfStockSince(db: DbOrQ, asOf: string, series: readonly SeriesId[]): Promise<(p: number, l: number) => StockoutSince | null> {
  const firstOut = new Map<string, string>();
  const sqlite = fastSqlite(db);
  if (sqlite) {
    const lastPositive = sqlite.prepare('select max(date) as d from stock_levels where product_id = ? and location_id = ? and date < ? and on_hand > 0');
    const first = sqlite.prepare('select min(date) as d from stock_levels where product_id = ? and location_id = ? and date < ? and date > ? and on_hand <= 0');
    for (const { productId: p, locationId: l } of series) {
      const last = (lastPositive.get(p, l, asOf) as { d: string | null }).d;
      const f = (first.get(p, l, asOf, last ?? '0000-00-00') as { d: string | null }).d;
      if (f) firstOut.set(`${p}:${l}`, f);
    }
  } else {
    for (const part of chunks(series, 2000)) {
      const r = await sql<{ p: number; l: number; d: string | null }>`with ${seriesValues(part)}
        select v.p, v.l, (select min(k.date) from stock_levels k where k.product_id = v.p and k.location_id = v.l and k.date < ${asOf} and k.on_hand <= 0
          and k.date > coalesce((select max(x.date) from stock_levels x where x.product_id = v.p and x.location_id = v.l and x.date < ${asOf} and x.on_hand > 0), '0000-00-00')) as d
        from v`.execute(qOf(db));
      for (const x of r.rows) if (x.d) firstOut.set(`${num(x.p)}:${num(x.l)}`, x.d);
    }
  }
  // Sales of the 28 days before each stock-out began.
  const sold = new Map<string, { q: number; n: number }>();
  const outs = [...firstOut.entries()].map(([k, d]) => {
    const [p, l] = k.split(':').map(Number);
    return { p, l, d };
  });
  if (sqlite) {
    const q = sqlite.prepare('select sum(quantity) as q, count(*) as n from sales where product_id = ? and location_id = ? and date >= ? and date < ?');
    for (const o of outs) {
      const r = q.get(o.p, o.l, addDays(o.d, -28), o.d) as { q: number | null; n: number };
      sold.set(`${o.p}:${o.l}`, { q: r.q ?? 0, n: r.n });
    }
  } else {
    for (const part of chunks(outs, 500)) {
      const rows = sql.join(part.map((o) => sql`(${sql.lit(o.p)}, ${sql.lit(o.l)}, ${addDays(o.d, -28)}, ${o.d})`));
      const r = await sql<{ p: number; l: number; q: number | null; n: number | string }>`with w(p, l, a, b) as (values ${rows})
        select w.p, w.l, (select sum(s.quantity) from sales s where s.product_id = w.p and s.location_id = w.l and s.date >= w.a and s.date < w.b) as q,
          (select count(*) from sales s where s.product_id = w.p and s.location_id = w.l and s.date >= w.a and s.date < w.b) as n
        from w`.execute(qOf(db));
      for (const x of r.rows) sold.set(`${num(x.p)}:${num(x.l)}`, { q: num(x.q), n: num(x.n) });
    }
  }
  return (p, l) => {
    const first = firstOut.get(`${p}:${l}`);
    if (!first) return null;
    const r = sold.get(`${p}:${l}`) ?? { q: 0, n: 0 };
    return { since: first, days: daysBetween(first, asOf), lastRate: r.n ? r.q / 28 : null };
  };
}
