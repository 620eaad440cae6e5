/**
 * `optiflow backup` and `optiflow restore` (embedded SQLite database).
 *
 * Backup: a read transaction on the source fixes one moment; the row count of
 * every table is taken in it, and SQLite's online backup API copies the pages
 * of that same snapshot while a batch may go on writing (WAL mode: writers do
 * not wait for the backup, the backup does not see their later commits). The
 * copy is written under a temporary name, checked (integrity_check, then the
 * row count of every table against the source's at the snapshot) and only then
 * renamed to `<db>-<YYYYMMDD-HHMMSS>Z.db`, with a manifest `<name>.json` and a
 * copy of the state folder (checkpoints, history cache) as `<name>.state/`,
 * taken just before the snapshot (never newer than the database it goes with).
 * Retention keeps the newest N backups of the database.
 *
 * Restore: the file is checked first (integrity, schema, manifest counts);
 * an existing database is replaced only with --force and never while a batch
 * holds its lock; the replaced database (and state folder) is kept beside it.
 */
import { checkpointWal, rowCounts, snapshotCopy, verifyDatabaseFile } from '../db/sqlite-file.js';
import { closeSync, copyFileSync, cpSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { stateDir, type Config } from '../config.js';
import { UsageError, JobError } from '../errors.js';
import { isPostgresUrl } from '../db/connection.js';
import { lockState } from '../batch/lock.js';

export interface BackupManifest {
  file: string;
  source: string;
  created_at: string;
  integrity: string;
  tables: Record<string, number>;
  size_bytes: number;
  state_dir: string | null;
}

export interface BackupResult extends BackupManifest {
  manifest: string;
  removed: string[];
  seconds: number;
}

function refusePostgres(db: string, what: string): void {
  if (isPostgresUrl(db))
    throw new UsageError(`${what} works on the embedded SQLite database; --db is PostgreSQL, whose backups are pg_dump's job (e.g. \`pg_dump -Fc -f optiflow.dump "$OPTIFLOW_DB"\`, restored with pg_restore)`);
}

export function backupDir(config: Config): string {
  return resolve(config.backup.dir || join(dirname(resolve(config.db)), 'backups'));
}

function dbStem(db: string): string {
  return basename(db).replace(/\.(db|sqlite3?)$/i, '');
}

function stamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15) + 'Z';
}

export { rowCounts, verifyDatabaseFile };

