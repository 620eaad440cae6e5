/**
 * `optiflow cleanup`: retention (config `cleanup`, days before today), in one
 * transaction, then VACUUM. Kept: the latest forecast run whatever its age,
 * active alerts, unsent notifications, active/candidate/fallback models.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { addDays } from '../dates.js';
import type { Config } from '../config.js';

export interface CleanupResult {
  removed: Record<string, number>;
  vacuumed: boolean;
  dryRun: boolean;
}

export function cleanup(sqlite: BetterSqlite3.Database, config: Config, opts: { dryRun?: boolean } = {}): CleanupResult {
  const c = config.cleanup;
  const asOf = config.asOf;
  const before = (days: number) => addDays(asOf, -days);
  const rules: [string, string, unknown[]][] = [
    ['forecasts', `delete from forecasts where run_date < ? and run_date < (select max(run_date) from forecasts)`, [before(c.forecastsDays)]],
    ['alerts', `delete from alerts where active = 0 and created_on < ?`, [before(c.alertsDays)]],
    ['notifications', `delete from notifications where sent_at is not null and created_at < ?`, [before(c.notificationsDays)]],
    ['forecast_metrics', `delete from forecast_metrics where date < ?`, [before(c.metricsDays)]],
    ['metrics_history', `delete from metrics_history where date < ?`, [before(c.metricsDays)]],
    ['retrain_flags', `delete from retrain_flags where flagged_on < ?`, [before(c.metricsDays)]],
    ['trends', `delete from trends where date < ?`, [before(c.metricsDays)]],
    ['revenue_daily', `delete from revenue_daily where computed_on < ?`, [before(c.metricsDays)]],
    ['dormant_stock', `delete from dormant_stock where computed_on < ?`, [before(c.metricsDays)]],
    ['event_factors', `delete from event_factors where computed_on < ?`, [before(c.metricsDays)]],
    ['kpi_cache', `delete from kpi_cache where expires_at < ?`, [new Date().toISOString()]],
    ['batch_runs', `delete from batch_runs where run_date < ?`, [before(c.batchRunsDays)]],
    ['models', `delete from models where status in ('retired','rejected') and train_end < ?`, [before(c.metricsDays)]],
  ];
  const removed: Record<string, number> = {};
  const run = sqlite.transaction(() => {
    for (const [name, q, args] of rules) {
      if (opts.dryRun) {
        const countQ = q.replace(/^delete from (\w+)/, 'select count(*) as n from $1');
        removed[name] = (sqlite.prepare(countQ).get(...args) as { n: number }).n;
      } else removed[name] = sqlite.prepare(q).run(...args).changes;
    }
  });
  run();
  if (!opts.dryRun) sqlite.exec('vacuum');
  return { removed, vacuumed: !opts.dryRun, dryRun: !!opts.dryRun };
}
