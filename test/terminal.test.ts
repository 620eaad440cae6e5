/**
 * The batch at a terminal: a spinner only on a TTY of sane width, never on the
 * same line as a log line, no colour under NO_COLOR; SIGTERM ends the batch
 * cleanly (checkpoint marked interrupted, lock released, exit 143).
 * Terminals are real pseudo-terminals made by util-linux `script`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, cli, sampleDb, tempDir } from './helpers.js';

const asOf = '2026-06-01';

/** Runs the CLI in a pseudo-terminal of `cols` columns; returns exit code and everything the terminal received. */
function atTerminal(dir: string, cols: number, args: string[], env: Record<string, string> = {}) {
  const out = join(dir, `tty-${cols}-${Math.random().toString(36).slice(2)}.txt`);
  const cmd = `stty cols ${cols} rows 40; ${Object.entries(env).map(([k, v]) => `${k}=${v} `).join('')}${process.execPath} ${BIN} ${args.join(' ')}`;
  const r = spawnSync('script', ['-qec', cmd, out], { cwd: dir, encoding: 'utf8', timeout: 120_000, env: { ...process.env, NO_COLOR: '', FORCE_COLOR: '' } });
  return { code: r.status, signal: r.signal, text: readFileSync(out, 'latin1') };
}

let dir: string;
let db: string;
beforeAll(async () => {
  const s = await sampleDb({ products: 10, days: 150, seed: 4, today: asOf });
  await s.db.close();
  dir = s.dir;
  db = s.path;
});

test('a terminal of 0 columns: no spinner, the batch finishes with bounded output', () => {
  const r = atTerminal(dir, 0, ['batch', '--db', db, '--as-of', asOf, '--fresh']);
  expect(r.signal).toBeNull();
  expect(r.code).toBe(0);
  expect(r.text.length).toBeLessThan(100_000);
  expect(r.text).not.toMatch(/\x1b\[\?25l/); // the spinner hides the cursor when it starts
});

test('a normal terminal: the spinner runs, and a log line always starts a clean line', () => {
  const r = atTerminal(dir, 100, ['batch', '--db', db, '--as-of', asOf, '--fresh']);
  expect(r.code).toBe(0);
  expect(r.text).toMatch(/\x1b\[\?25l/);
  const lines = [...r.text.matchAll(/info \[run/g)];
  expect(lines.length).toBeGreaterThan(5);
  for (const m of lines) {
    const before = r.text.slice(Math.max(0, m.index! - 4), m.index!);
    // Either the start of a line or right after the spinner's "clear line" sequence.
    expect(before.endsWith('\n') || before.endsWith('\x1b[0K')).toBe(true);
  }
});

test('NO_COLOR=1: the spinner draws without colour', () => {
  const r = atTerminal(dir, 100, ['batch', '--db', db, '--as-of', asOf, '--fresh'], { NO_COLOR: '1' });
  expect(r.code).toBe(0);
  expect(r.text).toMatch(/\x1b\[\?25l/);
  expect(r.text).not.toMatch(/\x1b\[3[0-9]m/);
});

test('SIGTERM ends the batch cleanly: exit 143, checkpoint interrupted, lock released; --resume finishes it', async () => {
  const s = await sampleDb({ products: 30, days: 400, seed: 8, today: asOf }, tempDir());
  await s.db.close();
  const checkpoint = join(s.dir, '.optiflow', 'sample.db', 'checkpoint-nightly.json');
  const lock = join(s.dir, '.optiflow', 'sample.db', 'batch.lock');
  const child = spawn(process.execPath, [BIN, 'batch', '--db', s.path, '--as-of', asOf, '-q'], { stdio: 'ignore' });
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  for (let i = 0; i < 600 && !existsSync(checkpoint); i++) await new Promise((r) => setTimeout(r, 50));
  expect(existsSync(checkpoint)).toBe(true);
  child.kill('SIGTERM');
  expect(await exited).toBe(143);
  expect(JSON.parse(readFileSync(checkpoint, 'utf8')).status).toBe('interrupted');
  expect(existsSync(lock)).toBe(false);
  const r = cli(['batch', '--db', s.path, '--as-of', asOf, '--resume', '-q']);
  expect(r.code).toBe(0);
  expect(JSON.parse(readFileSync(checkpoint, 'utf8')).status).toBe('success');
});
