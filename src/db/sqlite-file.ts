/**
 * The embedded database as a file: its tables and row counts, integrity check,
 * a consistent online copy (backup), WAL folding. SQLite only: PostgreSQL
 * backups are pg_dump's job.
 */
import BetterSqlite3 from 'better-sqlite3';

/** The user tables of a SQLite database (sqlite_* internals excluded). */
function tables(s: BetterSqlite3.Database): string[] {
  return (s.prepare(`select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name`).all() as { name: string }[]).map((r) => r.name);
}

export function rowCounts(s: BetterSqlite3.Database): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of tables(s)) out[t] = (s.prepare(`select count(*) as n from "${t.replace(/"/g, '""')}"`).get() as { n: number }).n;
  return out;
}

function diffCounts(expected: Record<string, number>, got: Record<string, number>): string[] {
  const names = new Set([...Object.keys(expected), ...Object.keys(got)]);
  return [...names].filter((t) => expected[t] !== got[t]).map((t) => `${t}: expected ${expected[t] ?? 'no table'}, found ${got[t] ?? 'no table'}`);
}

/** Checks a database file: integrity_check, then (when given) the row count of every table. */
export function verifyDatabaseFile(file: string, expected?: Record<string, number>): { integrity: string; tables: Record<string, number>; problems: string[] } {
  let s: BetterSqlite3.Database;
  try {
    s = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
  } catch (e) {
    return { integrity: 'unreadable', tables: {}, problems: [`cannot open ${file}: ${(e as Error).message}`] };
  }
  try {
    const rows = s.pragma('integrity_check') as { integrity_check: string }[];
    const integrity = rows.map((r) => r.integrity_check).join('; ');
    const problems = integrity === 'ok' ? [] : [`integrity_check: ${integrity}`];
    const counts = problems.length ? {} : rowCounts(s);
    if (!problems.length && !('kysely_migration' in counts)) problems.push(`${file} is not an optiflow database (no migration table)`);
    if (expected && !problems.length) problems.push(...diffCounts(expected, counts));
    return { integrity, tables: counts, problems };
  } catch (e) {
    return { integrity: 'unreadable', tables: {}, problems: [`${file}: ${(e as Error).message}`] };
  } finally {
    s.close();
  }
}

/**
 * Copies a live database file page by page with SQLite's online backup API,
 * inside one read transaction: the returned row counts and the copied pages are
 * the same moment while writers go on (WAL). The copy is left as one standalone
 * file (journal_mode DELETE).
 */
export async function snapshotCopy(source: string, target: string, pagesPerStep: number): Promise<Record<string, number>> {
  const src = new BetterSqlite3(source, { fileMustExist: true });
  src.pragma('busy_timeout = 60000');
  let counts: Record<string, number>;
  try {
    src.exec('begin');
    try {
      counts = rowCounts(src);
      // Large steps: fewer event-loop turns; the snapshot holds whatever the step size.
      await src.backup(target, { progress: () => pagesPerStep });
    } finally {
      src.exec('commit');
    }
  } finally {
    src.close();
  }
  // The copy carries the source's WAL mode; a backup is one standalone file.
  const copy = new BetterSqlite3(target, { fileMustExist: true });
  try {
    copy.pragma('journal_mode = DELETE');
  } finally {
    copy.close();
  }
  return counts;
}

/** Folds a database's WAL into its file (so a renamed copy stands alone). */
export function checkpointWal(file: string): void {
  const cur = new BetterSqlite3(file, { fileMustExist: true });
  try {
    cur.pragma('busy_timeout = 10000');
    cur.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    cur.close();
  }
}
