/**
 * `optiflow batch`: the nightly (or weekly) jobs as a graph, run under a lock
 * with a checkpoint, recorded in batch_runs / batch_steps.
 *
 * Resume rules: `--resume` continues the last unfinished run of the same kind
 * for the same run date; steps that succeeded are kept, steps that failed,
 * were interrupted (found `running`), were skipped or never started run again.
 * Without `--resume` or `--fresh`, an unfinished run of the same run date stops
 * the batch with a message naming it. An unfinished run of an earlier date does
 * not block tonight's: its checkpoint is kept under another name and reported. Every job's writes are one transaction and idempotent
 * for a run date, so a resumed run ends with the database an uninterrupted
 * run leaves.
 *
 * The checkpoint is not trusted alone: an invalid one is archived and the run
 * starts fresh; on resume a step is kept only when the database agrees (its
 * `batch_steps` row for the run says it succeeded and its output rows for the
 * run date are there) and every step it depends on is kept too; otherwise it
 * runs again (e.g. the database lost its last writes with its WAL file).
 */
import { randomUUID } from 'node:crypto';
import pLimit from 'p-limit';
import { join } from 'node:path';
import { renameSync } from 'node:fs';
import { stateDir } from '../config.js';
import { UsageError } from '../errors.js';
import { NIGHTLY, WEEKLY } from '../jobs/index.js';
import { kpisJob, topUrgentJob } from '../jobs/dashboard.js';
import type { Job, JobContext } from '../jobs/types.js';
import { buildGraph, type Graph } from './graph.js';
import type { Q } from '../db/query.js';
import { activeSeriesCount, finishRun, hasOutputRows, openRun, saveStepsNow, succeededSteps } from '../db/batch-records.js';
import { isUnfinished, loadCheckpoint, writeCheckpoint, type Checkpoint } from './checkpoint.js';
import { acquireLock } from './lock.js';
import { dropHistory } from '../db/history.js';
import { runSteps, type StepState } from './runner.js';
import { runInThread, threadsAvailable } from './threads.js';
import { collectGarbage } from '../gc.js';
import { refuseOnBlockingFaults, reportAfterBatch } from './quality-gate.js';

export interface BatchOptions {
  kind: 'nightly' | 'weekly';
  resume?: boolean;
  fresh?: boolean;
  only?: string[];
  skip?: string[];
  dryRun?: boolean;
  concurrency?: number;
  /** Overrides for tests: job set and retry delays. */
  jobs?: Job[];
  /** Called at every step state change (spinners). */
  onProgress?: (steps: StepState[]) => void;
}

export interface BatchResult {
  runId: string;
  kind: string;
  runDate: string;
  status: 'success' | 'failed' | 'dry-run';
  resumed: boolean;
  order: string[];
  levels: string[][];
  steps: StepState[];
  metrics: BatchMetrics | null;
}

export interface BatchMetrics {
  duration_seconds: number;
  jobs_executed: number;
  jobs_failed: number;
  jobs_skipped: number;
  jobs_kept_from_checkpoint: number;
  predictions_generated: number;
  alerts_created: number;
  memory_peak_mb: number;
}

export function selectJobs(all: Job[], only?: string[], skip?: string[]): Job[] {
  const names = new Set(all.map((j) => j.name));
  for (const n of [...(only ?? []), ...(skip ?? [])]) if (!names.has(n)) throw new UsageError(`unknown job "${n}"; jobs are ${[...names].join(', ')}`);
  const keep = all.filter((j) => (!only?.length || only.includes(j.name)) && !skip?.includes(j.name));
  const kept = new Set(keep.map((j) => j.name));
  // Dependencies outside the selection are assumed done (their outputs are in the database).
  return keep.map((j) => ({ ...j, dependsOn: j.dependsOn.filter((d) => kept.has(d)) }));
}

export function checkpointFile(ctx: JobContext, kind: string): string {
  return join(stateDir(ctx.config), `checkpoint-${kind}.json`);
}

/**
 * The steps of a checkpoint that resume may keep: succeeded in the checkpoint
 * and in the database, with their output rows present, and with every
 * dependency kept. Returns the kept names and, for the others that the
 * checkpoint called succeeded, why they run again.
 */
