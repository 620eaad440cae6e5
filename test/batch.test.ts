import { hostname } from 'node:os';
import { join } from 'node:path';
import { writeFileSync, readFileSync, existsSync } from 'node:fs';
import { buildGraph, GraphError } from '../src/batch/graph.js';
import { runSteps, type RunnableStep } from '../src/batch/runner.js';
import { readCheckpoint, writeCheckpoint } from '../src/batch/checkpoint.js';
import { acquireLock } from '../src/batch/lock.js';
import { NIGHTLY } from '../src/jobs/index.js';
import { stepRecorder } from '../src/batch/batch.js';
import type { StepState } from '../src/batch/runner.js';
import { tempDir } from './helpers.js';

/** A deterministic fake scheduler: each job waits until the test releases it. */
function fakeJobs(spec: Record<string, string[]>) {
  const gates = new Map<string, () => void>();
  const started: string[] = [];
  let running = 0;
  let peak = 0;
  const steps: RunnableStep[] = Object.entries(spec).map(([name, dependsOn]) => ({
    name,
    dependsOn,
    run: () =>
      new Promise((resolve) => {
        started.push(name);
        running++;
        peak = Math.max(peak, running);
        gates.set(name, () => {
          running--;
          resolve({ ok: name });
        });
      }),
  }));
  const tick = () => new Promise((r) => setImmediate(r));
  return {
    steps,
    started,
    peak: () => peak,
    running: () => running,
    async release(name: string) {
      for (let i = 0; i < 50 && !gates.has(name); i++) await tick();
      const g = gates.get(name);
      if (!g) throw new Error(`${name} never started`);
      gates.delete(name);
      g();
      await tick();
      await tick();
    },
    async waitStarted(n: number) {
      for (let i = 0; i < 50 && started.length < n; i++) await tick();
    },
  };
}

const opts = { concurrency: 4, retries: 3, minDelayMs: 0, factor: 2 };

describe('graph', () => {
  test('the nightly jobs sort topologically with the dependencies of SPEC', () => {
    const g = buildGraph(NIGHTLY);
    const pos = (n: string) => g.order.indexOf(n);
    expect(pos('predict')).toBeLessThan(pos('events-impact'));
    expect(pos('events-impact')).toBeLessThan(pos('alerts'));
    expect(pos('alerts')).toBeLessThan(pos('monitor'));
    expect(pos('alerts')).toBeLessThan(pos('savings'));
    expect(pos('predict')).toBeLessThan(pos('revenue'));
    expect(g.order).toHaveLength(NIGHTLY.length);
  });
  test('unknown name and cycle are errors that name them, with the path', () => {
    expect(() => buildGraph([{ name: 'a', dependsOn: ['ghost'] }])).toThrow(new GraphError('job "a" depends on unknown job "ghost"'));
    expect(() => buildGraph([{ name: 'a', dependsOn: ['c'] }, { name: 'b', dependsOn: ['a'] }, { name: 'c', dependsOn: ['b'] }])).toThrow('dependency cycle: a -> c -> b -> a');
    expect(() => buildGraph([{ name: 'a', dependsOn: ['a'] }])).toThrow('dependency cycle: a -> a');
  });
  test('levels are the parallel groups', () => {
    const g = buildGraph([{ name: 'p', dependsOn: [] }, { name: 'e', dependsOn: ['p'] }, { name: 'r', dependsOn: ['p'] }, { name: 'a', dependsOn: ['e'] }]);
    expect(g.levels).toEqual([['p'], ['e', 'r'], ['a']]);
  });
});

