/**
 * The audit trail (`audit_log`): one row per command that changed the database.
 * Also the SQLite change detector the audit uses: `data_version` moves when any
 * other connection commits, so a command that wrote nothing leaves no row.
 */
import BetterSqlite3 from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { isPostgresUrl, openDb } from './connection.js';
import { num, type Q } from './query.js';

export interface AuditRecord {
  os_user: string; host: string; pid: number; command: string; command_line: string;
  started_at: string; finished_at: string; outcome: 'ok' | 'failed' | 'refused'; exit_code: number; error: string | null;
}

export interface AuditRow {
  id: number;
  started_at: string;
  finished_at: string | null;
  os_user: string;
  host: string;
  command: string;
  outcome: string;
  exit_code: number | null;
  command_line: string;
  error: string | null;
}

/**
 * Appends an audit row to the database at `location` when it has an audit_log
 * table; returns false when there is nowhere to write it (no database yet, or
 * not migrated).
 */
export async function appendAudit(location: string, row: AuditRecord): Promise<boolean> {
  if (!isPostgresUrl(location) && !existsSync(location)) return false;
  const db = openDb(location, { mustExist: true, poolSize: 1 });
  try {
    const tables = await db.kysely.introspection.getTables();
    if (!tables.some((t) => t.name === 'audit_log')) return false;
    await db.kysely.insertInto('audit_log').values(row).execute();
    return true;
  } finally {
    await db.close();
  }
}

/** The audit trail since a date (inclusive), oldest first, at most `limit` rows (the newest). */
export async function listAudit(q: Q, since?: string, limit = 1000): Promise<AuditRow[]> {
  const rows = await q
    .selectFrom('audit_log')
    .select(['id', 'started_at', 'finished_at', 'os_user', 'host', 'command', 'outcome', 'exit_code', 'command_line', 'error'])
    .where('started_at', '>=', since ?? '')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ ...r, id: num(r.id) }) as AuditRow).reverse();
}

/** Watches a SQLite file for commits by other connections (null when there is no file to watch). */
export interface ChangeWatcher {
  changed(): boolean;
  close(): void;
}

export function watchSqliteChanges(path: string): ChangeWatcher | null {
  if (isPostgresUrl(path) || !existsSync(path)) return null;
  const s = new BetterSqlite3(path, { fileMustExist: true });
  const version = s.pragma('data_version', { simple: true }) as number;
  return {
    changed: () => s.pragma('data_version', { simple: true }) !== version,
    close: () => s.close(),
  };
}
