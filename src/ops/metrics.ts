/**
 * The figures an operator alerts on, in Prometheus text format (prom-client):
 * written atomically to a textfile for node_exporter's textfile collector after
 * every command that changes data and at the end of every batch, and served on
 * /metrics by `optiflow metrics serve`. Every figure is read from the database
 * and the backup folder at the moment it is asked for; see docs/metrics.md for
 * each metric's definition and unit.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { dirname, join } from 'node:path';
import { Gauge, Registry } from 'prom-client';
import writeFileAtomic from 'write-file-atomic';
import { stateDir, type Config } from '../config.js';
import { addDays, daysBetween } from '../dates.js';
import { isPostgresUrl, openDb } from '../db/connection.js';
import type { Q } from '../db/query.js';
import { activeAlertsBySeverity, databaseBytes, forecastVsActual, lastDataDay, latestRunOnOrBefore, pendingNotifications, readSnapshot, runSeriesAndFallbacks } from '../db/ops.js';
import { lastRun, lastSuccessFinishedAt, stepsOfRuns } from '../db/batch-records.js';
import { forecastRuns, runCovering } from '../db/forecast-runs.js';
import { ErrorSums } from '../ml/metrics.js';
import { listBackups } from './backup.js';
import { parseOctal } from './file-safety.js';

export interface JobFigure { kind: string; job: string; status: string; seconds: number | null }
export interface RunFigure { kind: string; status: string; started: number; finished: number | null; seconds: number | null }

/** Everything the metrics show, as plain data (tests read it directly). */
export interface MetricsSnapshot {
  lastRuns: RunFigure[];
  lastSuccess: { kind: string; finished: number }[];
  jobs: JobFigure[];
  seriesForecast: number;
  fallbackSeries: number;
  forecastRunDate: string | null;
  alerts: Record<string, number>;
  notificationsPending: number;
  notificationsFailed: number;
  yesterday: { wape: number | null; bias: number | null; n: number };
  freshnessDays: Record<string, number | null>;
  databaseBytes: number;
  lastBackup: number | null;
}

const ts = (iso: string | null) => (iso ? Date.parse(iso) / 1000 : null);

/**
 * Yesterday's forecast accuracy over every series with a forecast for that
 * day (the run covering it, issued before the day began): the demand of a
 * series with no sales row that day is 0. WAPE = sum|f - a| / sum a (fraction),
 * bias = mean(f - a) (units per series-day; > 0 = over-forecast).
 */
async function yesterdayAccuracy(q: Q, asOf: string): Promise<MetricsSnapshot['yesterday']> {
  const d = addDays(asOf, -1);
  const none = { wape: null, bias: null, n: 0 };
  // No sales imported for that day at all: the day is unknown, not a day without demand.
  const last = await lastDataDay(q, 'sales', asOf);
  if (!last || last < d) return none;
  const run = await coveringRun(q, d);
  if (!run) return none;
  const sums = new ErrorSums();
  for (const r of await forecastVsActual(q, run, d)) sums.add(r.actual, r.yhat);
  return { wape: sums.wape, bias: sums.n ? sums.bias : null, n: sums.n };
}

/** The run whose forecast is used for day d (the shared forecast-runs lookups). */
async function coveringRun(q: Q, d: string): Promise<string | null> {
  return runCovering(q, await forecastRuns(q, addDays(d, -60), d), d);
}

