/**
 * `optiflow cleanup`: retention (config `cleanup`, days before today), in one
 * transaction, then VACUUM (SQLite: the file shrinks) or VACUUM ANALYZE
 * (PostgreSQL: space reusable, statistics fresh); neither runs inside a
 * transaction. Kept: the latest forecast run whatever its age, active alerts,
 * unsent notifications, active/candidate/fallback models.
 */
import { addDays } from '../dates.js';
import type { Config } from '../config.js';
import type { Db } from '../db/connection.js';
import { applyRetention, vacuum } from '../db/ops.js';

export interface CleanupResult {
  removed: Record<string, number>;
  vacuumed: boolean;
  /** What reclaimed the space: VACUUM (SQLite) or VACUUM ANALYZE (PostgreSQL); null on a dry run. */
  vacuum: string | null;
  dryRun: boolean;
}

export async function cleanup(db: Db, config: Config, opts: { dryRun?: boolean } = {}): Promise<CleanupResult> {
  const c = config.cleanup;
  const before = (days: number) => addDays(config.asOf, -days);
  const removed = await applyRetention(
    db.kysely,
    { forecasts: before(c.forecastsDays), alerts: before(c.alertsDays), notifications: before(c.notificationsDays), metrics: before(c.metricsDays), batchRuns: before(c.batchRunsDays), now: new Date().toISOString() },
    !!opts.dryRun,
  );
  const how = opts.dryRun ? null : await vacuum(db);
  return { removed, vacuumed: !opts.dryRun, vacuum: how, dryRun: !!opts.dryRun };
}
