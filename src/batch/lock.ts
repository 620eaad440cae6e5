/**
 * The batch lock: a file holding pid, host, start time, run id and a random
 * token. It is written whole to a temporary file, then hard-linked to the lock
 * name: the link fails when a lock exists, so a lock is never seen half
 * written by its own protocol.
 *
 * Taken over with a warning:
 * - a lock of this host whose pid is gone, or is a process that is not
 *   optiflow (the pid was reused);
 * - an empty or unreadable lock (left by an older version or another writer)
 *   older than UNREADABLE_LOCK_GRACE_MS.
 * A live optiflow holder stops the second batch. Release removes the lock only
 * when it still holds this holder's token.
 */
import { closeSync, existsSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync, fsyncSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { JobError } from '../errors.js';
import { writeFileAtomic } from '../atomic-file.js';

export interface LockInfo {
  pid: number;
  host: string;
  startedAt: string;
  runId: string;
  token: string;
}

/**
 * How long an unreadable lock is left alone: a writer of the old protocol
 * (create, then write) finishes within milliseconds; a minute is far beyond
 * any such gap and far below a night's run.
 */
export const UNREADABLE_LOCK_GRACE_MS = 60_000;

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Start time of a process (ms since the epoch) from /proc on Linux, null elsewhere.
 * /proc/PID/stat field 22 counts clock ticks since boot (USER_HZ, 100 on Linux).
 */
function processStartMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    const btime = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
    return Number.isFinite(ticks) && Number.isFinite(btime) ? btime * 1000 + ticks * 10 : null;
  } catch {
    return null;
  }
}

/**
 * Could `pid` be the optiflow process that wrote a lock at `startedAt`? Not when
 * it is gone, when it started after the lock was written (the pid was reused),
 * or when its command line is neither optiflow nor node. Without /proc a live
 * pid is assumed to be the holder.
 */
export function isOptiflowProcess(pid: number, startedAt?: string): boolean {
  if (!processAlive(pid)) return false;
  if (pid === process.pid) return true;
  const started = processStartMs(pid);
  const written = startedAt ? Date.parse(startedAt) : NaN;
  // 2 s: the clock-tick rounding of the start time and the moment the lock is written after start-up.
  if (started !== null && Number.isFinite(written) && started > written + 2000) return false;
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.some((a) => /optiflow/.test(a)) || /(^|\/)node(js)?$/.test(argv[0]);
  } catch {
    return !existsSync('/proc/self');
  }
}

/** The lock's content, or `unreadable` with the file's age when it is empty or not a lock record. */
export function readLock(file: string): LockInfo | { unreadable: true; ageMs: number } | null {
  let text: string;
  let ageMs: number;
  try {
    ageMs = Date.now() - statSync(file).mtimeMs;
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  try {
    const l = JSON.parse(text) as LockInfo;
    if (Number.isInteger(l.pid) && l.pid > 0 && typeof l.host === 'string' && typeof l.startedAt === 'string') return { ...l, runId: l.runId ?? 'unknown', token: l.token ?? '' };
  } catch {
    // Falls through: unreadable.
  }
  return { unreadable: true, ageMs };
}

export type LockState = 'free' | 'held' | 'stale' | 'unreadable';

/** Why the lock in `file` may be taken over, or null when its holder is alive (or it is too young to judge). */
function staleReason(l: LockInfo | { unreadable: true; ageMs: number }): string | null {
  if ('unreadable' in l) return l.ageMs > UNREADABLE_LOCK_GRACE_MS ? `an empty or unreadable lock ${Math.round(l.ageMs / 1000)}s old` : null;
  if (l.host !== hostname()) return null;
  if (!processAlive(l.pid)) return `a stale batch lock left by pid ${l.pid} (started ${l.startedAt}, run ${l.runId}), which is no longer running`;
  if (!isOptiflowProcess(l.pid, l.startedAt)) return `a stale batch lock left by pid ${l.pid} (started ${l.startedAt}, run ${l.runId}); that pid is now another program`;
  return null;
}

/** The lock as `health` reports it: the same rules the next batch applies. */
export function lockState(file: string): LockState {
  const l = readLock(file);
  if (!l) return 'free';
  if (staleReason(l)) return 'stale';
  return 'unreadable' in l ? 'unreadable' : 'held';
}

export interface HeldLock {
  release(): void;
  /** Rewrites the lock with the run id once it is known (the lock stays held). */
  setRunId(runId: string): void;
}

function writeWhole(path: string, info: LockInfo): void {
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, JSON.stringify(info) + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function acquireLock(file: string, runId: string, warn: (m: string) => void): HeldLock {
  mkdirSync(dirname(file), { recursive: true });
  const info: LockInfo = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), runId, token: randomUUID() };
  const tmp = `${file}.${process.pid}.${info.token.slice(0, 8)}.tmp`;
  writeWhole(tmp, info);
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        linkSync(tmp, file);
        return {
          release: () => {
            const cur = readLock(file);
            if (cur && !('unreadable' in cur) && cur.token === info.token) unlinkSync(file);
          },
          setRunId: (id: string) => {
            info.runId = id;
            writeFileAtomic(file, [JSON.stringify(info) + '\n']);
          },
        };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        const holder = readLock(file);
        if (!holder) continue; // released meanwhile
        const why = staleReason(holder);
        if (why) {
          warn(`taking over ${why}; lock file ${file}`);
          // Move the stale lock aside, then check it is the one judged (another batch may have taken it over first).
          const aside = `${file}.${info.token.slice(0, 8)}.stale`;
          try {
            renameSync(file, aside);
          } catch {
            continue;
          }
          const moved = readLock(aside);
          const same = JSON.stringify(moved && !('unreadable' in moved) ? moved : null) === JSON.stringify('unreadable' in holder ? null : holder);
          if (!same) {
            // Not the stale lock: put it back unless someone holds the name again.
            try {
              linkSync(aside, file);
            } catch {
              // The name is taken: that holder wins.
            }
          }
          unlinkSync(aside);
          continue;
        }
        if ('unreadable' in holder)
          throw new JobError(`the batch lock ${file} is empty or unreadable and only ${Math.round(holder.ageMs / 1000)}s old; if no batch is running, delete it (it is taken over automatically after ${UNREADABLE_LOCK_GRACE_MS / 1000}s)`);
        throw new JobError(`another batch is running: pid ${holder.pid} on ${holder.host} since ${holder.startedAt} (run ${holder.runId}); lock file ${file}`);
      }
    }
    throw new JobError(`could not acquire the batch lock ${file}`);
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // Already gone.
    }
  }
}