export async function collectSnapshot(config: Config): Promise<MetricsSnapshot> {
  const snap: MetricsSnapshot = {
    lastRuns: [], lastSuccess: [], jobs: [], seriesForecast: 0, fallbackSeries: 0, forecastRunDate: null, alerts: { CRITIQUE: 0, ATTENTION: 0, INFO: 0 },
    notificationsPending: 0, notificationsFailed: 0, yesterday: { wape: null, bias: null, n: 0 }, freshnessDays: { sales: null, stock: null },
    databaseBytes: 0, lastBackup: null,
  };
  const newest = listBackups(config).at(-1);
  if (newest) snap.lastBackup = newest.manifest ? ts(newest.manifest.created_at) : statSync(newest.file).mtimeMs / 1000;
  if (!isPostgresUrl(config.db) && !existsSync(config.db)) return snap;
  const db = openDb(config.db, { readonly: true, mustExist: true, poolSize: 1 });
  try {
    snap.databaseBytes = await databaseBytes(db);
    // One moment for every figure.
    await readSnapshot(db, async (q) => {
      for (const kind of ['nightly', 'weekly']) {
        const last = await lastRun(q, kind);
        if (!last) continue;
        const secs = last.finished_at ? (Date.parse(last.finished_at) - Date.parse(last.started_at)) / 1000 : null;
        snap.lastRuns.push({ kind, status: last.status, started: ts(last.started_at)!, finished: ts(last.finished_at), seconds: secs });
        const ok = await lastSuccessFinishedAt(q, kind);
        if (ok) snap.lastSuccess.push({ kind, finished: ts(ok)! });
        for (const st of await stepsOfRuns(q, [last.id]))
          snap.jobs.push({ kind, job: st.step, status: st.status, seconds: st.started_at && st.finished_at ? (Date.parse(st.finished_at) - Date.parse(st.started_at)) / 1000 : null });
      }
      const run = await latestRunOnOrBefore(q, config.asOf);
      snap.forecastRunDate = run;
      if (run) {
        const f = await runSeriesAndFallbacks(q, run);
        snap.seriesForecast = f.n;
        snap.fallbackSeries = f.fallback;
      }
      Object.assign(snap.alerts, await activeAlertsBySeverity(q));
      const n = await pendingNotifications(q);
      snap.notificationsPending = n.pending;
      snap.notificationsFailed = n.failed;
      snap.yesterday = await yesterdayAccuracy(q, config.asOf);
      const lastSale = await lastDataDay(q, 'sales', config.asOf);
      const lastStock = await lastDataDay(q, 'stock_levels', config.asOf);
      // Freshness: whole days between the last day with data and "today" minus one (yesterday's data = 0 days old).
      snap.freshnessDays = { sales: lastSale ? daysBetween(lastSale, config.asOf) - 1 : null, stock: lastStock ? daysBetween(lastStock, config.asOf) - 1 : null };
    });
  } finally {
    await db.close();
  }
  return snap;
}