export async function stepsToKeep(q: Q, graph: Graph, cp: Checkpoint, runDate: string): Promise<{ keep: Set<string>; rerun: Map<string, string> }> {
  const recorded = await succeededSteps(q, cp.runId);
  const keep = new Set<string>();
  const rerun = new Map<string, string>();
  for (const name of graph.order) {
    if (cp.steps[name]?.status !== 'success') continue;
    const lostDep = graph.deps.get(name)!.find((d) => !keep.has(d));
    if (!recorded.has(name)) rerun.set(name, 'the database holds no record of its success (its last writes were lost)');
    else if ((await hasOutputRows(q, name, runDate)) === false) rerun.set(name, `its output rows for ${runDate} are not in the database`);
    else if (lostDep) rerun.set(name, `it depends on ${lostDep}, which runs again`);
    else keep.add(name);
  }
  return { keep, rerun };
}

export interface BatchHandle {
  /** Marks running steps interrupted and releases the lock (signal handlers). */
  interrupt(): void;
}

export async function runBatch(ctx: JobContext, o: BatchOptions, onStart?: (h: BatchHandle) => void): Promise<BatchResult> {
  const all = o.jobs ?? (o.kind === 'weekly' ? WEEKLY : NIGHTLY);
  const jobs = selectJobs(all, o.only, o.skip);
  const graph = buildGraph(jobs);
  if (o.dryRun) return { runId: '-', kind: o.kind, runDate: ctx.asOf, status: 'dry-run', resumed: false, order: graph.order, levels: graph.levels, steps: [], metrics: null };
  if (o.kind === 'nightly' && ctx.config.batch.checkFirst) await refuseOnBlockingFaults(ctx);

  const file = checkpointFile(ctx, o.kind);
  const t0 = Date.now();
  const lock = acquireLock(join(stateDir(ctx.config), 'batch.lock'), 'starting', (m) => ctx.log.warn(m));
  const release = () => lock.release();
  try {
    let prev = loadCheckpoint(file, o.kind, (m) => ctx.log.warn(m));
    if (prev && isUnfinished(prev) && prev.runDate !== ctx.asOf && !o.fresh) {
      // An earlier night left its run unfinished: keep its record, report it, and let tonight's run start.
      const archived = file.replace(/\.json$/, `.${prev.runDate}.${prev.runId.slice(0, 8)}.json`);
      renameSync(file, archived);
      ctx.log.warn(`the ${prev.kind} run ${prev.runId} for ${prev.runDate} was left unfinished (checkpoint kept as ${archived}); resume it with --resume --as-of ${prev.runDate}, or leave it`);
      prev = null;
    }
    let runId: string = randomUUID();
    let initial: Record<string, StepState> | undefined;
    let resumed = false;
    if (prev && isUnfinished(prev) && !o.fresh) {
      if (!o.resume) {
        const bad = Object.values(prev.steps).filter((s) => s.status !== 'success').map((s) => `${s.name} ${s.status}`);
        throw new UsageError(`an unfinished ${prev.kind} run ${prev.runId} for ${prev.runDate} exists (${bad.join(', ')}); continue it with --resume or start over with --fresh`);
      }
      runId = prev.runId;
      initial = {};
      const { rerun } = await stepsToKeep(ctx.db.kysely, graph, prev, ctx.asOf);
      for (const [k, s] of Object.entries(prev.steps)) initial[k] = s.status === 'running' || rerun.has(k) ? { ...s, status: 'interrupted' } : s;
      for (const [k, why] of rerun) ctx.log.warn(`resume: ${k} is recorded as succeeded in ${file} but ${why}; running it again`, { runId });
      resumed = true;
      const kept = Object.values(initial).filter((s) => s.status === 'success').map((s) => s.name);
      ctx.log.info(`resuming run ${runId} for ${prev.runDate}: keeping ${kept.join(', ') || 'nothing'}; re-running the rest`, { runId });
    } else if (o.resume) ctx.log.info('no unfinished run to resume; starting a new one');
    lock.setRunId(runId);

    const k = ctx.db.kysely;
    const startedAt = prev && resumed ? prev.startedAt : new Date().toISOString();
    const runRow = await openRun(k, { runUid: runId, kind: o.kind, runDate: ctx.asOf, startedAt });
    const recorder = stepRecorder({
      initial: initial ?? {},
      sync: !!ctx.db.sqlite,
      toDb: (snapshot) => saveStepsNow(ctx.db, runRow, snapshot),
      toFile: (steps, status) => writeCheckpoint(file, { version: 1, runId, kind: o.kind, runDate: ctx.asOf, status, startedAt, updatedAt: new Date().toISOString(), pid: process.pid, steps }),
    });
    const save = recorder.save;
    const flush = recorder.flush;
    let finished = false;
    onStart?.({
      interrupt: () => {
        // A signal after the run ended (a slow exit, a lingering child) leaves its record as it is.
        if (finished) return release();
        const steps = Object.fromEntries(Object.entries(recorder.recorded()).map(([k, s]) => [k, s.status === 'running' ? { ...s, status: 'interrupted' as const, error: 'interrupted by a signal' } : s]));
        try {
          writeCheckpoint(file, { version: 1, runId, kind: o.kind, runDate: ctx.asOf, status: 'interrupted', startedAt, updatedAt: new Date().toISOString(), pid: process.pid, steps });
        } finally {
          release();
        }
      },
    });

    // One demand history (and other read-only inputs) shared by the jobs of this run.
    const cache = new Map<string, unknown>();
    // Worker threads cost ~0.5 s each to start: worth it only on large databases.
    const useThreads = ctx.config.batch.threads && threadsAvailable() && (await activeSeriesCount(k)) >= ctx.config.batch.threadsMinSeries;
    const threadSlot = pLimit(1);
    // On a large database the jobs of the main thread run one at a time: each holds a working set over
    // every series, and letting their awaits interleave held several at once (peak memory, not speed:
    // they share one core). The isolated jobs keep the other core busy meanwhile.
    const mainSlot = pLimit(useThreads ? 1 : Infinity);
    const toRun = jobs.filter((j) => initial?.[j.name]?.status !== 'success');
    let sharedLeft = toRun.filter((j) => !j.isolated).length;
    // The shared history is the largest thing the cache holds (about 0.4 GB on 30,000 series). It is kept
    // only while a job that reads it runs or waits for the main thread: when the last of those is done, it
    // is dropped, and a later reader (monitor, which waits for alerts and so for the long isolated jobs) loads
    // it again through the history cache file (a few seconds) instead of the night holding it all along.
    let historyWanted = 0;
    const runnable = jobs.map((j) => ({
      name: j.name,
      dependsOn: j.dependsOn,
      run: async (attempt: number) => {
        const log = ctx.log.child({ runId, job: j.name });
        log.info(`start (attempt ${attempt})`);
        log.debug(`memory at start: ${memoryLine()}`);
        const t = Date.now();
        let peakMb = 0;
        const watched = async <T>(f: () => Promise<T>): Promise<T> => {
          const mem = memoryWatch();
          try {
            return await f();
          } finally {
            peakMb = mem.stop();
          }
        };
        // Jobs that read nothing shared run on the other core, one thread at a time (memory stays bounded).
        const readsShared = !!j.readsHistory && !(j.isolated && useThreads);
        if (readsShared) historyWanted++;
        let r: Awaited<ReturnType<Job['run']>>;
        try {
          r = j.isolated && useThreads ? await threadSlot(() => watched(() => runInThread(j.name, { ...ctx, log }))) : await mainSlot(async () => {
            if (useThreads) {
              // On a large database the garbage of the jobs before this one (and the shared history, once dropped:
              // its drop is queued with setImmediate) is collected before this one builds its working set.
              await new Promise((resolve) => setImmediate(resolve));
              collectGarbage();
            }
            return watched(() => j.run({ ...ctx, log, cache }));
          });
        } finally {
          if (readsShared && --historyWanted === 0)
            // After the runner has started the jobs this one's end made ready (they count as wanting it then).
            setImmediate(() => {
              if (historyWanted === 0) dropHistory(cache);
            });
        }
        if (!j.isolated && --sharedLeft === 0) cache.clear(); // the last job that may read the cache is done
        log.info(`done in ${((Date.now() - t) / 1000).toFixed(1)}s ${JSON.stringify(r.summary)}`);
        log.debug(`process RSS while ${j.name} ran (with whatever ran beside it): peak ${peakMb} MB; at its end: ${memoryLine()}`);
        return r.summary as Record<string, unknown>;
      },
    }));
    const result = await runSteps(runnable, {
      concurrency: o.concurrency ?? ctx.config.batch.concurrency,
      retries: ctx.config.batch.retries,
      minDelayMs: ctx.config.batch.retryMinDelayMs,
      factor: ctx.config.batch.retryFactor,
      initial,
      onChange: (steps) => {
        save(steps, 'running');
        o.onProgress?.(Object.values(steps));
      },
    });
    await flush();
    for (const s of Object.values(result.steps)) if (s.status === 'failed') ctx.log.error(`job ${s.name} failed after ${s.attempts} attempt(s): ${s.error}`, { runId, job: s.name });

    // Only a run that succeeded warms the caches: a failed night would cache figures without its alerts.
    if (o.kind === 'nightly' && result.status === 'success') await warmCaches(ctx);
    if (o.kind === 'nightly' && ctx.config.report.afterBatch) await reportAfterBatch(ctx);
    const steps = Object.values(result.steps);
    const kept = initial ? Object.values(initial).filter((s) => s.status === 'success').length : 0;
    const metrics: BatchMetrics = {
      duration_seconds: Math.round((Date.now() - t0) / 100) / 10,
      jobs_executed: steps.filter((s) => s.status === 'success' || s.status === 'failed').length - kept,
      jobs_failed: steps.filter((s) => s.status === 'failed').length,
      jobs_skipped: steps.filter((s) => s.status === 'skipped').length,
      jobs_kept_from_checkpoint: kept,
      predictions_generated: Number(result.steps.predict?.output?.predictions ?? 0),
      alerts_created: Number(result.steps.alerts?.output?.created ?? 0),
      memory_peak_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    };
    await finishRun(k, runRow, result.status, new Date().toISOString(), metrics);
    save(result.steps, result.status);
    await flush();
    finished = true;
    ctx.log.info(`batch ${o.kind} ${result.status} in ${metrics.duration_seconds}s: ${JSON.stringify(metrics)}`, { runId });
    return { runId, kind: o.kind, runDate: ctx.asOf, status: result.status, resumed, order: graph.order, levels: graph.levels, steps, metrics };
  } finally {
    release();
  }
}

