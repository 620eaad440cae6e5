/** The batch lock under faults: empty or half-written files, reused pids; health says the same. */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { acquireLock, lockState } from '../src/batch/lock.js';
import { checkHealth } from '../src/batch/health.js';
import { newDb, tempDir, testConfig } from './helpers.js';

function aged(file: string, seconds: number) {
  const t = new Date(Date.now() - seconds * 1000);
  utimesSync(file, t, t);
}

test.each([
  ['empty', ''],
  ['half-written', '{"pid": 12'],
  ['garbage', '\x00\x00\x00'],
])('an %s lock older than the bound is taken over with a warning; health calls it stale', async (_name, content) => {
  const dir = tempDir();
  const db = await newDb(join(dir, 'l.db'));
  const config = testConfig(db.location, '2026-05-01');
  const file = join(config.batch.stateDir, 'batch.lock');
  const a = acquireLock(file, 'first', () => {});
  a.release();
  writeFileSync(file, content);
  aged(file, 120);
  expect(lockState(file)).toBe('stale');
  const health = await checkHealth(config);
  expect(health.checks.find((c) => c.check === 'batch lock')).toMatchObject({ status: 'warn', detail: expect.stringMatching(/stale lock .*takes it over/) });
  const warnings: string[] = [];
  const lock = acquireLock(file, 'run-b', (m) => warnings.push(m));
  expect(warnings[0]).toMatch(/taking over an empty or unreadable lock \d+s old; lock file .*batch\.lock/);
  const held = JSON.parse(readFileSync(file, 'utf8'));
  expect(held).toMatchObject({ pid: process.pid, host: hostname(), runId: 'run-b' });
  expect(held.token).toMatch(/^[0-9a-f-]{36}$/);
  expect(typeof held.startedAt).toBe('string');
  lock.release();
  expect(existsSync(file)).toBe(false);
  await db.close();
});

test('a young unreadable lock is not taken over: the message names the file and the way out', () => {
  const file = join(tempDir(), 'batch.lock');
  writeFileSync(file, '');
  expect(lockState(file)).toBe('unreadable');
  expect(() => acquireLock(file, 'r', () => {})).toThrow(/the batch lock .*batch\.lock is empty or unreadable and only \d+s old; if no batch is running, delete it/);
});

test('a lock whose pid is alive but not optiflow (a reused pid) is taken over', async () => {
  const file = join(tempDir(), 'batch.lock');
  const other = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 100));
    writeFileSync(file, JSON.stringify({ pid: other.pid, host: hostname(), startedAt: new Date(Date.now() - 3600_000).toISOString(), runId: 'old', token: 't' }));
    expect(lockState(file)).toBe('stale');
    const warnings: string[] = [];
    const lock = acquireLock(file, 'new', (m) => warnings.push(m));
    expect(warnings[0]).toMatch(new RegExp(`stale batch lock left by pid ${other.pid} .*that pid is now another program`));
    lock.release();
  } finally {
    other.kill('SIGKILL');
  }
});

test('release removes only its own lock (token), after a takeover', () => {
  const file = join(tempDir(), 'batch.lock');
  const a = acquireLock(file, 'a', () => {});
  // Someone judged a's lock stale and took it over (simulated: the file now holds another token).
  const b = JSON.parse(readFileSync(file, 'utf8'));
  writeFileSync(file, JSON.stringify({ ...b, runId: 'b', token: 'another-token' }));
  a.release();
  expect(existsSync(file)).toBe(true);
  expect(() => acquireLock(file, 'c', () => {})).toThrow(/another batch is running: pid \d+ on .* \(run b\)/);
});