/** The snapshot as a prom-client registry; `tenant` becomes a label on every metric. */
export function registryOf(snap: MetricsSnapshot, tenant: string | null, now = Date.now()): Registry {
  const reg = new Registry();
  if (tenant) reg.setDefaultLabels({ tenant });
  const g = (name: string, help: string, labelNames: string[] = []) => new Gauge({ name, help, labelNames, registers: [reg] });
  const runStatus = g('optiflow_batch_last_run_status', 'Status of the last batch run of each kind: 1 on the series of its status (success, failed, running, interrupted)', ['kind', 'status']);
  const runStart = g('optiflow_batch_last_run_start_timestamp_seconds', 'Start of the last batch run (Unix seconds)', ['kind']);
  const runDur = g('optiflow_batch_last_run_duration_seconds', 'Wall time of the last batch run, start to end (seconds)', ['kind']);
  const okAt = g('optiflow_batch_last_success_timestamp_seconds', 'End of the last successful batch run (Unix seconds)', ['kind']);
  const jobStatus = g('optiflow_batch_job_status', 'Status of each job in the last batch run: 1 on the series of its status', ['kind', 'job', 'status']);
  const jobDur = g('optiflow_batch_job_duration_seconds', 'Wall time of each job in the last batch run (seconds)', ['kind', 'job']);
  for (const r of snap.lastRuns) {
    for (const st of ['success', 'failed', 'running', 'interrupted']) runStatus.set({ kind: r.kind, status: st }, r.status === st ? 1 : 0);
    runStart.set({ kind: r.kind }, r.started);
    if (r.seconds !== null) runDur.set({ kind: r.kind }, r.seconds);
  }
  for (const r of snap.lastSuccess) okAt.set({ kind: r.kind }, r.finished);
  for (const j of snap.jobs) {
    jobStatus.set({ kind: j.kind, job: j.job, status: j.status }, 1);
    if (j.seconds !== null) jobDur.set({ kind: j.kind, job: j.job }, j.seconds);
  }
  g('optiflow_series_forecast', 'Series (product x location) forecast in the latest run on or before today').set(snap.seriesForecast);
  g('optiflow_series_fallback', 'Series of the latest forecast run on the fallback model (seasonal naive)').set(snap.fallbackSeries);
  const alerts = g('optiflow_alerts_active', 'Active alerts by severity', ['severity']);
  for (const [sev, n] of Object.entries(snap.alerts)) alerts.set({ severity: sev }, n);
  g('optiflow_notifications_pending', 'Notifications queued and not sent yet').set(snap.notificationsPending);
  g('optiflow_notifications_failed', 'Unsent notifications whose last send attempt failed').set(snap.notificationsFailed);
  const wape = g('optiflow_forecast_wape_yesterday', "Yesterday's forecast WAPE over all series: sum|forecast - actual| / sum actual (ratio)");
  const bias = g('optiflow_forecast_bias_yesterday', "Yesterday's forecast bias: mean(forecast - actual) per series (units; > 0 = over-forecast)");
  if (snap.yesterday.wape !== null) wape.set(snap.yesterday.wape);
  if (snap.yesterday.bias !== null) bias.set(snap.yesterday.bias);
  const fresh = g('optiflow_data_freshness_days', 'Days between the last imported day of data and yesterday (0 = up to date)', ['entity']);
  for (const [e, d] of Object.entries(snap.freshnessDays)) if (d !== null) fresh.set({ entity: e }, d);
  g('optiflow_database_size_bytes', 'Size of the database: the SQLite file and its WAL, or pg_database_size on PostgreSQL (bytes)').set(snap.databaseBytes);
  const bAt = g('optiflow_backup_last_timestamp_seconds', 'Time of the newest backup of the database (Unix seconds)');
  const bAge = g('optiflow_backup_last_age_seconds', 'Age of the newest backup of the database (seconds)');
  if (snap.lastBackup !== null) {
    bAt.set(snap.lastBackup);
    bAge.set(Math.max(0, now / 1000 - snap.lastBackup));
  }
  g('optiflow_metrics_generated_timestamp_seconds', 'When these figures were read (Unix seconds)').set(now / 1000);
  return reg;
}

export async function metricsText(config: Config, tenant: string | null = null): Promise<string> {
  return registryOf(await collectSnapshot(config), tenant).metrics();
}

/** Where the textfile goes: config metrics.textfile, '' = metrics.prom in the state folder, 'off' = nowhere. */
export function textfilePath(config: Config): string | null {
  if (config.metrics.textfile === 'off') return null;
  return config.metrics.textfile || join(stateDir(config), 'metrics.prom');
}

/** Writes the textfile atomically (temp file, fsync, rename): node_exporter never reads half a file. */
export async function writeTextfile(config: Config, tenant: string | null = null): Promise<string | null> {
  const file = textfilePath(config);
  if (!file) return null;
  const text = await metricsText(config, tenant);
  mkdirSync(dirname(file), { recursive: true });
  await writeFileAtomic(file, text, { mode: parseOctal('metrics.textfileMode', config.metrics.textfileMode), fsync: true });
  return file;
}

/** `optiflow metrics serve`: GET /metrics reads the figures afresh at every scrape. */
export function serveMetrics(config: Config, o: { port: number; host: string; tenant?: string | null }): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(path === '/metrics' ? 405 : 404, { 'content-type': 'text/plain' });
      res.end(path === '/metrics' ? 'GET only\n' : 'optiflow metrics: see /metrics\n');
      return;
    }
    metricsText(config, o.tenant ?? null).then(
      (text) => {
        res.writeHead(200, { 'content-type': new Registry().contentType });
        res.end(text);
      },
      (e: Error) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`error: ${e.message}\n`);
      },
    );
  });
  return new Promise((ok, ko) => {
    server.once('error', ko);
    server.listen(o.port, o.host, () => ok(server));
  });
}
