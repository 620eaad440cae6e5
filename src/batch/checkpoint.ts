/**
 * The checkpoint: the serialisable record of a batch run (run id, run date,
 * each step's status, attempts, times, error, output summary), written
 * atomically at every change: temp file, fsync, rename, fsync of the folder.
 * A corrupt file is reported, never silently ignored.
 */
import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../atomic-file.js';
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
  writeFileAtomic(file, [JSON.stringify(cp, null, 2) + '\n']);
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
