/**
 * The runner: an explicit state machine per step
 * (pending -> running -> success | failed, pending -> skipped; a step killed
 * mid-run is found as `running` in the checkpoint and becomes `interrupted`).
 * Each step starts as soon as all its dependencies succeeded, at most
 * `concurrency` at once (p-limit); a failing step is retried with exponential
 * backoff (p-retry: delay before retry k = minDelayMs x factor^(k-1)); the
 * dependents of a failed step are skipped while independent steps finish.
 * Returns a result set; never throws for a failing step.
 */
import pLimit from 'p-limit';
import pRetry from 'p-retry';
import { buildGraph, downstream, type Graph } from './graph.js';
import { OptiflowError, MissingInputError, errorMessage } from '../errors.js';

export type StepStatus = 'pending' | 'running' | 'success' | 'failed' | 'skipped' | 'interrupted';

export interface StepState {
  name: string;
  status: StepStatus;
  attempts: number;
  startedAt: string | null;
  finishedAt: string | null;
  error: string | null;
  output: Record<string, unknown> | null;
  /** Backoff delays waited before each retry (ms). */
  backoffMs: number[];
}

export interface RunnableStep {
  name: string;
  dependsOn: string[];
  run: (attempt: number) => Promise<Record<string, unknown>>;
}

export interface RunnerOptions {
  concurrency: number;
  retries: number;
  minDelayMs: number;
  factor: number;
  /** Steps already done (resume): success steps are kept, others re-run. */
  initial?: Record<string, StepState>;
  onChange?: (steps: Record<string, StepState>) => void;
  now?: () => string;
}

export interface RunResult {
  status: 'success' | 'failed';
  steps: Record<string, StepState>;
  graph: Graph;
}

export function freshStep(name: string): StepState {
  return { name, status: 'pending', attempts: 0, startedAt: null, finishedAt: null, error: null, output: null, backoffMs: [] };
}

/** Errors that the same input would raise again: no retry. */
function permanent(e: unknown): boolean {
  return e instanceof MissingInputError || (e instanceof OptiflowError && e.exitCode === 2);
}

export async function runSteps(steps: RunnableStep[], o: RunnerOptions): Promise<RunResult> {
  const graph = buildGraph(steps);
  const now = o.now ?? (() => new Date().toISOString());
  const state: Record<string, StepState> = {};
  for (const s of steps) {
    const prev = o.initial?.[s.name];
    state[s.name] = prev && prev.status === 'success' ? { ...prev } : { ...freshStep(s.name), attempts: prev?.attempts ?? 0 };
  }
  const changed = () => o.onChange?.(state);
  const limit = pLimit(Math.max(1, o.concurrency));
  const byName = new Map(steps.map((s) => [s.name, s]));
  const started = new Set<string>();
  const inFlight = new Set<Promise<void>>();

  const ready = () =>
    graph.order.filter((n) => state[n].status === 'pending' && !started.has(n) && graph.deps.get(n)!.every((d) => state[d].status === 'success'));

  const launch = (name: string) => {
    started.add(name);
    const p = limit(async () => {
      const st = state[name];
      st.status = 'running';
      st.startedAt = now();
      st.error = null;
      changed();
      try {
        const out = await pRetry(
          async () => {
            st.attempts++;
            changed();
            return byName.get(name)!.run(st.attempts);
          },
          {
            retries: Math.max(0, o.retries - 1),
            minTimeout: o.minDelayMs,
            factor: o.factor,
            randomize: false,
            shouldRetry: (e) => !permanent(e),
            onFailedAttempt: (e) => {
              st.error = errorMessage(e);
              if (e.retriesLeft > 0 && !permanent(e)) st.backoffMs.push(Math.round(o.minDelayMs * Math.pow(o.factor, e.attemptNumber - 1)));
              changed();
            },
          },
        );
        st.status = 'success';
        st.output = out;
        st.error = null;
      } catch (e) {
        st.status = 'failed';
        st.error = errorMessage(e);
        for (const d of downstream(graph, name)) if (state[d].status === 'pending') {
          state[d].status = 'skipped';
          state[d].error = `skipped: ${name} failed`;
        }
      }
      st.finishedAt = now();
      changed();
    });
    const tracked = p.then(() => {
      inFlight.delete(tracked);
    });
    inFlight.add(tracked);
  };

  for (;;) {
    for (const n of ready()) launch(n);
    if (!inFlight.size) break;
    await Promise.race(inFlight);
  }
  for (const st of Object.values(state)) if (st.status === 'pending') {
    st.status = 'skipped';
    st.error = 'skipped: a dependency did not succeed';
  }
  const failed = Object.values(state).some((s) => s.status === 'failed' || s.status === 'skipped');
  return { status: failed ? 'failed' : 'success', steps: state, graph };
}