function fsyncFile(file: string): void {
  const fd = openSync(file, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Backups of this database, oldest first (by the time in their name). */
export function listBackups(config: Config): { file: string; manifest: BackupManifest | null }[] {
  const dir = backupDir(config);
  if (isPostgresUrl(config.db) || !existsSync(dir)) return [];
  const re = new RegExp(`^${dbStem(config.db).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-\\d{8}-\\d{6}Z(-\\d+)?\\.db$`);
  return readdirSync(dir)
    .filter((f) => re.test(f))
    .sort()
    .map((f) => {
      const file = join(dir, f);
      let manifest: BackupManifest | null = null;
      try {
        manifest = JSON.parse(readFileSync(file.replace(/\.db$/, '.json'), 'utf8')) as BackupManifest;
      } catch {
        manifest = null;
      }
      return { file, manifest };
    });
}

export interface BackupOptions {
  to?: string;
  keep?: number;
  now?: () => Date;
  /** Pages copied per step of the backup API (default 4096): between steps the batch goes on writing. */
  pagesPerStep?: number;
}

export async function backup(config: Config, o: BackupOptions = {}): Promise<BackupResult> {
  refusePostgres(config.db, 'backup');
  if (!existsSync(config.db)) throw new UsageError(`backup: database ${config.db} does not exist; nothing to back up`);
  const keep = o.keep ?? config.backup.keep;
  const cfg: Config = o.to ? { ...config, backup: { ...config.backup, dir: o.to } } : config;
  const dir = backupDir(cfg);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const t0 = Date.now();
  const when = (o.now ?? (() => new Date()))();
  let name = `${dbStem(config.db)}-${stamp(when)}`;
  for (let i = 2; existsSync(join(dir, name + '.db')); i++) name = `${dbStem(config.db)}-${stamp(when)}-${i}`;
  const file = join(dir, name + '.db');
  const partial = file + '.partial';

  // The state folder is copied BEFORE the database snapshot: a checkpoint or history cache older than
  // the database is safe (resume re-runs an idempotent job, the cache re-reads changed days); a newer
  // one could claim work the copied database does not hold. The lock and the logs are not state.
  const sd = stateDir(config);
  let stateTmp: string | null = null;
  if (existsSync(sd)) {
    stateTmp = join(dir, name + '.state.partial');
    cpSync(sd, stateTmp, { recursive: true, filter: (f) => !/(^|\/)batch\.lock$|\.tmp$/.test(f) && !/\.log(\.\d+)?$/.test(f) && !f.endsWith('.prom') });
  }
  let counts: Record<string, number>;
  try {
    counts = await snapshotCopy(config.db, partial, o.pagesPerStep ?? 4096);
  } catch (e) {
    rmSync(partial, { force: true });
    if (stateTmp) rmSync(stateTmp, { recursive: true, force: true });
    throw new JobError(`backup: copying ${config.db} failed: ${(e as Error).message}`);
  }
  const check = verifyDatabaseFile(partial, counts);
  if (check.problems.length) {
    rmSync(partial, { force: true });
    if (stateTmp) rmSync(stateTmp, { recursive: true, force: true });
    throw new JobError(`backup: the copy of ${config.db} failed verification (${check.problems.join('; ')}); nothing was kept`);
  }
  fsyncFile(partial);
  renameSync(partial, file);

  let stateCopy: string | null = null;
  if (stateTmp) {
    stateCopy = join(dir, name + '.state');
    renameSync(stateTmp, stateCopy);
  }
  const manifest: BackupManifest = { file, source: resolve(config.db), created_at: when.toISOString(), integrity: check.integrity, tables: counts, size_bytes: statSync(file).size, state_dir: stateCopy };
  const manifestFile = join(dir, name + '.json');
  writeFileSync(manifestFile, JSON.stringify(manifest, null, 2) + '\n');
  const removed = applyRetention(cfg, keep);
  return { ...manifest, manifest: manifestFile, removed, seconds: Math.round((Date.now() - t0) / 100) / 10 };
}

/** Keeps the newest `keep` backups of the database; returns the files removed. */
export function applyRetention(config: Config, keep: number): string[] {
  const all = listBackups(config);
  const old = all.slice(0, Math.max(0, all.length - keep));
  for (const b of old) {
    rmSync(b.file, { force: true });
    rmSync(b.file.replace(/\.db$/, '.json'), { force: true });
    rmSync(b.file.replace(/\.db$/, '.state'), { recursive: true, force: true });
  }
  return old.map((b) => b.file);
}

export interface RestoreResult {
  restored: string;
  from: string;
  tables: Record<string, number>;
  replaced: string | null;
  state_restored: string | null;
  state_replaced: string | null;
}

export function restore(config: Config, file: string, o: { force?: boolean } = {}): RestoreResult {
  refusePostgres(config.db, 'restore');
  if (!existsSync(file)) throw new UsageError(`restore: backup file ${file} not found; list backups with \`ls ${backupDir(config)}\``);
  let manifest: BackupManifest | null = null;
  const mf = file.replace(/\.db$/, '.json');
  if (mf !== file && existsSync(mf)) manifest = JSON.parse(readFileSync(mf, 'utf8')) as BackupManifest;
  const check = verifyDatabaseFile(file, manifest?.tables);
  if (check.problems.length) throw new UsageError(`restore: ${file} failed verification (${check.problems.join('; ')}); nothing was replaced; pick another backup`);

  const target = resolve(config.db);
  const sd = stateDir(config);
  if (lockState(join(sd, 'batch.lock')) === 'held') throw new UsageError(`restore: a batch is running on ${target} (lock ${join(sd, 'batch.lock')}); wait for it to end, then restore`);
  const exists = existsSync(target);
  if (exists && !o.force) throw new UsageError(`restore: ${target} exists; add --force to replace it (the replaced file is kept as ${basename(target)}.replaced-<time>)`);

  mkdirSync(dirname(target), { recursive: true });
  const tmp = `${target}.restoring`;
  copyFileSync(file, tmp);
  fsyncFile(tmp);
  const suffix = `.replaced-${stamp(new Date())}`;
  let replaced: string | null = null;
  if (exists) {
    // Fold the WAL into the file so the kept copy stands alone.
    checkpointWal(target);
    replaced = target + suffix;
    renameSync(target, replaced);
    for (const ext of ['-wal', '-shm']) if (existsSync(target + ext)) renameSync(target + ext, replaced + ext);
  }
  renameSync(tmp, target);

  // The state folder of the backup's night goes with it: a checkpoint must describe the database it sits beside.
  let stateRestored: string | null = null;
  let stateReplaced: string | null = null;
  const backupState = manifest?.state_dir && existsSync(manifest.state_dir) ? manifest.state_dir : existsSync(file.replace(/\.db$/, '.state')) ? file.replace(/\.db$/, '.state') : null;
  if (existsSync(sd)) {
    stateReplaced = sd + suffix;
    renameSync(sd, stateReplaced);
  }
  if (backupState) {
    cpSync(backupState, sd, { recursive: true });
    stateRestored = sd;
  }
  return { restored: target, from: resolve(file), tables: check.tables, replaced, state_restored: stateRestored, state_replaced: stateReplaced };
}