describe('runner', () => {
  test('each job starts as soon as its dependencies succeeded; concurrency never above the limit', async () => {
    const spec: Record<string, string[]> = { root: [] };
    for (let i = 0; i < 8; i++) spec[`t${i}`] = ['root'];
    spec.last = ['t0'];
    const f = fakeJobs(spec);
    const done = runSteps(f.steps, { ...opts, concurrency: 3 });
    await f.waitStarted(1);
    expect(f.started).toEqual(['root']);
    await f.release('root');
    await f.waitStarted(4);
    expect(f.running()).toBe(3);
    expect(f.started.slice(1)).toEqual(['t0', 't1', 't2']);
    await f.release('t0'); // frees a slot: t3 and then `last` become possible
    await f.waitStarted(5);
    expect(f.running()).toBe(3);
    for (const n of ['t1', 't2', 't3', 't4', 't5', 't6', 't7', 'last']) await f.release(n);
    const r = await done;
    expect(r.status).toBe('success');
    expect(f.peak()).toBe(3);
    expect(f.started.indexOf('last')).toBeGreaterThan(f.started.indexOf('t0'));
  });

  test('retries with exponential backoff; 3 attempts; dependents of a failed job skipped, independent jobs finish', async () => {
    const calls: Record<string, number> = {};
    const times: number[] = [];
    const mk = (name: string, dependsOn: string[], failTimes: number): RunnableStep => ({
      name,
      dependsOn,
      run: async () => {
        calls[name] = (calls[name] ?? 0) + 1;
        if (name === 'flaky' || name === 'broken') times.push(Date.now());
        if (calls[name] <= failTimes) throw new Error(`${name} boom ${calls[name]}`);
        return { n: calls[name] };
      },
    });
    const r = await runSteps(
      [mk('flaky', [], 2), mk('after-flaky', ['flaky'], 0), mk('broken', [], 99), mk('child', ['broken'], 0), mk('grandchild', ['child'], 0), mk('independent', [], 0)],
      { ...opts, minDelayMs: 20, factor: 2, concurrency: 1 },
    );
    expect(r.steps.flaky).toMatchObject({ status: 'success', attempts: 3, backoffMs: [20, 40] });
    expect(r.steps['after-flaky'].status).toBe('success');
    expect(r.steps.broken).toMatchObject({ status: 'failed', attempts: 3, error: 'broken boom 3', backoffMs: [20, 40] });
    expect(r.steps.child).toMatchObject({ status: 'skipped', attempts: 0 });
    expect(r.steps.grandchild.status).toBe('skipped');
    expect(r.steps.independent.status).toBe('success');
    expect(r.status).toBe('failed');
    expect(calls.child).toBeUndefined();
    // The waits really happened (lower bounds, never upper: timers only promise "at least").
    expect(times[1] - times[0]).toBeGreaterThanOrEqual(18);
    expect(times[2] - times[1]).toBeGreaterThanOrEqual(38);
  });

  test('resume keeps what succeeded and re-runs the rest', async () => {
    const calls: string[] = [];
    const steps: RunnableStep[] = ['a', 'b', 'c'].map((n, i) => ({ name: n, dependsOn: i ? [['a', 'b', 'c'][i - 1]] : [], run: async () => (calls.push(n), {}) }));
    const initial = {
      a: { name: 'a', status: 'success' as const, attempts: 1, startedAt: 'x', finishedAt: 'y', error: null, output: {}, backoffMs: [] },
      b: { name: 'b', status: 'interrupted' as const, attempts: 1, startedAt: 'x', finishedAt: null, error: null, output: null, backoffMs: [] },
    };
    const r = await runSteps(steps, { ...opts, initial });
    expect(calls).toEqual(['b', 'c']);
    expect(r.steps.a.attempts).toBe(1);
    expect(r.steps.b.attempts).toBe(2);
  });

  test('every state change reaches onChange (the checkpoint writer)', async () => {
    const seen: string[] = [];
    await runSteps([{ name: 'x', dependsOn: [], run: async () => ({}) }], { ...opts, onChange: (s) => seen.push(s.x.status) });
    expect(seen[0]).toBe('running');
    expect(seen[seen.length - 1]).toBe('success');
  });
});

