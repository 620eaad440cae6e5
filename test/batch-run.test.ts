import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runBatch } from '../src/batch/batch.js';
import type { Job } from '../src/jobs/types.js';
import { UsageError } from '../src/errors.js';
import { jobCtx, newDb, tempDir } from './helpers.js';

function jobs(fail: Set<string>): Job[] {
  const mk = (name: string, dependsOn: string[]): Job => ({
    name, description: name, dependsOn,
    run: async () => {
      if (fail.has(name)) throw new Error(`${name} failed on purpose`);
      return { summary: { ok: 1 } };
    },
  });
  return [mk('a', []), mk('b', ['a']), mk('c', ['a']), mk('d', ['b', 'c'])];
}

test('records runs and steps, refuses an unfinished run of the same date, lets a new date start', async () => {
  const db = await newDb(join(tempDir(), 'b.db'));
  const fail = new Set(['c']);
  const ctx = jobCtx(db, '2026-05-01', { batch: { concurrency: 4, retries: 2, retryMinDelayMs: 0, retryFactor: 2, stateDir: join(tempDir(), 'state') } });
  const r1 = await runBatch(ctx, { kind: 'nightly', jobs: jobs(fail) });
  expect(r1.status).toBe('failed');
  expect(Object.fromEntries(r1.steps.map((s) => [s.name, s.status]))).toEqual({ a: 'success', b: 'success', c: 'failed', d: 'skipped' });
  expect(r1.metrics).toMatchObject({ jobs_failed: 1, jobs_skipped: 1 });
  const steps = await db.kysely.selectFrom('batch_steps').select(['step', 'status', 'attempts']).orderBy('step').execute();
  expect(steps).toEqual([
    { step: 'a', status: 'success', attempts: 1 }, { step: 'b', status: 'success', attempts: 1 },
    { step: 'c', status: 'failed', attempts: 2 }, { step: 'd', status: 'skipped', attempts: 0 },
  ]);
  expect(await db.kysely.selectFrom('batch_runs').select('status').execute()).toEqual([{ status: 'failed' }]);

  await expect(runBatch(ctx, { kind: 'nightly', jobs: jobs(fail) })).rejects.toThrow(new RegExp(`an unfinished nightly run ${r1.runId} for 2026-05-01 exists \\(c failed, d skipped\\); continue it with --resume or start over with --fresh`));
  await expect(runBatch(ctx, { kind: 'nightly', jobs: jobs(fail) })).rejects.toBeInstanceOf(UsageError);

  fail.clear();
  const r2 = await runBatch(ctx, { kind: 'nightly', jobs: jobs(fail), resume: true });
  expect(r2.runId).toBe(r1.runId);
  expect(r2.status).toBe('success');
  expect(r2.metrics).toMatchObject({ jobs_kept_from_checkpoint: 2, jobs_executed: 2 });

  // An unfinished run of an earlier date does not block the next night.
  fail.add('d');
  await runBatch(ctx, { kind: 'nightly', jobs: jobs(fail) }).catch(() => undefined);
  const r3 = await runBatch(ctx, { kind: 'nightly', fresh: true, jobs: jobs(fail) });
  expect(r3.status).toBe('failed');
  const next = { ...ctx, asOf: '2026-05-02' };
  fail.clear();
  const r4 = await runBatch(next, { kind: 'nightly', jobs: jobs(fail) });
  expect(r4.status).toBe('success');
  expect(readdirSync(ctx.config.batch.stateDir).some((f) => /^checkpoint-nightly\.2026-05-01\./.test(f))).toBe(true);
  await db.close();
});

test('dry run, --only, --skip', async () => {
  const db = await newDb(join(tempDir(), 'b.db'));
  const ctx = jobCtx(db, '2026-05-01');
  const dry = await runBatch(ctx, { kind: 'nightly', dryRun: true, jobs: jobs(new Set()) });
  expect(dry.levels).toEqual([['a'], ['b', 'c'], ['d']]);
  expect(existsSync(join(ctx.config.batch.stateDir, 'checkpoint-nightly.json'))).toBe(false);
  const only = await runBatch(ctx, { kind: 'nightly', only: ['b', 'd'], jobs: jobs(new Set()) });
  expect(only.steps.map((s) => s.name).sort()).toEqual(['b', 'd']);
  const skip = await runBatch(ctx, { kind: 'nightly', skip: ['a'], fresh: true, jobs: jobs(new Set()) });
  expect(skip.steps.map((s) => s.name).sort()).toEqual(['b', 'c', 'd']);
  await expect(runBatch(ctx, { kind: 'nightly', only: ['zz'], jobs: jobs(new Set()) })).rejects.toThrow('unknown job "zz"; jobs are a, b, c, d');
  await db.close();
});
