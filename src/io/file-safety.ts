/**
 * File safety: where optiflow may write, and how a failed write is named.
 *
 * An output (export file, log file) never resolves to the database, its
 * journal files (-wal, -shm, -journal) or the state folder (cache, lock,
 * checkpoint): writing there would destroy the data the output was made from.
 * Paths are compared after resolving symbolic links of the existing part.
 */
import { existsSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, relative, resolve, isAbsolute } from 'node:path';
import { UsageError } from '../errors.js';

/** The real absolute path of `p`, resolving links of the part that exists. */
export function realPath(p: string): string {
  const abs = resolve(p);
  if (existsSync(abs)) return realpathSync(abs);
  const parent = dirname(abs);
  if (parent === abs) return abs;
  return join(realPath(parent), basename(abs));
}

export interface ProtectedPaths {
  /** The database file (a postgres:// URL protects nothing on disk). */
  db: string;
  /** The state folder (cache, lock, checkpoint). */
  stateDir: string;
}

/** The files an output must never be: the database and its journal files. */
function databaseFiles(db: string): string[] {
  if (/^postgres(ql)?:/.test(db)) return [];
  const base = realPath(db);
  return [base, `${base}-wal`, `${base}-shm`, `${base}-journal`];
}

function inside(folder: string, p: string): boolean {
  const r = relative(folder, p);
  return r === '' || (!r.startsWith('..') && !isAbsolute(r));
}

/**
 * Throws a UsageError naming `what` when `path` would overwrite the database,
 * its journal files or anything in the state folder, or is a folder.
 */
export function assertSafeOutput(path: string, what: string, keep: ProtectedPaths): void {
  const target = realPath(path);
  if (existsSync(target) && statSync(target).isDirectory()) throw new UsageError(`${what}: ${path} is a folder; give a file path`);
  const dbFiles = databaseFiles(keep.db);
  if (dbFiles.includes(target)) throw new UsageError(`${what}: ${path} is the database ${keep.db} (or one of its journal files); writing there would destroy it; choose another file`);
  if (!/^postgres(ql)?:/.test(keep.stateDir) && inside(realPath(keep.stateDir), target))
    throw new UsageError(`${what}: ${path} is inside the state folder ${keep.stateDir} (history cache, lock, checkpoint); choose a file outside it`);
}

/**
 * The log file: a file path outside the database files and the state folder,
 * whose rotated names (name1.ext .. name4.ext) do not hit the database either.
 * `defaultLog` (the state folder's own log) is allowed.
 */
export function assertSafeLogFile(path: string, keep: ProtectedPaths, defaultLog: string): void {
  if (realPath(path) === realPath(defaultLog)) return;
  assertSafeOutput(path, 'logFile', keep);
  const ext = extname(path);
  const stem = path.slice(0, path.length - ext.length);
  for (let k = 1; k < 5; k++) {
    if (databaseFiles(keep.db).includes(realPath(`${stem}${k}${ext}`)))
      throw new UsageError(`logFile: ${path} rotates into ${stem}${k}${ext}, which is the database ${keep.db}; choose another file`);
  }
}

/** A write error in plain words: a full disk is named as such, with the file. */
export function describeIoError(e: unknown, file?: string): string {
  const err = e as NodeJS.ErrnoException & { code?: string };
  const where = file ? ` writing ${file}` : '';
  const code = err?.code ?? '';
  if (code === 'SQLITE_FULL' || /database or disk is full/i.test(err?.message ?? ''))
    return `the disk holding the database is full (SQLITE_FULL)${where}; nothing of this step was written; free space on that disk, then run the command again`;
  if (code === 'ENOSPC') return `no space left on the device (ENOSPC)${where}; free space on that disk, then run the command again`;
  if (code === 'EDQUOT') return `disk quota exceeded (EDQUOT)${where}; free space or raise the quota, then run the command again`;
  if (code === 'EACCES' || code === 'EPERM') return `permission denied (${code})${where}`;
  if (code === 'EROFS') return `read-only file system (EROFS)${where}`;
  return `${err?.message ?? String(e)}${where && !(err?.message ?? '').includes(file ?? '\0') ? where : ''}`;
}

/** True for errors that mean the disk is full. */
export function isDiskFull(e: unknown): boolean {
  const code = (e as { code?: string })?.code;
  return code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'EDQUOT';
}
