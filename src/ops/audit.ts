/**
 * The audit trail: every command that changes data records who ran it (OS
 * user), when, the command line with secrets masked, and how it ended, in the
 * `audit_log` table of the database it ran on, when it ends. A command killed
 * before its end leaves no row: `compliance` finds batch runs no audited
 * command covers (a killed import leaves nothing to audit: it is one transaction).
 */
import BetterSqlite3 from 'better-sqlite3';
import { existsSync, statSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { isPostgresUrl, redactUrl } from '../db/connection.js';

/** Commands that only read: never audited. Every other command is (default: audited). */
const READ_ONLY = new Set([
  'export', 'health', 'doctor', 'audit', 'security-check', 'compliance', 'metrics serve', 'metrics write', 'batch report',
  'db status', 'models list', 'models show', 'models explain', 'tenants list', 'patterns', 'simulate', 'backup', 'check', 'report',
]);

export function isDataChanging(commandPath: string): boolean {
  return !READ_ONLY.has(commandPath);
}

const SECRET_FLAG = /^--?(password|passwd|pass|token|secret|api-?key|auth|credentials?)$/i;
const SECRET_KEY = /(password|passwd|token|secret|api[-_]?key|auth)/i;

/** One argument with secrets masked: URL passwords, `key=value` secrets, token-like query parameters. */
function maskArg(a: string): string {
  if (isPostgresUrl(a)) return redactUrl(a);
  let s = a.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*):([^@/\s]*)@/i, '$1:***@');
  s = s.replace(/([?&](?:password|token|secret|api_?key|access_token|sslpassword)=)[^&\s]*/gi, '$1***');
  const eq = s.indexOf('=');
  if (eq > 0 && !s.includes('://')) {
    const key = s.slice(0, eq).replace(/^--?/, '');
    if (/^[A-Za-z_][\w.-]*$/.test(key) && SECRET_KEY.test(key)) s = s.slice(0, eq + 1) + '***';
  }
  return s;
}

/** The command line as recorded: secrets masked, arguments quoted when they hold spaces. */
export function maskCommandLine(args: string[]): string {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (SECRET_FLAG.test(a) && i + 1 < args.length) {
      out.push(a, '***');
      i++;
      continue;
    }
    const m = maskArg(a);
    out.push(/[\s"']/.test(m) ? JSON.stringify(m) : m);
  }
  return ['optiflow', ...out].join(' ');
}

export function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    // A container user without a passwd entry.
    return process.env.USER ?? process.env.LOGNAME ?? `uid:${process.getuid?.() ?? '?'}`;
  }
}

function openAuditable(dbPath: string): BetterSqlite3.Database | null {
  if (isPostgresUrl(dbPath) || !existsSync(dbPath)) return null;
  try {
    const s = new BetterSqlite3(dbPath, { fileMustExist: true });
    s.pragma('busy_timeout = 60000');
    const has = s.prepare(`select 1 from sqlite_master where type = 'table' and name = 'audit_log'`).get();
    if (!has) {
      s.close();
      return null;
    }
    return s;
  } catch {
    return null;
  }
}

export interface AuditEntry {
  /** Records the command when it changed the database; returns whether it did. */
  end(exitCode: number, error?: unknown): boolean;
}

/** The identity of the file at a path (a restore or a first `init` puts another file there). */
function fileId(path: string): string | null {
  try {
    const st = statSync(path);
    return `${st.dev}:${st.ino}`;
  } catch {
    return null;
  }
}

/**
 * Watches a command and records it when it changed the database. A connection
 * opened before the command reads SQLite's data_version, which moves when any
 * other connection (the command's, a worker thread's) commits; a command that
 * changed nothing (a refusal, a missing input) leaves the database file exactly
 * as it was, audit included. Audit failures never fail the command: its own
 * outcome is what the operator needs first.
 */
export function beginAudit(dbPath: () => string, commandPath: string, args: string[], warn: (m: string) => void = () => {}): AuditEntry {
  if (!isDataChanging(commandPath)) return { end: () => false };
  const startedAt = new Date().toISOString();
  const line = maskCommandLine(args);
  let watcher: BetterSqlite3.Database | null = null;
  let version: number | null = null;
  let startPath: string | null = null;
  let startFile: string | null = null;
  try {
    startPath = dbPath();
    if (!isPostgresUrl(startPath) && existsSync(startPath)) {
      startFile = fileId(startPath);
      watcher = new BetterSqlite3(startPath, { fileMustExist: true });
      version = watcher.pragma('data_version', { simple: true }) as number;
    }
  } catch {
    watcher?.close();
    watcher = null;
  }
  return {
    end(exitCode, error) {
      let changed = true;
      try {
        const path = dbPath();
        if (watcher && path === startPath && fileId(path) === startFile) changed = watcher.pragma('data_version', { simple: true }) !== version;
      } catch {
        changed = true;
      } finally {
        watcher?.close();
      }
      if (!changed) return false;
      const outcome = error === undefined && exitCode === 0 ? 'ok' : exitCode === 2 ? 'refused' : 'failed';
      const message = error === undefined ? null : error instanceof Error ? error.message : String(error);
      try {
        const s = openAuditable(dbPath());
        if (!s) return true;
        try {
          s.prepare(`insert into audit_log (os_user, host, pid, command, command_line, started_at, finished_at, outcome, exit_code, error) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
            .run(osUser(), hostname(), process.pid, commandPath, line, startedAt, new Date().toISOString(), outcome, exitCode, message);
        } finally {
          s.close();
        }
      } catch (e) {
        warn(`audit: could not record ${commandPath}: ${(e as Error).message}`);
      }
      return true;
    },
  };
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

/** The audit trail since a date (inclusive), oldest first. */
export function listAudit(sqlite: BetterSqlite3.Database, since?: string, limit = 1000): AuditRow[] {
  return sqlite
    .prepare(`select id, started_at, finished_at, os_user, host, command, outcome, exit_code, command_line, error from audit_log where started_at >= ? order by id desc limit ?`)
    .all(since ?? '', limit)
    .reverse() as AuditRow[];
}
