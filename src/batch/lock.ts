/**
 * The batch lock: a file holding pid, host, start time and run id, created
 * exclusively. A lock left by a process that no longer exists (same host) is
 * taken over with a warning; a live holder stops the second batch.
 */
import { existsSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync, closeSync } from 'node:fs';
import { writeFileAtomic } from '../atomic-file.js';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { JobError } from '../errors.js';

export interface LockInfo {
  pid: number;
  host: string;
  startedAt: string;
  runId: string;
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function readLock(file: string): LockInfo | null {
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LockInfo;
  } catch {
    return { pid: -1, host: 'unknown', startedAt: 'unknown', runId: 'unknown' };
  }
}

/** Is the lock held by a live process? (`health` reports a stale lock.) */
export function lockState(file: string): 'free' | 'held' | 'stale' {
  const l = readLock(file);
  if (!l) return 'free';
  return l.host === hostname() && !processAlive(l.pid) ? 'stale' : 'held';
}

export interface HeldLock {
  release(): void;
  /** Rewrites the lock with the run id once it is known (the lock stays held). */
  setRunId(runId: string): void;
}

export function acquireLock(file: string, runId: string, warn: (m: string) => void): HeldLock {
  mkdirSync(dirname(file), { recursive: true });
  const info: LockInfo = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), runId };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, JSON.stringify(info) + '\n');
      closeSync(fd);
      return {
        release: () => {
          const cur = readLock(file);
          if (cur && cur.pid === process.pid) unlinkSync(file);
        },
        setRunId: (id: string) => {
          info.runId = id;
          writeFileAtomic(file, [JSON.stringify(info) + '\n']);
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = readLock(file);
      if (holder && holder.host === hostname() && !processAlive(holder.pid)) {
        warn(`taking over a stale batch lock left by pid ${holder.pid} (started ${holder.startedAt}, run ${holder.runId}), which is no longer running`);
        unlinkSync(file);
        continue;
      }
      throw new JobError(`another batch is running: pid ${holder?.pid} on ${holder?.host} since ${holder?.startedAt} (run ${holder?.runId}); lock file ${file}`);
    }
  }
  throw new JobError(`could not acquire the batch lock ${file}`);
}
