/**
 * The checkpoint: the serialisable record of a batch run (run id, run date,
 * each step's status, attempts, times, error, output summary), written
 * atomically at every change: temp file, fsync, rename, fsync of the folder.
 * It is validated against a schema when read: a file that is not a valid
 * checkpoint (truncated, empty, garbage, a step without a known status, a
 * non-numeric attempt count...) is never half-trusted; the batch archives it
 * with a warning and starts a fresh run.
 */
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import { isIsoDate } from '../dates.js';
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

const StepSchema = z
  .object({
    name: z.string().min(1),
    status: z.enum(['pending', 'running', 'success', 'failed', 'skipped', 'interrupted']),
    attempts: z.number().int().min(0),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
    error: z.string().nullable(),
    output: z.record(z.string(), z.unknown()).nullable(),
    backoffMs: z.array(z.number().min(0)),
  })
  .refine((s) => s.status !== 'success' || (s.output !== null && s.finishedAt !== null), { message: 'a succeeded step without its output or end time' });

const CheckpointSchema = z
  .object({
    version: z.literal(1),
    runId: z.string().min(1),
    kind: z.string().min(1),
    runDate: z.string().refine(isIsoDate, { message: 'not a YYYY-MM-DD date' }),
    status: z.enum(['running', 'success', 'failed', 'interrupted']),
    startedAt: z.string(),
    updatedAt: z.string(),
    pid: z.number().int(),
    steps: z.record(z.string(), StepSchema),
  })
  .refine((cp) => Object.entries(cp.steps).every(([k, s]) => k === s.name), { message: 'a step is filed under another name', path: ['steps'] });

/** A checkpoint file that is not a valid checkpoint. */
export class CorruptCheckpointError extends UsageError {
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`checkpoint ${file} is invalid (${problem})`);
  }
}

export function writeCheckpoint(file: string, cp: Checkpoint): void {
  writeFileAtomic(file, [JSON.stringify(cp, null, 2) + '\n']);
}

/** The checkpoint in `file`, null when there is none; throws CorruptCheckpointError when it is not a valid one. */
export function readCheckpoint(file: string): Checkpoint | null {
  if (!existsSync(file)) return null;
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CorruptCheckpointError(file, `not JSON: ${(e as Error).message}`);
  }
  const r = CheckpointSchema.safeParse(data);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new CorruptCheckpointError(file, `${i.path.length ? i.path.join('.') + ': ' : ''}${i.message}`);
  }
  return r.data as Checkpoint;
}

/**
 * The checkpoint to continue from: an invalid file is moved aside (kept for
 * inspection, named in the warning) and treated as no checkpoint, so the run
 * starts fresh; `--fresh` therefore always works.
 */
export function loadCheckpoint(file: string, kind: string, warn: (m: string) => void): Checkpoint | null {
  let problem: string;
  try {
    const cp = readCheckpoint(file);
    if (!cp || cp.kind === kind) return cp;
    problem = `it records a ${cp.kind} run, not a ${kind} one`;
  } catch (e) {
    if (!(e instanceof CorruptCheckpointError)) throw e;
    problem = e.problem;
  }
  const archived = join(dirname(file), `${basename(file, '.json')}.invalid-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  renameSync(file, archived);
  warn(`checkpoint ${file} is invalid (${problem}); moved to ${archived}; starting a new run`);
  return null;
}

export function isUnfinished(cp: Checkpoint): boolean {
  return cp.status !== 'success';
}