/**
 * Records the step states of a run: the database first, then the checkpoint
 * file, and the file holds exactly the states the database has just stored
 * (a snapshot taken at the change, not the live states, which may be ahead:
 * a checkpoint that called a step succeeded before the database recorded it
 * made a resume after a kill run that step again). SQLite stores at once;
 * PostgreSQL's stores are queued in order, each after the previous one, and
 * `flush` waits for the queue and throws the first error it met.
 */
export function stepRecorder(o: {
  initial: Record<string, StepState>;
  sync: boolean;
  toDb: (snapshot: StepState[]) => Promise<void> | void;
  toFile: (steps: Record<string, StepState>, status: Checkpoint['status']) => void;
}): { save: (steps: Record<string, StepState>, status: Checkpoint['status']) => void; flush: () => Promise<void>; recorded: () => Record<string, StepState> } {
  let recorded = o.initial;
  let queue: Promise<void> = Promise.resolve();
  let saveError: unknown = null;
  const written = (snapshot: StepState[], status: Checkpoint['status']) => {
    recorded = Object.fromEntries(snapshot.map((s) => [s.name, s]));
    o.toFile(recorded, status);
  };
  return {
    save(steps, status) {
      const snapshot = Object.values(steps).map((s) => ({ ...s, backoffMs: [...s.backoffMs] }));
      if (o.sync) {
        void o.toDb(snapshot);
        written(snapshot, status);
        return;
      }
      queue = queue.then(async () => {
        if (saveError) return;
        try {
          await o.toDb(snapshot);
          written(snapshot, status);
        } catch (e) {
          saveError = e;
        }
      });
    },
    async flush() {
      await queue;
      if (saveError) throw saveError;
    },
    recorded: () => recorded,
  };
}

/** This thread's heap and the process's resident memory and buffers, in MB, for the debug log. */
function memoryLine(): string {
  const m = process.memoryUsage();
  const mb = (v: number) => Math.round(v / 1048576);
  return `rss ${mb(m.rss)} MB, heap ${mb(m.heapUsed)} of ${mb(m.heapTotal)} MB, external ${mb(m.external)} MB (buffers ${mb(m.arrayBuffers)} MB)`;
}

/** Samples the process's resident memory (all threads) every 200 ms until stopped; returns the peak in MB. */
function memoryWatch(): { stop: () => number } {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 200);
  timer.unref();
  return {
    stop: () => {
      clearInterval(timer);
      return Math.round(Math.max(peak, process.memoryUsage.rss()) / 1048576);
    },
  };
}

/** KPI and top-alert caches for the run date, fresh for the dashboard's first visit (kpis recomputes when its inputs changed). */
async function warmCaches(ctx: JobContext): Promise<void> {
  await kpisJob.run(ctx, {});
  await topUrgentJob.run(ctx, {});
}
