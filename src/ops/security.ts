/**
 * `optiflow security-check`: file permissions of the database, the state
 * folder (checkpoints, cache, logs, notifications), the log file and the
 * backups (error when anyone may read or write them, warning when the group
 * may); secrets in the config file; a notification command that is not an
 * absolute path or that others may change. Exit 1 when an error is found.
 */
import { existsSync, lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { stateDir, type Config } from '../config.js';
import { isPostgresUrl } from '../db/connection.js';
import { backupDir } from './backup.js';
import { textfilePath } from './metrics.js';

export interface Finding {
  level: 'error' | 'warn';
  what: string;
  path: string | null;
  detail: string;
  fix: string;
}

export interface SecurityReport {
  findings: Finding[];
  checked: string[];
  exitCode: 0 | 1;
}

function modeFindings(path: string, what: string, out: Finding[]): void {
  const st = lstatSync(path);
  if (st.isSymbolicLink()) return;
  const mode = st.mode & 0o777;
  const dir = st.isDirectory();
  const priv = dir ? '700' : '600';
  if (mode & 0o007) out.push({ level: 'error', what, path, detail: `mode ${mode.toString(8)}: ${mode & 0o002 ? 'anyone can change it' : 'anyone can read it'}`, fix: `chmod ${dir ? '-R ' : ''}go-rwx ${path}` });
  else if (mode & 0o070) out.push({ level: 'warn', what, path, detail: `mode ${mode.toString(8)}: its group can ${mode & 0o020 ? 'change' : 'read'} it`, fix: `chmod ${dir ? 'g-rwx' : 'g-rw'} ${path}   (or ${priv} if the group is not meant to)` });
}

function walk(path: string, what: string, out: Finding[], checked: string[], skip: Set<string>, depth = 0): void {
  if (!existsSync(path) || skip.has(resolve(path))) return;
  checked.push(path);
  modeFindings(path, what, out);
  if (depth < 3 && statSync(path).isDirectory()) for (const f of readdirSync(path)) walk(join(path, f), what, out, checked, skip, depth + 1);
}

/** A database URL with a password, or a token, written in the config file. */
function configSecrets(data: Record<string, unknown>, prefix = ''): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(data)) {
    const key = prefix + k;
    if (v && typeof v === 'object' && !Array.isArray(v)) out.push(...configSecrets(v as Record<string, unknown>, key + '.'));
    else if (typeof v === 'string') {
      if (/^[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:[^@/\s]+@/i.test(v)) out.push(`${key} holds a URL with a password`);
      else if (/(password|secret|token|api_?key)/i.test(k) && v) out.push(`${key} holds a secret`);
      else if (/[?&](password|token|secret|api_?key)=/i.test(v)) out.push(`${key} holds a secret in a query string`);
    }
  }
  return out;
}

export function securityCheck(config: Config, configFile: string | null, configData: Record<string, unknown>): SecurityReport {
  const findings: Finding[] = [];
  const checked: string[] = [];
  if (!isPostgresUrl(config.db)) for (const f of [config.db, config.db + '-wal', config.db + '-shm']) if (existsSync(f)) { checked.push(f); modeFindings(f, 'database', findings); }
  // The metrics textfile is readable by design (node_exporter reads it as its own user; config metrics.textfileMode).
  const tf = textfilePath(config);
  const skip = new Set(tf ? [resolve(tf)] : []);
  walk(stateDir(config), 'state folder', findings, checked, skip);
  if (config.logFile) for (const f of [config.logFile, ...[1, 2, 3, 4, 5].map((i) => config.logFile!.replace(/(\.\w+)?$/, `${i}$1`))]) if (existsSync(f)) { checked.push(f); modeFindings(f, 'log', findings); }
  if (config.notify.channel === 'file' && config.notify.target && existsSync(config.notify.target)) { checked.push(config.notify.target); modeFindings(config.notify.target, 'notification file', findings); }
  if (!isPostgresUrl(config.db)) walk(backupDir(config), 'backups', findings, checked, skip);

  if (configFile && existsSync(configFile)) {
    checked.push(configFile);
    const st = statSync(configFile);
    if (st.mode & 0o022) findings.push({ level: 'error', what: 'config file', path: configFile, detail: `mode ${(st.mode & 0o777).toString(8)}: others can change what optiflow runs`, fix: `chmod go-w ${configFile}` });
    for (const s of configSecrets(configData))
      findings.push({ level: 'error', what: 'config secret', path: configFile, detail: s, fix: s.startsWith('db ') ? 'remove it from the file and set OPTIFLOW_DB (or PGPASSWORD / ~/.pgpass for the password) in the environment of the cron job' : 'remove it from the file and pass it through the environment' });
  }
  if (isPostgresUrl(config.db) && /^[a-z]+:\/\/[^:/@\s]*:[^@/\s]+@/i.test(config.db) && !configSecrets(configData).some((s) => s.startsWith('db ')))
    findings.push({ level: 'warn', what: 'database URL', path: null, detail: 'the database URL carries a password on the command line or in the environment, visible to `ps` when given with --db', fix: 'use PGPASSWORD or ~/.pgpass and a URL without the password' });

  if (config.notify.channel === 'command') {
    const target = config.notify.target?.trim() ?? '';
    const prog = target.split(/\s+/)[0] ?? '';
    if (!target) findings.push({ level: 'error', what: 'notify command', path: null, detail: 'notify.channel is command but notify.target is empty', fix: 'set notify.target to the absolute path of the command' });
    else if (!isAbsolute(prog)) findings.push({ level: 'error', what: 'notify command', path: prog, detail: `"${prog}" is not an absolute path: whatever the PATH finds first runs with the batch's rights`, fix: `set notify.target to an absolute path (e.g. ${resolve('/usr/local/bin', prog)})` });
    else if (!existsSync(prog)) findings.push({ level: 'error', what: 'notify command', path: prog, detail: 'the command does not exist', fix: 'install it or correct notify.target' });
    else {
      checked.push(prog);
      for (const p of [prog, dirname(prog)]) {
        const m = statSync(p).mode;
        if (m & 0o002 && !(p === dirname(prog) && m & 0o1000)) findings.push({ level: 'error', what: 'notify command', path: p, detail: `${p === prog ? 'the command' : 'its folder'} is world-writable (mode ${(m & 0o777).toString(8)}): anyone can replace what the batch runs`, fix: `chmod o-w ${p}` });
        else if (m & 0o020) findings.push({ level: 'warn', what: 'notify command', path: p, detail: `${p === prog ? 'the command' : 'its folder'} is group-writable`, fix: `chmod g-w ${p}` });
      }
    }
  }
  return { findings, checked, exitCode: findings.some((f) => f.level === 'error') ? 1 : 0 };
}

/** Reads the config file's JSON for the secret scan (the config loader has validated it already). */
export function readConfigData(file: string | null): Record<string, unknown> {
  if (!file || !existsSync(file)) return {};
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return {};
  }
}
