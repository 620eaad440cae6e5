import { mkdtempSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { DEFAULTS, type Config } from '../src/config.js';
import { migrateToLatest, openDb, type Db } from '../src/db/connection.js';
import { generateSample, type SampleOptions } from '../src/io/sample.js';
import { silentLogger } from '../src/log.js';
import type { JobContext } from '../src/jobs/types.js';

export const ROOT = new URL('..', import.meta.url).pathname;
export const BIN = join(ROOT, 'bin', 'optiflow.js');

export function tempDir(prefix = 'optiflow-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function testConfig(db: string, asOf: string, over: Partial<Config> = {}): Config {
  const c = JSON.parse(JSON.stringify(DEFAULTS)) as Config;
  return { ...c, db, asOf, ...over, batch: { ...c.batch, retryMinDelayMs: 0, stateDir: join(db + '.state'), ...(over.batch ?? {}) } };
}

export async function newDb(path: string): Promise<Db> {
  const db = openDb(path);
  const r = await migrateToLatest(db);
  if (r.error) throw r.error;
  return db;
}

export async function sampleDb(opts: Partial<SampleOptions> & { today: string }, dir = tempDir()): Promise<{ db: Db; path: string; dir: string }> {
  const path = join(dir, 'sample.db');
  const db = await newDb(path);
  generateSample(db.sqlite!, { products: 40, locations: 1, days: 730, seed: 7, ...opts });
  return { db, path, dir };
}

export function jobCtx(db: Db, asOf: string, over: Partial<Config> = {}): JobContext {
  return { db, sqlite: db.sqlite!, config: testConfig(db.location, asOf, over), asOf, log: silentLogger() };
}

export function fileHash(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** A logical dump of chosen tables (rows sorted), with volatile columns dropped. */
export function dump(db: Db, tables: string[], drop: string[] = ['computed_at', 'expires_at', 'sent_at', 'created_at', 'trained_at', 'started_at', 'finished_at']): string {
  const out: Record<string, unknown[]> = {};
  for (const t of tables) {
    const rows = db.sqlite!.prepare(`select * from ${t}`).all() as Record<string, unknown>[];
    out[t] = rows.map((r) => JSON.stringify(Object.fromEntries(Object.entries(r).filter(([k]) => !drop.includes(k))))).sort();
  }
  return JSON.stringify(out);
}

export function cli(args: string[], opts: { cwd?: string; input?: string; env?: Record<string, string>; uid?: number; gid?: number } = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? ROOT, input: opts.input ?? '', encoding: 'utf8', env: { ...process.env, ...opts.env }, timeout: 300_000, uid: opts.uid, gid: opts.gid });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
