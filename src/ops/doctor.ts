/**
 * `optiflow doctor`: every check `health` runs, then the known causes of a
 * failed or wrong night, each with the command that fixes it. Exit 0 healthy,
 * 1 degraded, 2 unhealthy, like health.
 */
import { existsSync, readdirSync, statfsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { backupDir } from './backup.js';
import { stateDir, type Config } from '../config.js';
import { addDays, daysBetween } from '../dates.js';
import { isPostgresUrl, openDb, redactUrl, type Db } from '../db/connection.js';
import { failedNotifications, lastDataDay, modelOutcomes } from '../db/ops.js';
import { knownRunUids } from '../db/batch-records.js';
import { checkHealth, type Check } from '../batch/health.js';
import { lockState, readLock } from '../batch/lock.js';
import { readCheckpoint } from '../batch/checkpoint.js';
import { initBackend } from '../ml/backend.js';

export interface DoctorCheck extends Check {
  /** The command (or edit) that fixes it; null when nothing is wrong. */
  fix: string | null;
}

export interface DoctorReport {
  status: 'healthy' | 'degraded' | 'unhealthy';
  exitCode: 0 | 1 | 2;
  checks: DoctorCheck[];
}

/** The fix for each of health's checks when it is not ok. */
function healthFix(c: Check, config: Config): string | null {
  if (c.status === 'ok') return null;
  const db = redactUrl(config.db);
  switch (c.check) {
    case 'database': return isPostgresUrl(config.db) ? `check that the PostgreSQL server is up and that ${db} names it (host, port, database, user; the password from PGPASSWORD or ~/.pgpass)` : existsSync(db) ? `optiflow restore <backup.db> --db ${db} --force   (backups: ls ${backupDir(config)})` : `optiflow init --db ${db}`;
    case 'migrations': return `optiflow db migrate --db ${db}`;
    case 'last batch': return 'optiflow batch --resume';
    case 'sales data': return 'optiflow import sales <sales.csv>';
    case 'stock data': return 'optiflow import stock <stock.csv>';
    case 'database writable': return isPostgresUrl(config.db) ? `point --db at the primary server, or grant the user CREATE on the database` : `chmod u+w ${db} $(dirname ${db})   (as the user who runs optiflow)`;
    case 'forecasts today': return `optiflow batch --as-of ${config.asOf}`;
    case 'models': return 'optiflow train';
    case 'batch lock': return `rm ${join(stateDir(config), 'batch.lock')}   (or let the next \`optiflow batch --resume\` take it over)`;
    default: return null;
  }
}

async function causes(config: Config, db: Db, add: (check: string, status: Check['status'], detail: string, fix: string | null) => void): Promise<void> {
  const k = db.kysely;
  const sd = stateDir(config);
  // A checkpoint names its run; a run this database never recorded means the folder belongs to another database.
  const keptFrom = addDays(config.asOf, -config.cleanup.batchRunsDays);
  const foreign: string[] = [];
  if (existsSync(sd)) {
    const cps: { f: string; runId: string; runDate: string }[] = [];
    for (const f of readdirSync(sd).filter((n) => /^checkpoint-.*\.json$/.test(n))) {
      let cp;
      try {
        cp = readCheckpoint(join(sd, f));
      } catch {
        foreign.push(`${f} (unreadable)`);
        continue;
      }
      if (!cp || cp.runDate < keptFrom) continue;
      cps.push({ f, runId: cp.runId, runDate: cp.runDate });
    }
    const raw = readLock(join(sd, 'batch.lock'));
    const lock = raw && !('unreadable' in raw) && raw.runId !== 'starting' && raw.runId !== 'unknown' ? raw : null;
    const known = await knownRunUids(k, [...cps.map((c) => c.runId), ...(lock ? [lock.runId] : [])]);
    for (const c of cps) if (!known.has(c.runId)) foreign.push(`${c.f} (run ${c.runId.slice(0, 8)} of ${c.runDate})`);
    if (lock && !known.has(lock.runId)) foreign.push(`batch.lock (run ${lock.runId.slice(0, 8)})`);
  }
  add('state folder', foreign.length ? 'fail' : 'ok',
    foreign.length ? `${sd} holds runs this database never had: ${foreign.join(', ')}; it is the state folder of another database (or of a later copy of this one), and --resume would skip jobs that never ran here` : `${sd} belongs to this database`,
    foreign.length ? `mv ${sd} ${sd}.foreign   (and give each database its own folder: batch.stateDir, or leave it empty for the default beside the database)` : null);

  const ls = lockState(join(sd, 'batch.lock'));
  const rawHolder = readLock(join(sd, 'batch.lock'));
  const holder = rawHolder && !('unreadable' in rawHolder) ? rawHolder : null;
  add('stale lock', ls === 'stale' || ls === 'unreadable' ? 'warn' : 'ok',
    ls === 'stale' ? `lock left by pid ${holder?.pid} (started ${holder?.startedAt}), which is no longer running`
    : ls === 'unreadable' ? 'the lock file is empty or unreadable (a crash between its creation and its write)'
    : ls === 'held' ? `held by pid ${holder?.pid}, running` : 'no lock',
    ls === 'stale' || ls === 'unreadable' ? `rm ${join(sd, 'batch.lock')}   (or \`optiflow batch --resume\`, which takes it over)` : null);

  const lastSale = await lastDataDay(k, 'sales', config.asOf);
  if (!lastSale) add('sales data', 'fail', `no sales before ${config.asOf}: nothing to forecast from`, 'optiflow import sales <sales.csv>');
  else {
    const late = daysBetween(lastSale, config.asOf) - 1;
    add('sales data', late > 0 ? (late > 7 ? 'fail' : 'warn') : 'ok',
      late > 0 ? `the last sales day is ${lastSale}, ${late} day(s) before ${addDays(config.asOf, -1)} (yesterday for --as-of ${config.asOf}): those days would count as missing` : `sales up to ${lastSale}`,
      late > 0 ? `optiflow import sales <sales up to ${addDays(config.asOf, -1)}.csv>   (or run for the day the data allows: --as-of ${addDays(lastSale, 1)})` : null);
  }
  const lastStock = await lastDataDay(k, 'stock_levels', config.asOf);
  add('stock data', lastStock ? 'ok' : 'fail', lastStock ? `stock levels up to ${lastStock}` : `no stock levels before ${config.asOf}: stock-out alerts and order suggestions cannot be computed`, lastStock ? null : 'optiflow import stock <stock.csv>');

  const m = await modelOutcomes(k);
  // health reports "no model yet"; the cause here is a gate that rejects everything.
  if (m.n && !m.usable && m.rejected)
    add('models rejected', 'fail', `all ${m.rejected} trained model(s) were rejected by the quality gate (train.gateRmsse ${config.train.gateRmsse}); every series runs on the fallback`,
      `optiflow models list --all   (see why), then retrain with a gate that fits the data: OPTIFLOW_TRAIN_GATE_RMSSE=${(config.train.gateRmsse * 1.25).toFixed(2)} optiflow train --force`);
  else add('models rejected', 'ok', `${m.usable ?? 0} usable model(s), ${m.rejected ?? 0} rejected`, null);

  const failed = await failedNotifications(k);
  const n = { n: failed.n, err: failed.error };
  const target = config.notify.target;
  if (config.notify.channel === 'command' && (!target || !isAbsolute(target.trim().split(/\s+/)[0])))
    add('notification channel', 'fail', target ? `notify.target "${target}" is not an absolute path: it runs whatever the PATH finds first` : 'notify.channel is command but notify.target is not set', 'set notify.target to the absolute path of the command in the config file');
  else
    add('notification channel', n.n ? 'fail' : 'ok', n.n ? `${n.n} notification(s) failed to send through ${config.notify.channel}${target ? ' ' + target : ''}: ${n.err}` : `channel ${config.notify.channel}`,
      n.n ? `fix notify.target (try it: echo '{}' | ${target ?? '<target>'}), then \`optiflow alerts\` sends the ${n.n} pending again` : null);
}

/** Free bytes on the file system holding a path (injectable for tests). */
export type FreeBytes = (path: string) => number;
const statfsFree: FreeBytes = (p) => {
  const fs = statfsSync(p);
  return fs.bavail * fs.bsize;
};

/**
 * Disk space where optiflow writes: the database's folder, the state folder and
 * the backup folder (the same thresholds as health: under 100 MB unhealthy,
 * under 1 GB degraded).
 */
function diskCheck(config: Config, free: FreeBytes): DoctorCheck {
  const MB = 1048576;
  // On PostgreSQL the server watches its own disk; optiflow writes only its state folder here.
  const mine = isPostgresUrl(config.db) ? [stateDir(config)] : [dirname(resolve(config.db)), stateDir(config), backupDir(config)];
  const places = mine.map((p) => {
    let q = resolve(p);
    while (!existsSync(q) && dirname(q) !== q) q = dirname(q);
    return { p, free: free(q) };
  });
  const low = places.reduce((a, b) => (b.free < a.free ? b : a));
  const status = low.free < 100 * MB ? 'fail' : low.free < 1024 * MB ? 'warn' : 'ok';
  return {
    check: 'disk space', status, detail: `${Math.round(low.free / MB)} MB free for ${low.p}`,
    fix: status === 'ok' ? null : `optiflow cleanup; optiflow backup --keep 3 (drops older backups); or free space on the disk of ${low.p}`,
  };
}

export async function runDoctor(config: Config, deps: { freeBytes?: FreeBytes } = {}): Promise<DoctorReport> {
  const health = await checkHealth(config);
  // health's backend line is replaced by the one below, which also says when a forced backend is missing.
  // health's backend and disk lines are replaced by the ones below (forced backend missing; every folder optiflow writes to).
  const checks: DoctorCheck[] = health.checks.filter((c) => c.check !== 'tf backend' && c.check !== 'disk space').map((c) => ({ ...c, fix: healthFix(c, config) }));
  // A cause health also checks (sales, stock) is one line: the worse of the two findings, with its fix.
  const rank = { ok: 0, warn: 1, fail: 2 };
  const add = (check: string, status: Check['status'], detail: string, fix: string | null) => {
    const cur = checks.find((c) => c.check === check);
    if (!cur) checks.push({ check, status, detail, fix });
    else if (rank[status] > rank[cur.status]) Object.assign(cur, { status, detail, fix: fix ?? cur.fix });
    else if (cur.status !== 'ok' && !cur.fix) cur.fix = fix;
  };

  if (isPostgresUrl(config.db) || existsSync(config.db)) {
    try {
      checks.push(diskCheck(config, deps.freeBytes ?? statfsFree));
    } catch (e) {
      checks.push({ check: 'disk space', status: 'warn', detail: `cannot read free space: ${(e as Error).message}`, fix: null });
    }
  }
  const forced = process.env.OPTIFLOW_TF_BACKEND;
  try {
    const b = await initBackend();
    add('backend', forced && forced !== b ? 'warn' : 'ok', forced && forced !== b ? `OPTIFLOW_TF_BACKEND=${forced} is not available; running on ${b}` : `TensorFlow.js on ${b}`,
      forced && forced !== b ? `unset OPTIFLOW_TF_BACKEND, or install the package for ${forced} (see the README, TensorFlow.js backends)` : null);
  } catch (e) {
    add('backend', 'fail', (e as Error).message, 'npm install @tensorflow/tfjs-backend-wasm');
  }
  // The known causes read the database once its schema is current: the same checks on SQLite and PostgreSQL.
  if ((isPostgresUrl(config.db) || existsSync(config.db)) && health.checks.some((c) => c.check === 'migrations' && c.status === 'ok')) {
    const db = openDb(config.db, { readonly: true, mustExist: true, poolSize: 1 });
    try {
      await causes(config, db, add);
    } finally {
      await db.close();
    }
  }
  const worst = checks.some((c) => c.status === 'fail') ? 2 : checks.some((c) => c.status === 'warn') ? 1 : 0;
  return { status: (['healthy', 'degraded', 'unhealthy'] as const)[worst], exitCode: worst as 0 | 1 | 2, checks };
}
