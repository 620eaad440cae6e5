/** Current stock-outs: since when, and the sales rate before (point queries). */
import type BetterSqlite3 from 'better-sqlite3';
import { addDays, daysBetween } from '../dates.js';

/**
 * For a series out of stock today: the first day of the current stock-out
 * (after the last day with stock on hand), its length in days, and the mean
 * daily sales of the 28 days before it (null when none were recorded).
 */
export function outOfStockSince(sqlite: BetterSqlite3.Database, asOf: string) {
  const lastPositive = sqlite.prepare('select max(date) as d from stock_levels where product_id = ? and location_id = ? and date < ? and on_hand > 0');
  const firstOut = sqlite.prepare('select min(date) as d from stock_levels where product_id = ? and location_id = ? and date < ? and date > ? and on_hand <= 0');
  const sold = sqlite.prepare('select sum(quantity) as q, count(*) as n from sales where product_id = ? and location_id = ? and date >= ? and date < ?');
  return (p: number, l: number) => {
    const last = (lastPositive.get(p, l, asOf) as { d: string | null }).d;
    const first = (firstOut.get(p, l, asOf, last ?? '0000-00-00') as { d: string | null }).d;
    if (!first) return null;
    const r = sold.get(p, l, addDays(first, -28), first) as { q: number | null; n: number };
    return { since: first, days: daysBetween(first, asOf), lastRate: r.n ? (r.q ?? 0) / 28 : null };
  };
}
