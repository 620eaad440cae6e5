/**
 * Crash and concurrency: SIGKILL a running batch inside predict and inside the
 * parallel tail, resume, and compare with an uninterrupted run of the same run
 * date. Two batches started together: one runs, the other exits 1 naming the holder.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDb } from '../src/db/connection.js';
import { BIN, cli, copyDb, dumpDb, fillSample, newDb, stateDirOf, tempDir, testDb } from './helpers.js';

const TODAY = '2026-09-01';
const TABLES = ['forecasts', 'alerts', 'notifications', 'event_factors', 'forecast_metrics', 'retrain_flags', 'metrics_history', 'kpi_cache', 'savings', 'revenue_daily', 'trends', 'dormant_stock', 'quality_risk'];
let template: string;

beforeAll(async () => {
  template = testDb(tempDir(), 'template.db');
  const db = await newDb(template);
  await fillSample(db, { products: 120, locations: 1, days: 730, seed: 4, today: TODAY });
  await db.close();
  expect(cli(['train', '--db', template, '--as-of', TODAY, '-q']).code).toBe(0);
});

function copy(): string {
  return copyDb(template);
}

const args = (db: string) => ['batch', '--db', db, '--as-of', TODAY, '-q'];
const checkpointOf = (db: string) => join(stateDirOf(db), 'checkpoint-nightly.json');

interface Cp { steps: Record<string, { status: string; attempts: number; finishedAt: string | null }> }

/** Starts a batch and SIGKILLs it when `when` holds for its checkpoint. */
function killWhen(db: string, when: (cp: Cp) => boolean): Promise<{ killed: boolean; at: Cp | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args(db)], { stdio: 'ignore' });
    let at: Cp | null = null;
    const timer = setInterval(() => {
      try {
        const f = checkpointOf(db);
        if (!existsSync(f)) return;
        const cp = JSON.parse(readFileSync(f, 'utf8')) as Cp;
        if (when(cp)) {
          at = cp;
          child.kill('SIGKILL');
          clearInterval(timer);
        }
      } catch {
        // A half-read file cannot happen (atomic rename), but keep polling on any read race.
      }
    }, 2);
    child.on('exit', (_code, signal) => {
      clearInterval(timer);
      // The state at the kill is the checkpoint on disk once the process is gone (it ran on for a moment after `when` held).
      const f = checkpointOf(db);
      resolve({ killed: signal === 'SIGKILL', at: at && existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as Cp) : at });
    });
  });
}

let reference: string;
beforeAll(async () => {
  const db = copy();
  const r = cli(args(db));
  expect(r.code).toBe(0);
  const d = openDb(db);
  reference = await dumpDb(d, TABLES);
  await d.close();
});

const TAIL = ['monitor', 'kpis', 'savings', 'revenue', 'trends', 'top-urgent', 'dormant'];
const points: [string, (cp: Cp) => boolean][] = [
  ['inside predict', (cp) => cp.steps.predict?.status === 'running'],
  ['inside the parallel tail', (cp) => cp.steps.alerts?.status === 'success' && TAIL.some((j) => cp.steps[j]?.status === 'running')],
];

test.each(points)('killed %s, then resumed: the same database as an uninterrupted run', async (_name, when) => {
  const db = copy();
  const k = await killWhen(db, when);
  expect(k.killed).toBe(true);
  // Without --resume the batch refuses and says which run is unfinished.
  const refused = cli(args(db));
  expect(refused.code).toBe(2);
  expect(refused.stderr).toMatch(/an unfinished nightly run .* for 2026-09-01 exists .*--resume.*--fresh/);
  const r = cli([...args(db), '--resume']);
  expect(r.code).toBe(0);
  const d = openDb(db);
  expect(await dumpDb(d, TABLES)).toBe(reference);
  await d.close();
  const after = JSON.parse(readFileSync(checkpointOf(db), 'utf8')) as Cp & { status: string };
  expect(after.status).toBe('success');
  for (const [job, s] of Object.entries(after.steps)) {
    expect(s.status).toBe('success');
    const before = k.at!.steps[job];
    if (before?.status === 'success') expect(s).toEqual(before); // not re-run
    else expect(s.attempts).toBe((before?.attempts ?? 0) + 1); // run to success exactly once after the kill
  }
});

test('two batches started together: one runs, the other exits 1 naming the lock holder', async () => {
  const db = copy();
  const start = () =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const c = spawn(process.execPath, [BIN, ...args(db)], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      c.stderr.on('data', (b) => (stderr += b));
      c.on('exit', (code) => resolve({ code, stderr }));
    });
  const [a, b] = await Promise.all([start(), start()]);
  const codes = [a.code, b.code].sort();
  expect(codes).toEqual([0, 1]);
  const loser = a.code === 1 ? a : b;
  expect(loser.stderr).toMatch(/another batch is running: pid \d+ on \S+ since \S+ \(run [\w-]+\)/);
});
