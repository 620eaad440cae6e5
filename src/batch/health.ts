/**
 * `optiflow health`: database reachable and intact, migrations current, last
 * nightly batch recent and successful, forecasts for today, models fresh,
 * disk space, lock not stale, TensorFlow.js backend. Each check is ok, warn
 * (degraded) or fail (unhealthy); the worst decides the exit code 0 / 1 / 2.
 */
import { statfsSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { stateDir, type Config } from '../config.js';
import { dbStatus, openDb, isPostgresUrl, isReadOnlyError, readOnlyMessage, redactIn, redactUrl } from '../db/connection.js';
import { canWriteDb, modelAges, probeDatabase, seriesForecastOn } from '../db/ops.js';
import { lastRun } from '../db/batch-records.js';
import { initBackend } from '../ml/backend.js';
import { lockState } from './lock.js';
import { addDays, daysBetween } from '../dates.js';
import { salesCoverage, seriesWithoutStock, STOCK_FIX } from '../db/coverage.js';

export interface Check {
  check: string;
  status: 'ok' | 'warn' | 'fail';
  detail: string;
}

export interface HealthReport {
  status: 'healthy' | 'degraded' | 'unhealthy';
  exitCode: 0 | 1 | 2;
  checks: Check[];
}

export async function checkHealth(config: Config): Promise<HealthReport> {
  const checks: Check[] = [];
  const add = (check: string, status: Check['status'], detail: string) => checks.push({ check, status, detail });
  const done = (): HealthReport => {
    const worst = checks.some((c) => c.status === 'fail') ? 2 : checks.some((c) => c.status === 'warn') ? 1 : 0;
    return { status: (['healthy', 'degraded', 'unhealthy'] as const)[worst], exitCode: worst as 0 | 1 | 2, checks };
  };
  const where = redactUrl(config.db);
  if (!isPostgresUrl(config.db) && !existsSync(config.db)) {
    add('database', 'fail', `${where} does not exist`);
    return done();
  }
  let db: ReturnType<typeof openDb>;
  try {
    db = openDb(config.db, { poolSize: config.dbPool });
  } catch (e) {
    add('database', 'fail', isReadOnlyError(e) ? readOnlyMessage(where) : redactIn((e as Error).message, config.db));
    return done();
  }
  try {
    // SQLite: quick_check and a write probe on the file; PostgreSQL: a round trip and a write probe (no PRAGMA there).
    const p = await probeDatabase(db);
    add('database', p.ok ? 'ok' : 'fail', p.ok ? `${where} reachable, ${p.detail}` : p.detail);
    if (!(await canWriteDb(db))) add('database writable', 'fail', db.sqlite ? readOnlyMessage(where) : `database ${where} is read-only for this user (a standby server, or no CREATE privilege); point --db at the primary, or grant the privilege`);
    const st = await dbStatus(db);
    const pending = st.migrations.filter((m) => !m.applied).map((m) => m.name);
    add('migrations', pending.length ? 'fail' : 'ok', pending.length ? `pending: ${pending.join(', ')}; run \`optiflow db migrate\`` : `${st.migrations.length} applied`);
    if (pending.length) return done();
    const k = db.kysely;
    const last = await lastRun(k, 'nightly');
    if (!last) add('last batch', 'warn', 'no nightly batch has run yet');
    else {
      const age = daysBetween(last.run_date, config.asOf);
      const ok = last.status === 'success' && age <= 1;
      add('last batch', ok ? 'ok' : 'warn', `run date ${last.run_date} (${age} day(s) ago), ${last.status}${last.finished_at ? ', finished ' + last.finished_at : ''}`);
    }
    const cov = await salesCoverage(db, config.asOf);
    const stale = cov.filter((c) => c.missingDays > config.data.maxStalenessDays);
    if (!cov.length) add('sales data', 'warn', 'no sales before today; run `optiflow import sales FILE`');
    else if (stale.length)
      add('sales data', 'fail', `sales end on ${stale.map((c) => `${c.lastSale} at ${c.location}`).slice(0, 5).join(', ')}, ${stale[0].missingDays} day(s) before ${config.asOf} (limit data.maxStalenessDays = ${config.data.maxStalenessDays}); forecasts would read missing days as zero demand: run \`optiflow import sales FILE\``);
    else add('sales data', 'ok', `sales up to ${cov.map((c) => c.lastSale).sort()[0]} at every location`);
    const noStock = await seriesWithoutStock(db, config.asOf);
    add('stock data', noStock ? 'warn' : 'ok', noStock ? `${noStock} series have no stock record (stock unknown: no stock alert for them); run \`${STOCK_FIX}\`` : 'every series has a stock record');
    const nf = await seriesForecastOn(k, config.asOf);
    add('forecasts today', nf ? 'ok' : 'warn', nf ? `${nf} series forecast for ${config.asOf}` : `no forecasts for ${config.asOf}; run \`optiflow batch\``);
    // Trained on data older than 2 x maxModelAgeDays: train_end more than that many days before --as-of.
    const m = await modelAges(k, addDays(config.asOf, -2 * config.train.maxModelAgeDays));
    if (!m.n) add('models', 'warn', 'no active models; run `optiflow train`');
    else add('models', m.old / m.n > 0.2 ? 'warn' : 'ok', `${m.n} active, ${m.old} trained on data older than ${2 * config.train.maxModelAgeDays} days`);
    try {
      // SQLite: the database's own disk. PostgreSQL: the server watches its own disk; here, the state folder's (history cache, checkpoints).
      const place = db.sqlite ? dirname(resolve(config.db)) : existingParent(stateDir(config));
      const fs = statfsSync(place);
      const free = fs.bavail * fs.bsize;
      const mb = Math.round(free / 1048576);
      add('disk space', free < 100 * 1048576 ? 'fail' : free < 1024 * 1048576 ? 'warn' : 'ok', `${mb} MB free ${db.sqlite ? 'beside the database' : `for the state folder ${stateDir(config)} (the PostgreSQL server's disk is the server's to watch)`}`);
    } catch (e) {
      add('disk space', 'warn', `cannot read free space: ${(e as Error).message}`);
    }
    const lockFile = join(stateDir(config), 'batch.lock');
    const ls = lockState(lockFile);
    const lockDetail = { free: 'no batch running', held: 'a batch is running', stale: `stale lock ${lockFile} (its holder is gone, or it is empty or unreadable); the next batch takes it over`, unreadable: `lock ${lockFile} is empty or unreadable and recent; the next batch takes it over once it is older than a minute` };
    add('batch lock', ls === 'stale' || ls === 'unreadable' ? 'warn' : 'ok', lockDetail[ls]);
    add('tf backend', 'ok', await initBackend());
    return done();
  } catch (e) {
    add('database', 'fail', isReadOnlyError(e) ? readOnlyMessage(where) : redactIn((e as Error).message, config.db));
    return done();
  } finally {
    await db.close();
  }
}

function existingParent(p: string): string {
  let q = resolve(p);
  while (!existsSync(q) && dirname(q) !== q) q = dirname(q);
  return q;
}
