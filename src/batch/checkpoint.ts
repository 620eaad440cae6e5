/**
 * The checkpoint: the serialisable record of a batch run (run id, run date,
 * each step's status, attempts, times, error, output summary), written
 * atomically at every change: temp file, fsync, rename, fsync of the folder.
 * A corrupt file is reported, never silently ignored.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { UsageError } from '../errors.js';
import type { StepState } from './runner.js';

export interface Checkpoint {
  version: 1;
  runId: string;
  kind: string;
  runDate: string;
  status: 'running' | 'success' | 'failed' | 'interrupted';
  startedAt: string;
  updatedAt: string;
  pid: number;
  steps: Record<string, StepState>;
}

export function writeCheckpoint(file: string, cp: Checkpoint): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, JSON.stringify(cp, null, 2) + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  try {
    const dfd = openSync(dirname(file), 'r');
    fsyncSync(dfd);
    closeSync(dfd);
  } catch {
    // Some file systems refuse to fsync a directory; the rename is still atomic.
  }
}

export function readCheckpoint(file: string): Checkpoint | null {
  if (!existsSync(file)) return null;
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`checkpoint ${file} is corrupt (${(e as Error).message}); inspect it, then start over with \`optiflow batch --fresh\``);
  }
  const cp = data as Checkpoint;
  if (!cp || cp.version !== 1 || typeof cp.runId !== 'string' || typeof cp.runDate !== 'string' || typeof cp.steps !== 'object' || cp.steps === null)
    throw new UsageError(`checkpoint ${file} is corrupt (missing run id, run date or steps); inspect it, then start over with \`optiflow batch --fresh\``);
  return cp;
}

export function isUnfinished(cp: Checkpoint): boolean {
  return cp.status !== 'success';
}
