/**
 * Opening the database: an embedded SQLite file by default (WAL, foreign keys,
 * busy timeout), PostgreSQL when the location is a postgres:// URL.
 */
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type MigrationResultSet } from 'kysely';
import pg from 'pg';
import { migrations } from '../../migrations/index.js';
import { ALL_TABLES, type Database } from './types.js';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { DEFAULTS } from '../config.js';

export interface Db {
  kysely: Kysely<Database>;
  /** The raw SQLite handle for bulk paths; null on PostgreSQL. */
  sqlite: BetterSqlite3.Database | null;
  dialect: 'sqlite' | 'postgres';
  location: string;
  close(): Promise<void>;
}

export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//.test(location);
}

/**
 * A database location fit to print: a PostgreSQL URL without its password (in the
 * user-info part or a `password=` query parameter); file paths unchanged. Every log
 * line, error message and status output names the database through this.
 */
export function redactUrl(location: string): string {
  if (!isPostgresUrl(location)) return location;
  return location
    .replace(/^(postgres(?:ql)?:\/\/[^:/@?#\s]*):(.*)@(?=[^@]*$)/i, '$1:***@')
    .replace(/([?&](?:password|sslpassword|pass|pwd)=)[^&#\s]*/gi, '$1***');
}

/** Replaces every occurrence of the location (and of its password) in a message with the redacted form. */
export function redactIn(text: string, location: string): string {
  if (!isPostgresUrl(location)) return text;
  let out = text.split(location).join(redactUrl(location));
  for (const secret of passwordsOf(location)) out = out.split(secret).join('***');
  return out;
}

const remembered = new Set<string>();

/** Remembers the location's password so that `redactSecrets` can hide it wherever it turns up. */
export function rememberSecrets(location: string): void {
  if (isPostgresUrl(location)) remembered.add(location);
}

/**
 * A message with every remembered database password hidden: the URL in its
 * redacted form, the bare password as ***. Applied to every console and log-file
 * line and to the error printed on exit.
 */
export function redactSecrets(text: string): string {
  let out = text;
  for (const loc of remembered) out = redactIn(out, loc);
  return out;
}

/** The password(s) a PostgreSQL URL carries (user-info and query parameter, raw and decoded). */
function passwordsOf(location: string): string[] {
  const out = new Set<string>();
  const user = /^postgres(?:ql)?:\/\/[^:/@?#\s]*:(.*)@(?=[^@]*$)/i.exec(location)?.[1];
  const param = /[?&](?:password|sslpassword|pass|pwd)=([^&#\s]*)/i.exec(location)?.[1];
  for (const p of [user, param]) {
    if (!p) continue;
    out.add(p);
    try {
      out.add(decodeURIComponent(p));
    } catch {
      // Not percent-encoded text: the raw form is enough.
    }
  }
  // Very short secrets would blank out ordinary words; the URL forms above are replaced whole anyway.
  return [...out].filter((p) => p.length >= 4);
}


export interface OpenOptions {
  readonly?: boolean;
  mustExist?: boolean;
  /** PostgreSQL: connections this process may hold (config `dbPool`, env OPTIFLOW_DB_POOL). */
  poolSize?: number;
}

export function openDb(location: string, opts: OpenOptions = {}): Db {
  if (isPostgresUrl(location)) {
    const pool = new pg.Pool({ connectionString: location, max: opts.poolSize ?? poolSizeFromEnv() });
    // An idle client that loses its server (restart, network) must not crash the process: the next query reports it.
    pool.on('error', () => {});
    const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    let closed = false;
    return {
      kysely,
      sqlite: null,
      dialect: 'postgres',
      location,
      close: async () => {
        if (closed) return;
        closed = true;
        await kysely.destroy();
      },
    };
  }
  let sqlite: BetterSqlite3.Database;
  try {
    sqlite = new BetterSqlite3(location, { fileMustExist: opts.mustExist ?? false, readonly: opts.readonly ?? false });
  } catch (e) {
    const dir = dirname(resolve(location));
    if (!existsSync(dir)) throw new UsageError(`--db: folder ${dir} does not exist; create it (mkdir -p ${dir}) or choose another --db path`);
    if (!existsSync(location) && (opts.mustExist ?? false)) throw new UsageError(`--db: ${location} does not exist; run \`optiflow init --db ${location}\` to create it`);
    throw new UsageError(`--db: cannot open ${location} (${(e as Error).message}); check that the path is a database file this user may read and write`);
  }
  if (!opts.readonly) {
    try {
      sqlite.pragma('journal_mode = WAL');
    } catch (e) {
      // A read-only file stays usable for reading; writes fail with a message naming it (readOnlyMessage).
      if (!isReadOnlyError(e)) throw e;
    }
  }
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 60000'); // a batch job may wait for another job's write transaction
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('cache_size = -16384'); // 16 MB per connection: a batch may hold several
  const kysely = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  let closed = false;
  return {
    kysely,
    sqlite,
    dialect: 'sqlite',
    location,
    close: async () => {
      if (closed) return;
      closed = true;
      // Keeps the planner's statistics current after large writes (SQLite's recommendation on close).
      if (!opts.readonly && sqlite.open) {
        try {
          sqlite.pragma('optimize');
        } catch {
          // Best effort: a busy database skips it.
        }
      }
      await kysely.destroy();
    },
  };
}

/** SQLite refused a write because the file (or its folder, for the journal) is read-only. */
export function isReadOnlyError(e: unknown): boolean {
  const code = (e as { code?: string })?.code ?? '';
  return code.startsWith('SQLITE_READONLY') || /readonly database/.test((e as Error)?.message ?? '');
}

export function readOnlyMessage(location: string): string {
  return `database ${location} is read-only for this user (SQLite could not write to it or to its folder); make the file and its folder writable, or work on a writable copy`;
}

/** Can this process write to the database? (A write transaction, rolled back.) */
export function canWrite(sqlite: BetterSqlite3.Database): boolean {
  try {
    sqlite.exec('begin immediate; create table if not exists optiflow_write_probe (x integer); rollback');
    return true;
  } catch (e) {
    if (sqlite.inTransaction) sqlite.exec('rollback');
    if (isReadOnlyError(e)) return false;
    throw e;
  }
}

/** OPTIFLOW_DB_POOL for processes that open a database without the resolved config (worker threads, tests). */
function poolSizeFromEnv(): number {
  const n = Number(process.env.OPTIFLOW_DB_POOL);
  return Number.isInteger(n) && n >= 1 ? n : DEFAULTS.dbPool;
}

/** The raw SQLite handle, for the jobs that run on the embedded database. */
export function sqliteOf(db: Db): BetterSqlite3.Database {
  if (!db.sqlite) throw new UsageError(`this command runs on the embedded SQLite database; --db ${redactUrl(db.location)} is PostgreSQL`);
  return db.sqlite;
}

function migrator(db: Db): Migrator {
  return new Migrator({ db: db.kysely, provider: { getMigrations: async () => migrations } });
}

export async function migrateToLatest(db: Db): Promise<MigrationResultSet> {
  return migrator(db).migrateToLatest();
}

export interface DbStatus {
  location: string;
  dialect: string;
  migrations: { name: string; applied: boolean; executedAt: string | null }[];
  allApplied: boolean;
  rowCounts: Record<string, number>;
}

export async function dbStatus(db: Db): Promise<DbStatus> {
  const list = await migrator(db).getMigrations();
  const applied = list.every((m) => m.executedAt !== undefined);
  const rowCounts: Record<string, number> = {};
  if (list.some((m) => m.executedAt)) {
    for (const t of ALL_TABLES) {
      const r = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(t)}`.execute(db.kysely);
      rowCounts[t] = Number(r.rows[0].n);
    }
  }
  return {
    location: redactUrl(db.location),
    dialect: db.dialect,
    migrations: list.map((m) => ({ name: m.name, applied: !!m.executedAt, executedAt: m.executedAt ? m.executedAt.toISOString() : null })),
    allApplied: applied,
    rowCounts,
  };
}

/** Throws a clear error when the schema is not current. */
export async function requireMigrated(db: Db): Promise<void> {
  const list = await migrator(db).getMigrations();
  const pending = list.filter((m) => !m.executedAt);
  if (pending.length) throw new UsageError(`database ${redactUrl(db.location)} is not initialised or has pending migrations (${pending.map((m) => m.name).join(', ')}); run \`optiflow init --db ${redactUrl(db.location)}\``);
}
