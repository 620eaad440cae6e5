/**
 * The audit trail: every command that changes data records who ran it (OS
 * user), when, the command line with secrets masked, and how it ended, in the
 * `audit_log` table of the database it ran on, when it ends. A command killed
 * before its end leaves no row: `compliance` finds batch runs no audited
 * command covers (a killed import leaves nothing to audit: it is one transaction).
 */
import { statSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { isPostgresUrl, redactSecrets, redactUrl } from '../db/connection.js';
import { appendAudit, watchSqliteChanges, type ChangeWatcher } from '../db/audit-log.js';

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

export interface AuditEntry {
  /** Records the command when it changed the database; returns whether it did. */
  end(exitCode: number, error?: unknown): Promise<boolean>;
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
 * Watches a command and records it when it changed the database. On SQLite a
 * connection opened before the command reads data_version, which moves when any
 * other connection (the command's, a worker thread's) commits; a command that
 * changed nothing (a refusal, a missing input) leaves the database file exactly
 * as it was, audit included. PostgreSQL has no such counter for one database:
 * there every data-changing command is recorded unless it was refused (exit 2:
 * a refusal writes nothing). Audit failures never fail the command: its own
 * outcome is what the operator needs first.
 */
export function beginAudit(dbPath: () => string, commandPath: string, args: string[], warn: (m: string) => void = () => {}): AuditEntry {
  if (!isDataChanging(commandPath)) return { end: async () => false };
  const startedAt = new Date().toISOString();
  const line = maskCommandLine(args);
  let watcher: ChangeWatcher | null = null;
  let startPath: string | null = null;
  let startFile: string | null = null;
  try {
    startPath = dbPath();
    startFile = isPostgresUrl(startPath) ? null : fileId(startPath);
    watcher = watchSqliteChanges(startPath);
  } catch {
    watcher = null;
  }
  return {
    async end(exitCode, error) {
      let changed = true;
      try {
        const path = dbPath();
        if (isPostgresUrl(path)) changed = exitCode !== 2;
        else if (watcher && path === startPath && fileId(path) === startFile) changed = watcher.changed();
      } catch {
        changed = true;
      } finally {
        watcher?.close();
      }
      if (!changed) return false;
      const outcome = error === undefined && exitCode === 0 ? 'ok' : exitCode === 2 ? 'refused' : 'failed';
      const message = error === undefined ? null : error instanceof Error ? redactSecrets(error.message) : redactSecrets(String(error));
      try {
        await appendAudit(dbPath(), { os_user: osUser(), host: hostname(), pid: process.pid, command: commandPath, command_line: line, started_at: startedAt, finished_at: new Date().toISOString(), outcome, exit_code: exitCode, error: message });
      } catch (e) {
        warn(`audit: could not record ${commandPath}: ${redactSecrets((e as Error).message)}`);
      }
      return true;
    },
  };
}

export { listAudit, type AuditRow } from '../db/audit-log.js';
