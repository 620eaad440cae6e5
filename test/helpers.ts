import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { DEFAULTS, databaseName, stateDir, type Config } from '../src/config.js';
import { isPostgresUrl, migrateToLatest, openDb, type Db } from '../src/db/connection.js';
import { ALL_TABLES } from '../src/db/types.js';
import { insertMany } from '../src/db/query.js';
import { sql } from 'kysely';
import { generateSample, type SampleOptions } from '../src/io/sample.js';
import { silentLogger } from '../src/log.js';
import type { JobContext } from '../src/jobs/types.js';

export const ROOT = new URL('..', import.meta.url).pathname;
export const BIN = join(ROOT, 'bin', 'optiflow.js');

export function tempDir(prefix = 'optiflow-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * Which database the database helpers below hand out: 'sqlite' (a file in the
 * test's temp folder), or 'postgres' when OPTIFLOW_TEST_DB=postgres (the jest
 * `postgres` project): a fresh database on the server OPTIFLOW_TEST_PG_URL names.
 */
export const TEST_DB: 'sqlite' | 'postgres' = process.env.OPTIFLOW_TEST_DB === 'postgres' ? 'postgres' : 'sqlite';

function pgAdminUrl(): string {
  const u = process.env.OPTIFLOW_TEST_PG_URL;
  if (!u) throw new Error('OPTIFLOW_TEST_DB=postgres needs a server: OPTIFLOW_TEST_PG_URL is not set (the jest postgres project sets it in test/pg-global-setup.ts)');
  return u;
}

let pgCounter = 0;
function pgName(): string {
  return `optiflow_t${process.pid}_${Date.now().toString(36)}_${pgCounter++}`;
}

function pgUrl(name: string): string {
  const u = new URL(pgAdminUrl());
  u.pathname = `/${name}`;
  return u.toString();
}

/** Runs statements on the server's maintenance database, synchronously (a short node child: jest tests stay sync). */
function pgAdminSync(statements: string[]): void {
  const script = `import pg from 'pg'; const c = new pg.Client({ connectionString: process.env.U }); await c.connect(); try { for (const s of JSON.parse(process.env.S)) await c.query(s); } finally { await c.end(); }`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, U: pgAdminUrl(), S: JSON.stringify(statements) } });
  if (r.status !== 0) throw new Error(`PostgreSQL: ${statements.join('; ')} failed: ${r.stderr.trim()}`);
}

/**
 * A new database location for a test: `dir/name` (SQLite file, not created yet), or
 * under OPTIFLOW_TEST_DB=postgres the URL of a fresh, empty PostgreSQL database.
 * Either way `optiflow init --db <it>` (or `newDb`) makes it ready.
 */
export function testDb(dir: string, name: string): string {
  return TEST_DB === 'sqlite' ? join(dir, name) : freshPg();
}

function freshPg(): string {
  const db = pgName();
  pgAdminSync([`create database ${db}`]);
  return pgUrl(db);
}

/** A copy of a test database (file copy; on PostgreSQL `create database ... template`): no session may be open on it. */
export function copyDb(location: string): string {
  if (!isPostgresUrl(location)) {
    const p = join(tempDir(), 'copy.db');
    copyFileSync(location, p);
    return p;
  }
  const src = new URL(location).pathname.replace(/^\//, '');
  const db = pgName();
  pgAdminSync([`create database ${db} template ${src}`]);
  return pgUrl(db);
}

/** The state folder the CLI uses for a database (checkpoints, lock, notifications), honouring OPTIFLOW_BATCH_STATE_DIR. */
export function stateDirOf(location: string): string {
  return stateDir({ db: location, batch: { ...DEFAULTS.batch, stateDir: process.env.OPTIFLOW_BATCH_STATE_DIR ?? '' } });
}

/** Config overrides: each section may name only the keys it changes. */
export type ConfigOverrides = { [K in keyof Config]?: Config[K] extends Record<string, unknown> ? Partial<Config[K]> : Config[K] };

export function testConfig(db: string, asOf: string, over: ConfigOverrides = {}): Config {
  const c = JSON.parse(JSON.stringify(DEFAULTS)) as Config;
  const state = isPostgresUrl(db) ? join(tempDir('optiflow-state-'), databaseName(db)) : join(db + '.state');
  const merged = { ...c } as Record<string, unknown>;
  for (const [k, v] of Object.entries(over)) {
    const base = (c as unknown as Record<string, unknown>)[k];
    merged[k] = v && typeof v === 'object' && !Array.isArray(v) && base && typeof base === 'object' ? { ...base, ...v } : v;
  }
  return { ...(merged as unknown as Config), db, asOf, batch: { ...c.batch, retryMinDelayMs: 0, stateDir: state, ...(over.batch ?? {}) } };
}

/**
 * Opens a migrated test database. `path` is a SQLite file; under OPTIFLOW_TEST_DB=postgres
 * a file path gives a fresh PostgreSQL database instead (use `db.location` afterwards).
 */
export async function newDb(path: string): Promise<Db> {
  const db = openDb(TEST_DB === 'postgres' && !isPostgresUrl(path) ? freshPg() : path);
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

/**
 * Writes the deterministic sample data set into an open, migrated database. On
 * PostgreSQL the sample is generated into a scratch SQLite file and copied
 * table by table (the same rows, the same ids).
 */
export async function fillSample(db: Db, opts: SampleOptions): Promise<void> {
  if (db.sqlite) {
    generateSample(db.sqlite, opts);
    return;
  }
  const scratch = await newSqlite(join(tempDir(), 'scratch.db'));
  generateSample(scratch.sqlite!, opts);
  await copyRows(scratch, db);
  await scratch.close();
}

async function newSqlite(path: string): Promise<Db> {
  const db = openDb(path);
  const r = await migrateToLatest(db);
  if (r.error) throw r.error;
  return db;
}

/** Copies every table's rows from one migrated database into another (empty) one; PostgreSQL id sequences follow. */
export async function copyRows(from: Db, to: Db): Promise<void> {
  // meta holds the database's own identity (instance_id): each database keeps its own.
  for (const t of ALL_TABLES.filter((x) => x !== 'meta')) {
    const rows = (await from.kysely.selectFrom(t).selectAll().execute()) as Record<string, unknown>[];
    await insertMany(to.kysely, t, rows, 20_000);
    if (to.dialect === 'postgres' && rows.length && 'id' in rows[0]) {
      await sql`select setval(pg_get_serial_sequence(${t}, 'id'), (select max(id) from ${sql.table(t)}))`.execute(to.kysely);
    }
  }
}

/** `dump` on either database: a logical dump of chosen tables (rows sorted), volatile columns dropped. */
export async function dumpDb(db: Db, tables: string[], drop: string[] = ['computed_at', 'expires_at', 'sent_at', 'created_at', 'trained_at', 'started_at', 'finished_at']): Promise<string> {
  const out: Record<string, unknown[]> = {};
  for (const t of tables) {
    const rows = (await sql<Record<string, unknown>>`select * from ${sql.table(t)}`.execute(db.kysely)).rows;
    out[t] = rows.map((r) => JSON.stringify(Object.fromEntries(Object.entries(r).filter(([k]) => !drop.includes(k))))).sort();
  }
  return JSON.stringify(out);
}

export function jobCtx(db: Db, asOf: string, over: ConfigOverrides = {}): JobContext {
  return { db, config: testConfig(db.location, asOf, over), asOf, log: silentLogger() };
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
