/** Forecast runs, found by index hops (one lookup per run, not a scan of its rows). */
import type BetterSqlite3 from 'better-sqlite3';

/** Run dates in [from, upTo], newest first. */
export function forecastRuns(sqlite: BetterSqlite3.Database, from: string, upTo: string): string[] {
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

/** The run whose forecast is used for day d: the latest run on or before d that covers d. */
export function runCovering(sqlite: BetterSqlite3.Database, runs: string[], d: string): string | null {
  const covers = sqlite.prepare('select 1 from forecasts where run_date = ? and date = ? limit 1');
  return runs.find((r) => r <= d && covers.get(r, d)) ?? null;
}
