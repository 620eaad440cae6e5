/** Forecast runs, found by index hops (one lookup per run, not a scan of its rows). */
import type BetterSqlite3 from 'better-sqlite3';
import { qOf, type DbOrQ } from './handle.js';

/** Run dates in [from, upTo], newest first. */
export async function forecastRuns(db: DbOrQ, from: string, upTo: string): Promise<string[]> {
  const q = qOf(db);
  const out: string[] = [];
  const next = async (below: string, inclusive: boolean) =>
    ((await q
      .selectFrom('forecasts')
      .select((e) => e.fn.max('run_date').as('r'))
      .where('run_date', inclusive ? '<=' : '<', below)
      .where('run_date', '>=', from)
      .executeTakeFirst())?.r ?? null) as string | null;
  let r = await next(upTo, true);
  while (r) {
    out.push(r);
    r = await next(r, false);
  }
  return out;
}

/** The run whose forecast is used for day d: the latest run on or before d that covers d. */
export async function runCovering(db: DbOrQ, runs: readonly string[], d: string): Promise<string | null> {
  const q = qOf(db);
  for (const r of runs) {
    if (r > d) continue;
    const hit = await q.selectFrom('forecasts').select('run_date').where('run_date', '=', r).where('date', '=', d).limit(1).executeTakeFirst();
    if (hit) return r;
  }
  return null;
}

/**
 * The same two reads on a raw read-only SQLite handle, for the metrics exporter,
 * which reads every figure inside one synchronous read transaction.
 */
export function forecastRunsSqlite(sqlite: BetterSqlite3.Database, from: string, upTo: string): string[] {
  const q = sqlite.prepare('select max(run_date) as r from forecasts where run_date <= ? and run_date >= ?');
  const qlt = sqlite.prepare('select max(run_date) as r from forecasts where run_date < ? and run_date >= ?');
  const out: string[] = [];
  let r = (q.get(upTo, from) as { r: string | null }).r;
  while (r) {
    out.push(r);
    r = (qlt.get(r, from) as { r: string | null }).r;
  }
  return out;
}

export function runCoveringSqlite(sqlite: BetterSqlite3.Database, runs: string[], d: string): string | null {
  const covers = sqlite.prepare('select 1 from forecasts where run_date = ? and date = ? limit 1');
  return runs.find((r) => r <= d && covers.get(r, d)) ?? null;
}