describe('checkpoint and lock', () => {
  test('checkpoint round trip; an invalid file is reported, not half-trusted', () => {
    const dir = tempDir();
    const f = join(dir, 'cp.json');
    const cp = { version: 1 as const, runId: 'r1', kind: 'nightly', runDate: '2026-01-01', status: 'running' as const, startedAt: 's', updatedAt: 'u', pid: 1, steps: {} };
    writeCheckpoint(f, cp);
    expect(readCheckpoint(f)).toEqual(cp);
    expect(existsSync(`${f}.${process.pid}.tmp`)).toBe(false);
    writeFileSync(f, readFileSync(f, 'utf8').slice(0, 20));
    expect(() => readCheckpoint(f)).toThrow(/checkpoint .*cp\.json is invalid \(not JSON/);
    writeFileSync(f, '{"version":1}');
    expect(() => readCheckpoint(f)).toThrow(/checkpoint .*cp\.json is invalid \(runId: /);
  });
  test('a live lock stops a second holder; a stale lock is taken over with a warning', () => {
    const f = join(tempDir(), 'batch.lock');
    const a = acquireLock(f, 'run-a', () => {});
    expect(() => acquireLock(f, 'run-b', () => {})).toThrow(/another batch is running: pid \d+ on .* \(run run-a\)/);
    a.release();
    expect(existsSync(f)).toBe(false);
    writeFileSync(f, JSON.stringify({ pid: 999999, host: hostname(), startedAt: 'then', runId: 'dead' }));
    const warnings: string[] = [];
    const b = acquireLock(f, 'run-c', (m) => warnings.push(m));
    expect(warnings[0]).toMatch(/stale batch lock left by pid 999999/);
    b.release();
  });
});

describe('step records: the database first, then the checkpoint file', () => {
  const step = (name: string, status: StepState['status'], attempts: number): StepState => ({ name, status, attempts, startedAt: null, finishedAt: null, error: null, output: null, backoffMs: [] });

  test('with a slow database store, the file never calls a step succeeded that the database has not stored', async () => {
    // A store that completes only when the test says so, as a busy PostgreSQL server does.
    const db: StepState[][] = [];
    const files: Record<string, StepState>[] = [];
    const pending: (() => void)[] = [];
    const rec = stepRecorder({
      initial: {},
      sync: false,
      toDb: (snapshot) => new Promise<void>((resolve) => pending.push(() => { db.push(snapshot); resolve(); })),
      toFile: (steps) => files.push(JSON.parse(JSON.stringify(steps))),
    });
    // The runner's live state: one object it mutates in place between changes.
    const live: Record<string, StepState> = { predict: step('predict', 'running', 1), shadow: step('shadow', 'running', 1) };
    rec.save(live, 'running');
    // Before the first store completes, shadow finishes in memory and the change is queued.
    live.shadow.status = 'success';
    rec.save(live, 'running');
    await new Promise((r) => setImmediate(r));
    pending.shift()!(); // the first store (shadow running) completes
    await new Promise((r) => setImmediate(r));
    // The file written after the first store shows what that store held: shadow still running.
    expect(files).toHaveLength(1);
    expect(files[0].shadow.status).toBe('running');
    expect(db[0].find((s) => s.name === 'shadow')!.status).toBe('running');
    expect(rec.recorded().shadow.status).toBe('running');
    // A kill now leaves a checkpoint that a resume reads as "shadow interrupted": it runs once more, as the database says.
    pending.shift()!();
    await rec.flush();
    expect(files).toHaveLength(2);
    expect(files[1].shadow.status).toBe('success');
    expect(db[1].find((s) => s.name === 'shadow')!.status).toBe('success');
  });

  test('a failed store stops later file writes and flush reports it', async () => {
    const files: unknown[] = [];
    let calls = 0;
    const rec = stepRecorder({
      initial: {},
      sync: false,
      toDb: async () => {
        if (++calls === 1) throw new Error('connection lost');
      },
      toFile: (steps) => files.push(steps),
    });
    rec.save({ a: step('a', 'running', 1) }, 'running');
    rec.save({ a: step('a', 'success', 1) }, 'running');
    await expect(rec.flush()).rejects.toThrow('connection lost');
    expect(files).toHaveLength(0);
  });
});
