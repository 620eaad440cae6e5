/**
 * File safety: the rule for a config file picked up implicitly from the
 * current folder, and the umask that keeps the files optiflow creates private.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from '../errors.js';

/**
 * A config file found in the current folder (not named by --config or
 * OPTIFLOW_CONFIG) may set `notify.target`, which can make the batch run a shell
 * command, only when it is owned by the user running optiflow and writable by
 * nobody else: the rule git applies to a repository with safe.directory.
 * Otherwise anyone who can write in a folder where optiflow is run could make it
 * run their command.
 */
export function refuseUnsafeImplicitConfig(file: string, data: Record<string, unknown>): void {
  const notify = data.notify as Record<string, unknown> | undefined;
  if (!notify || typeof notify !== 'object' || notify.target === undefined || notify.target === null) return;
  const problem = implicitConfigProblem(file);
  if (problem)
    throw new UsageError(
      `config ${resolve(file)} was picked up from the current folder and sets notify.target, but it ${problem}; ` +
        `fix it with \`chown ${currentUid()} ${file} && chmod go-w ${file}\`, or name the file explicitly with --config ${file}`,
    );
}

/** Why an implicitly found config may not set notify.target, or null when it may. */
export function implicitConfigProblem(file: string): string | null {
  const st = statSync(file);
  const uid = currentUid();
  if (uid !== null && st.uid !== uid) return `is owned by uid ${st.uid}, not by the user running optiflow (uid ${uid})`;
  if (st.mode & 0o022) return `is writable by ${st.mode & 0o002 ? 'everyone' : 'its group'} (mode ${(st.mode & 0o777).toString(8)})`;
  return null;
}

function currentUid(): number | null {
  return typeof process.getuid === 'function' ? process.getuid() : null;
}

/** Parses an octal umask or mode from the config ("077", "0644"). */
export function parseOctal(key: string, v: string): number {
  if (!/^0?[0-7]{3}$/.test(v)) throw new UsageError(`config ${key}: "${v}" is not an octal mode such as 077 or 0644`);
  return parseInt(v, 8);
}

/** Files and folders created from here on are private to the user by default (config files.umask). */
export function applyUmask(umask: string): void {
  process.umask(parseOctal('files.umask', umask));
}
