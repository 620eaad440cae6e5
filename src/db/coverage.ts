/**
 * Data coverage, checked rather than assumed.
 *
 * Sales: the last imported sales date of each location. Days after it are
 * missing data, not zero demand: when a location's sales end more than
 * `data.maxStalenessDays` days before the run date, the jobs that would read
 * the gap as zero demand (predict, alerts, train) refuse, naming the last date
 * and the command that fixes it.
 *
 * Stock: a series with no stock row before the run date has unknown stock; it
 * gets no stock-out, overstock or expiry alert (src/jobs/alerts.ts).
 */
import { sql } from 'kysely';
import { addDays, daysBetween } from '../dates.js';
import { OptiflowError } from '../errors.js';
import type { Config } from '../config.js';
import type { Db } from './connection.js';
import { qOf, type DbOrQ } from './handle.js';
import { num } from './query.js';

export interface LocationCoverage {
  location: string;
  /** Last date with a sales row before the run date. */
  lastSale: string;
  /** Days between that date and the day before the run date (0 = up to date). */
  missingDays: number;
}

/** A job refuses because its input data ends too early: exit code 1. */
export class StaleDataError extends OptiflowError {
  constructor(message: string) {
    super(message, 1);
  }
}

/** Last sales date per location (one query: the last sale of each active series, by its primary key). */
export async function salesCoverage(db: DbOrQ, asOf: string): Promise<LocationCoverage[]> {
  const r = await sql<{ location: string; d: string | null }>`select l.code as location,
       (select max(s.date) from sales s where s.product_id = p.id and s.location_id = l.id and s.date < ${asOf}) as d
     from products p cross join locations l where p.active = 1`.execute(qOf(db));
  const byLocation = new Map<string, string>();
  for (const s of r.rows) {
    const d = s.d;
    if (d && (byLocation.get(s.location) ?? '') < d) byLocation.set(s.location, d);
  }
  const yesterday = addDays(asOf, -1);
  return [...byLocation.entries()].sort().map(([location, lastSale]) => ({ location, lastSale, missingDays: Math.max(0, daysBetween(lastSale, yesterday)) }));
}

/** Locations whose sales end more than the allowed staleness before the run date. */
export async function staleLocations(db: DbOrQ, asOf: string, maxStalenessDays: number): Promise<LocationCoverage[]> {
  return (await salesCoverage(db, asOf)).filter((c) => c.missingDays > maxStalenessDays);
}

/** The refusal message: which data ends when, and the two ways out. */
export function staleMessage(stale: LocationCoverage[], asOf: string, maxStalenessDays: number): string {
  const first = stale[0];
  const where = stale.map((c) => `${c.location} ends on ${c.lastSale}`).slice(0, 5).join(', ') + (stale.length > 5 ? ` (and ${stale.length - 5} more locations)` : '');
  return (
    `sales data for ${stale.length === 1 ? 'location ' : 'locations '}${where}: ${first.missingDays} day(s) before ${asOf} are missing ` +
    `(more than data.maxStalenessDays = ${maxStalenessDays}); the forecasts would start from demand that old, and those days are unknown to them. ` +
    `Import the missing days with \`optiflow import sales FILE\`, or run for the date after the data with \`--as-of ${addDays(first.lastSale, 1)}\`` +
    (stale.length === 1 && first.missingDays > 0 ? `, or (the other locations' forecasts matter more than its last days) allow older data with data.maxStalenessDays (env OPTIFLOW_DATA_MAX_STALENESS_DAYS=${first.missingDays}): its missing days are then unknown demand` : '')
  );
}

/** Throws StaleDataError (exit 1) when any location's sales end too early; the jobs call it first. */
export async function requireCoverage(ctx: { db: Db; asOf: string; config: Pick<Config, 'data'> }): Promise<void> {
  const max = ctx.config.data.maxStalenessDays;
  const stale = await staleLocations(ctx.db, ctx.asOf, max);
  if (stale.length) throw new StaleDataError(staleMessage(stale, ctx.asOf, max));
}

/** Active series that sell but have no stock row before the run date: their stock is unknown. */
export async function seriesWithoutStock(db: DbOrQ, asOf: string): Promise<number> {
  const r = await sql<{ n: number | string }>`select count(*) as n from products p cross join locations l
       where p.active = 1 and (select 1 from sales s where s.product_id = p.id and s.location_id = l.id and s.date < ${asOf} limit 1) is not null
         and (select 1 from stock_levels k where k.product_id = p.id and k.location_id = l.id and k.date < ${asOf} limit 1) is null`.execute(qOf(db));
  return num(r.rows[0]?.n);
}

/** How `optiflow` tells people to supply stock data. */
export const STOCK_FIX = 'optiflow import stock FILE';
