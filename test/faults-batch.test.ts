/**
 * The batch under corrupt state: invalid checkpoints (archived, fresh run),
 * a checkpoint the database contradicts (writes lost with the WAL file), a
 * signal after the run finished, and random corruption of the checkpoint.
 */
import { copyFileSync, cpSync, existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { checkpointFile, runBatch, type BatchHandle } from '../src/batch/batch.js';
import { openDb, type Db } from '../src/db/connection.js';
import { DEFAULTS } from '../src/config.js';
import { generateSample } from '../src/io/sample.js';
import { predictJob } from '../src/jobs/forecasting.js';
import type { Job, JobContext } from '../src/jobs/types.js';
import { jobCtx, newDb, tempDir } from './helpers.js';

const DAY = '2026-05-01';

/**
 * Jobs whose outputs depend on their order, like predict -> events-impact:
 * `base` writes rows, `scale` doubles them in place, `total` sums them;
 * `side` depends on base only and fails while `fail` holds.
 */
function orderedJobs(fail: { side: boolean }): Job[] {
  const mk = (name: string, dependsOn: string[], run: (ctx: JobContext) => void): Job => ({
    name, description: name, dependsOn,
    run: async (ctx) => {
      run(ctx);
      return { summary: { ok: 1 } };
    },
  });
  return [
    mk('base', [], (c) => c.db.sqlite!.exec('delete from t; insert into t (k, v) values (1, 1), (2, 5), (3, 7)')),
    mk('scale', ['base'], (c) => c.db.sqlite!.exec('update t set v = v * 2')),
    mk('total', ['scale'], (c) => c.db.sqlite!.exec('delete from u; insert into u select sum(v) from t')),
    mk('side', ['base'], (c) => {
      if (fail.side) throw new Error('side failed on purpose');
      c.db.sqlite!.exec('delete from w; insert into w values (1)');
    }),
  ];
}

async function orderedDb(): Promise<{ db: Db; ctx: JobContext }> {
  const db = await newDb(join(tempDir(), 'o.db'));
  db.sqlite!.exec('create table t (k integer primary key, v real); create table u (s real); create table w (x integer)');
  return { db, ctx: jobCtx(db, DAY, { batch: { ...DEFAULTS.batch, concurrency: 2, retries: 1, retryMinDelayMs: 0, retryFactor: 2, stateDir: join(tempDir(), 'state'), threads: false, threadsMinSeries: 1 } }) };
}
const outputs = (db: Db) => JSON.stringify(['t', 'u', 'w'].map((x) => db.sqlite!.prepare(`select * from ${x} order by 1`).all()));

/** A failed night: base, scale and total succeeded, side failed. Returns the checkpoint file. */
async function failedNight(ctx: JobContext): Promise<string> {
  const r = await runBatch(ctx, { kind: 'nightly', jobs: orderedJobs({ side: true }) });
  expect(r.status).toBe('failed');
  return checkpointFile(ctx, 'nightly');
}

describe('an invalid checkpoint is archived with a warning and the run starts fresh', () => {
  const bad: [string, (text: string) => string][] = [
    ['truncated', (t) => t.slice(0, Math.floor(t.length / 2))],
    ['empty', () => ''],
    ['garbage', () => '\x00\x17 not json at all'],
    ['a null step', (t) => JSON.stringify({ ...JSON.parse(t), steps: { ...JSON.parse(t).steps, base: null } })],
    ['attempts "x"', (t) => {
      const cp = JSON.parse(t);
      cp.steps.scale.attempts = 'x';
      return JSON.stringify(cp);
    }],
    ["base's status garbled", (t) => {
      const cp = JSON.parse(t);
      cp.steps.base.status = 'sucess';
      return JSON.stringify(cp);
    }],
  ];
  test.each(bad)('%s: --fresh, --resume and a plain run all work', async (_name, damage) => {
    for (const mode of [{ fresh: true }, { resume: true }, {}]) {
      const { db, ctx } = await orderedDb();
      const file = await failedNight(ctx);
      writeFileSync(file, damage(readFileSync(file, 'utf8')));
      const warned: string[] = [];
      const log = { ...ctx.log, warn: (m: string) => warned.push(m), info: () => undefined, error: () => undefined, child: () => ctx.log } as unknown as JobContext['log'];
      const r = await runBatch({ ...ctx, log }, { kind: 'nightly', jobs: orderedJobs({ side: false }), ...mode });
      expect(r.status).toBe('success');
      expect(r.resumed).toBe(false);
      expect(warned.find((m) => m.includes(file))).toMatch(/is invalid .*moved to .*starting a new run/);
      expect(readdirSync(ctx.config.batch.stateDir).some((f) => /^checkpoint-nightly\.invalid-.*\.json$/.test(f))).toBe(true);
      expect(outputs(db)).toBe(JSON.stringify([[{ k: 1, v: 2 }, { k: 2, v: 10 }, { k: 3, v: 14 }], [{ s: 26 }], [{ x: 1 }]]));
      await db.close();
    }
  });
});

test("a step missing from the checkpoint: what depends on it runs again too (no output kept from before it)", async () => {
  const { db, ctx } = await orderedDb();
  const file = await failedNight(ctx);
  const cp = JSON.parse(readFileSync(file, 'utf8'));
  delete cp.steps.base;
  writeFileSync(file, JSON.stringify(cp));
  const r = await runBatch(ctx, { kind: 'nightly', jobs: orderedJobs({ side: false }), resume: true });
  expect(r.status).toBe('success');
  expect(r.resumed).toBe(true);
  // scale ran after base again: values doubled once, not lost.
  expect(db.sqlite!.prepare('select v from t order by k').all()).toEqual([{ v: 2 }, { v: 10 }, { v: 14 }]);
  expect(db.sqlite!.prepare('select s from u').all()).toEqual([{ s: 26 }]);
  await db.close();
});

test('a signal after the run finished leaves it finished: the next batch is not refused', async () => {
  const { db, ctx } = await orderedDb();
  let handle: BatchHandle | null = null;
  const r = await runBatch(ctx, { kind: 'nightly', jobs: orderedJobs({ side: false }) }, (h) => (handle = h));
  expect(r.status).toBe('success');
  handle!.interrupt(); // e.g. SIGTERM while the process is still exiting
  expect(JSON.parse(readFileSync(checkpointFile(ctx, 'nightly'), 'utf8')).status).toBe('success');
  const again = await runBatch(ctx, { kind: 'nightly', jobs: orderedJobs({ side: false }) });
  expect(again.status).toBe('success');
  await db.close();
});

test('writes lost with the WAL file after a kill: resume re-runs the step whose rows are missing', async () => {
  const dir = tempDir();
  const path = join(dir, 'w.db');
  const init = await newDb(path);
  generateSample(init.sqlite!, { products: 6, locations: 1, days: 420, seed: 9, today: DAY });
  await init.close();
  const db = openDb(path);
  db.sqlite!.pragma('wal_autocheckpoint = 0'); // everything this run writes stays in the WAL file
  const ctx = jobCtx(db, DAY);
  const boom: Job = { name: 'boom', description: 'fails', dependsOn: ['predict'], run: async () => { throw new Error('boom'); } };
  const first = await runBatch(ctx, { kind: 'nightly', jobs: [predictJob, boom] });
  expect(first.steps.find((s) => s.name === 'predict')!.status).toBe('success');
  // The state after a kill with the WAL and SHM files deleted: the main file alone, and the checkpoint.
  const lostPath = join(dir, 'lost.db');
  copyFileSync(path, lostPath);
  const lost = openDb(lostPath);
  const lctx = jobCtx(lost, DAY);
  cpSync(ctx.config.batch.stateDir, lctx.config.batch.stateDir, { recursive: true });
  expect(lost.sqlite!.prepare('select count(*) as n from forecasts').get()).toEqual({ n: 0 });
  const ok: Job = { ...boom, run: async () => ({ summary: { ok: 1 } }) };
  const r = await runBatch(lctx, { kind: 'nightly', jobs: [predictJob, ok], resume: true });
  expect(r.status).toBe('success');
  const n = (lost.sqlite!.prepare('select count(*) as n from forecasts where run_date = ?').get(DAY) as { n: number }).n;
  expect(n).toBe(6 * 30);
  expect(r.metrics!.predictions_generated).toBe(n);
  expect(r.metrics!.jobs_kept_from_checkpoint).toBe(0);
  await lost.close();
  await db.close();
});

test('property: random corruption of the checkpoint (100 seeds) never changes the result silently', async () => {
  const { db, ctx } = await orderedDb();
  const clean = JSON.stringify([[{ k: 1, v: 2 }, { k: 2, v: 10 }, { k: 3, v: 14 }], [{ s: 26 }], [{ x: 1 }]]);
  const pool = [null, 'x', 7, -1, 'success', 'failed', 'running', 'pending', {}, [], '2026-05-02', ''];
  // One failed night, snapshotted: each seed starts from it (database rows and checkpoint text).
  const file = await failedNight(ctx);
  const text = readFileSync(file, 'utf8');
  const TABLES = ['t', 'u', 'w', 'batch_runs', 'batch_steps'];
  const saved = TABLES.map((x) => db.sqlite!.prepare(`select * from ${x}`).all() as Record<string, unknown>[]);
  const restore = () => {
    for (const f of readdirSync(ctx.config.batch.stateDir)) if (f.startsWith('checkpoint')) rmSync(join(ctx.config.batch.stateDir, f));
    db.sqlite!.transaction(() => {
      for (const x of ['batch_steps', 'batch_runs', 't', 'u', 'w']) db.sqlite!.exec(`delete from ${x}`);
      TABLES.forEach((x, i) => {
        for (const row of saved[i]) db.sqlite!.prepare(`insert into ${x} (${Object.keys(row).join(', ')}) values (${Object.keys(row).map(() => '?').join(', ')})`).run(...Object.values(row));
      });
    })();
  };
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      fc.constantFrom('bits', 'bytes', 'truncate', 'json'),
      fc.integer({ min: 1, max: 6 }),
      async (pos, kind, n) => {
        restore();
        let b = Buffer.from(text);
        if (kind === 'bits') for (let k = 0; k < n; k++) b[(pos * (k + 3)) % b.length] ^= 1 << ((pos >> k) % 8);
        else if (kind === 'bytes') for (let k = 0; k < n; k++) b[(pos + k * 131) % b.length] = (pos >> (k % 8)) & 0xff;
        else if (kind === 'truncate') b = b.subarray(0, pos % b.length);
        else {
          // A valid JSON document with one value replaced anywhere in it.
          const cp = JSON.parse(text);
          const paths: (string | number)[][] = [];
          const walk = (o: unknown, p: (string | number)[]) => {
            paths.push(p);
            if (o && typeof o === 'object') for (const [k, v] of Object.entries(o)) walk(v, [...p, k]);
          };
          walk(cp, []);
          const p = paths[1 + (pos % (paths.length - 1))];
          let o = cp;
          for (const k of p.slice(0, -1)) o = o[k];
          o[p[p.length - 1]] = pool[(pos >> 3) % pool.length];
          b = Buffer.from(JSON.stringify(cp));
        }
        writeFileSync(file, b);
        try {
          const r = await runBatch(ctx, { kind: 'nightly', jobs: orderedJobs({ side: false }), resume: true });
          expect(r.status).toBe('success');
          expect(outputs(db)).toBe(clean);
        } catch (e) {
          // A refusal is allowed only when it names the file.
          expect(String((e as Error).message)).toContain(file);
        }
        expect(existsSync(join(ctx.config.batch.stateDir, 'batch.lock'))).toBe(false);
      },
    ),
    { numRuns: 100, seed: 23 },
  );
  await db.close();
});
