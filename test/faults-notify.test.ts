/**
 * Notifications under faults: two senders at once, a kill while sending, a
 * command that hangs (time budget, process group, SIGTERM): each alert is
 * delivered at most once, with its idempotency key, and nothing is orphaned.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDb, type Db } from '../src/db/connection.js';
import { generateSample } from '../src/io/sample.js';
import { predictJob } from '../src/jobs/forecasting.js';
import { sendPending } from '../src/jobs/notify.js';
import { DEFAULTS } from '../src/config.js';
import { BIN, jobCtx, newDb, tempDir } from './helpers.js';

const DAY = '2026-06-01';
let template: string;
beforeAll(async () => {
  template = join(tempDir(), 'template.db');
  const db = await newDb(template);
  generateSample(db.sqlite!, { products: 30, locations: 1, days: 420, seed: 21, today: DAY });
  await predictJob.run(jobCtx(db, DAY, { historyCache: false }), {});
  // Every shelf empty last night: one CRITIQUE alert (and notification) per product.
  db.sqlite!.prepare(`insert or replace into stock_levels (product_id, location_id, date, on_hand) select id, 1, ?, 0 from products`).run('2026-05-31');
  await db.close();
});

function copy(): { path: string; dir: string } {
  const dir = tempDir();
  const path = join(dir, 'n.db');
  copyFileSync(template, path);
  return { path, dir };
}

function alertsCli(db: string, config: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [BIN, 'alerts', '--db', db, '--as-of', DAY, '--config', config, '-q'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    c.stderr.on('data', (b) => (stderr += b));
    c.on('exit', (code) => resolve({ code, stderr }));
  });
}

const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { alert_id: number; idempotency_key: string }) : []);

test('two `alerts` at once: every CRITIQUE alert is delivered exactly once, with its idempotency key', async () => {
  const { path, dir } = copy();
  const out = join(dir, 'delivered.jsonl');
  const config = join(dir, 'c.json');
  writeFileSync(config, JSON.stringify({ notify: { channel: 'command', target: `sleep 0.1; cat >> ${out}` } }));
  const [a, b] = await Promise.all([alertsCli(path, config), alertsCli(path, config)]);
  expect([a.code, b.code]).toEqual([0, 0]);
  const db = openDb(path);
  const queued = db.sqlite!.prepare('select alert_id, idempotency_key, sent_at from notifications').all() as { alert_id: number; idempotency_key: string; sent_at: string | null }[];
  await db.close();
  expect(queued.length).toBeGreaterThan(3);
  expect(queued.every((n) => n.sent_at !== null)).toBe(true);
  const got = lines(out);
  expect(got.map((l) => l.alert_id).sort((x, y) => x - y)).toEqual(queued.map((n) => n.alert_id).sort((x, y) => x - y));
  for (const l of got) expect(l.idempotency_key).toBe(`${l.alert_id}:${DAY}`);
});

test('a kill while sending, then alerts again: no delivery twice; an interrupted send waits for its lease', async () => {
  const { path, dir } = copy();
  const out = join(dir, 'delivered.jsonl');
  const config = join(dir, 'c.json');
  writeFileSync(config, JSON.stringify({ notify: { channel: 'command', target: `cat >> ${out}; sleep 0.1` } }));
  const child = spawn(process.execPath, [BIN, 'alerts', '--db', path, '--as-of', DAY, '--config', config, '-q'], { stdio: 'ignore' });
  const exited = new Promise((r) => child.on('exit', r));
  await new Promise<void>((resolve) => {
    const t = setInterval(() => {
      if (lines(out).length >= 2) {
        clearInterval(t);
        child.kill('SIGKILL');
        resolve();
      }
    }, 20);
    void exited.then(() => {
      clearInterval(t);
      resolve();
    });
  });
  await exited;
  expect(lines(out).length).toBeLessThan(30); // killed while sending
  expect((await alertsCli(path, config)).code).toBe(0);
  const got = lines(out);
  const keys = got.map((l) => l.idempotency_key);
  expect(new Set(keys).size).toBe(keys.length);
  const db = openDb(path);
  const rows = db.sqlite!.prepare('select idempotency_key, sent_at, claim_until from notifications').all() as { idempotency_key: string; sent_at: string | null; claim_until: string | null }[];
  await db.close();
  // Each row is sent, or still claimed by the killed sender (sent again once its lease passes): never lost.
  for (const r of rows) expect(r.sent_at !== null || r.claim_until !== null).toBe(true);
  expect(rows.filter((r) => r.sent_at === null).length).toBeLessThanOrEqual(1);
});

function pendingDb(): Promise<Db> {
  const { path } = copy();
  const db = openDb(path);
  db.sqlite!.exec(`insert into alerts (product_id, location_id, created_on, severity, kind, message, active) values (1, 1, '${DAY}', 'CRITIQUE', 'stockout', 'a', 1), (2, 1, '${DAY}', 'CRITIQUE', 'stockout', 'b', 1), (3, 1, '${DAY}', 'CRITIQUE', 'stockout', 'c', 1)`);
  db.sqlite!.exec(`insert into notifications (alert_id, channel, payload, created_at) select id, 'command', json_object('alert_id', id), '${DAY}T00:00:00Z' from alerts`);
  return Promise.resolve(db);
}

async function allDead(pids: number[]): Promise<boolean> {
  for (let i = 0; i < 40; i++) {
    const alive = pids.filter((p) => {
      try {
        process.kill(p, 0);
        return !readFileSync(`/proc/${p}/stat`, 'utf8').includes(') Z ');
      } catch {
        return false;
      }
    });
    if (!alive.length) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

test('a command that hangs: the run ends at its time budget, the rest stays queued, no process is left behind', async () => {
  const db = await pendingDb();
  const pids = join(tempDir(), 'pids');
  const t0 = Date.now();
  const r = await sendPending(db.sqlite!, { ...DEFAULTS.notify, channel: 'command', target: `sleep 60 & echo $! >> ${pids}; wait`, timeoutSeconds: 1, budgetSeconds: 2 }, '');
  const seconds = (Date.now() - t0) / 1000;
  // Far below one hung command (60 s): the budget ended the run.
  expect(seconds).toBeLessThan(20);
  expect(r.sent).toBe(0);
  expect(r.failed).toBeGreaterThanOrEqual(1);
  expect(r.pending).toBe(3);
  const errors = db.sqlite!.prepare('select error from notifications where error is not null').all() as { error: string }[];
  expect(errors[0].error).toMatch(/command timed out after 1s \(killed\)/);
  const started = readFileSync(pids, 'utf8').split('\n').filter(Boolean).map(Number);
  expect(started.length).toBeGreaterThanOrEqual(1);
  expect(await allDead(started)).toBe(true);
  await db.close();
});

test('SIGTERM while a notify command hangs: alerts exits at once (143) and kills the command with its children', async () => {
  const { path, dir } = copy();
  const pids = join(dir, 'pids');
  const config = join(dir, 'c.json');
  writeFileSync(config, JSON.stringify({ notify: { channel: 'command', target: `sleep 60 & echo $! >> ${pids}; wait` } }));
  const child = spawn(process.execPath, [BIN, 'alerts', '--db', path, '--as-of', DAY, '--config', config, '-q'], { stdio: 'ignore' });
  await new Promise<void>((resolve) => {
    const t = setInterval(() => {
      if (existsSync(pids) && readFileSync(pids, 'utf8').trim()) {
        clearInterval(t);
        resolve();
      }
    }, 20);
  });
  const t0 = Date.now();
  child.kill('SIGTERM');
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  expect(code).toBe(143);
  expect((Date.now() - t0) / 1000).toBeLessThan(20);
  expect(await allDead(readFileSync(pids, 'utf8').split('\n').filter(Boolean).map(Number))).toBe(true);
});
