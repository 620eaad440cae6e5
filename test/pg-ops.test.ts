/**
 * The operations commands on both databases: health, cleanup, db status and doctor
 * give the same findings on SQLite and PostgreSQL from the same imported data, each
 * doing its dialect's own thing (quick_check or a server round trip; VACUUM or
 * VACUUM ANALYZE; backup refuses PostgreSQL); the database password never shows.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { databaseName, stateDir, DEFAULTS } from '../src/config.js';
import { dbStatus, openDb, redactIn, redactUrl } from '../src/db/connection.js';
import { describeDatabase } from '../src/db/ops.js';
import { importCsv } from '../src/io/import.js';
import { checkHealth } from '../src/batch/health.js';
import { cleanup } from '../src/batch/cleanup.js';
import { runDoctor } from '../src/ops/doctor.js';
import { cli, newDb, tempDir, testConfig } from './helpers.js';
import { describePg, startPostgres, type PgServer } from './pg-server.js';

const AS_OF = '2026-03-01';

describe('database locations in messages and state folders', () => {
  test('redactUrl hides the password of the user-info part and of a password parameter, and nothing else', () => {
    expect(redactUrl('postgres://app:s3cret@db.local:5432/optiflow')).toBe('postgres://app:***@db.local:5432/optiflow');
    expect(redactUrl('postgresql://app:p@ss@db.local/optiflow')).toBe('postgresql://app:***@db.local/optiflow');
    expect(redactUrl('postgresql://app@localhost/x?host=/run/pg&password=s3cret&port=5433')).toBe('postgresql://app@localhost/x?host=/run/pg&password=***&port=5433');
    expect(redactUrl('postgres://app@db.local/optiflow')).toBe('postgres://app@db.local/optiflow');
    expect(redactUrl('/srv/shop/optiflow.db')).toBe('/srv/shop/optiflow.db');
    expect(redactIn('cannot connect to postgres://app:s3cr%40t@h/db (password s3cr@t rejected)', 'postgres://app:s3cr%40t@h/db')).toBe('cannot connect to postgres://app:***@h/db (password *** rejected)');
  });
  test('each PostgreSQL database has its own state folder, named by host, port and database, never the password', () => {
    const at = (db: string) => stateDir({ db, batch: { ...DEFAULTS.batch, stateDir: '' } });
    const a = at('postgres://app:s3cret@db.local:5433/shop_a');
    expect(a).toBe(join('.optiflow', 'db.local-5433-shop_a'));
    expect(at('postgres://app:s3cret@db.local:5433/shop_b')).not.toBe(a);
    expect(at('postgres://app:other@db.local:5433/shop_a')).toBe(a);
    // host and port as parameters (a unix socket folder).
    expect(databaseName('postgresql://app@localhost/shop?host=/run/postgresql&port=5434')).toBe('run_postgresql-5434-shop');
    expect(databaseName('postgresql://app@localhost/shop?host=/run/postgresql&port=5435')).not.toBe(databaseName('postgresql://app@localhost/shop?host=/run/postgresql&port=5434'));
    expect(a).not.toMatch(/s3cret/);
  });
});

describePg('operations commands on PostgreSQL and SQLite', () => {
  let server: PgServer;
  let pgUrl: string;
  let lite: string;
  const dir = tempDir();
  const env = { OPTIFLOW_BATCH_STATE_DIR: join(dir, 'state', '{db}') };
  const config = (db: string) => testConfig(db, AS_OF, { batch: { ...DEFAULTS.batch, stateDir: join(dir, 'state', databaseName(db)) } });

  beforeAll(async () => {
    server = startPostgres();
    // The same password-carrying URL a user might give (the test server trusts local connections, so any password passes).
    const u = new URL(await server.freshDatabase());
    u.username = 'postgres';
    u.password = 'Sup3rSecretPw';
    pgUrl = u.toString();
    lite = join(dir, 'ops.db');
    const csv = join(dir, 'sales.csv');
    const lines = ['date,sku,location,quantity'];
    for (let d = 0; d < 60; d++) for (const sku of ['A', 'B']) lines.push(`${new Date(Date.UTC(2026, 0, 1) + d * 86400000).toISOString().slice(0, 10)},${sku},MAIN,${3 + (d % 4)}`);
    writeFileSync(csv, lines.join('\n') + '\n');
    for (const loc of [lite, pgUrl]) {
      const db = await newDb(loc);
      await importCsv(db, { entity: 'sales', file: csv });
      await db.close();
    }
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
  });

  test('health: the same checks and statuses; the dialect says how it checked', async () => {
    const [a, b] = [await checkHealth(config(lite)), await checkHealth(config(pgUrl))];
    expect(b.exitCode).toBe(a.exitCode);
    expect(b.checks.map((c) => [c.check, c.status])).toEqual(a.checks.map((c) => [c.check, c.status]));
    expect(a.checks.find((c) => c.check === 'database')!.detail).toMatch(/quick_check ok/);
    expect(b.checks.find((c) => c.check === 'database')!.detail).toMatch(/reachable, server PostgreSQL \d+/);
  });

  test('db status: the same row counts; engine named per dialect; password redacted', async () => {
    const status = async (loc: string) => {
      const db = openDb(loc);
      try {
        return { ...(await dbStatus(db)), engine: await describeDatabase(db) };
      } finally {
        await db.close();
      }
    };
    const [sa, sb] = [await status(lite), await status(pgUrl)];
    expect(sb.rowCounts).toEqual(sa.rowCounts);
    expect(sa.rowCounts.sales).toBe(120);
    expect(sa.engine.engine).toMatch(/^SQLite /);
    expect(sb.engine.engine).toMatch(/^PostgreSQL /);
    expect(sb.engine.bytes).toBeGreaterThan(0);
    expect(sb.location).toBe(redactUrl(pgUrl));
    expect(JSON.stringify(sb)).not.toContain('Sup3rSecretPw');
  });

  test('cleanup: the same counts; VACUUM on SQLite, VACUUM ANALYZE on PostgreSQL', async () => {
    const go = async (loc: string, dryRun: boolean) => {
      const db = openDb(loc);
      try {
        return await cleanup(db, config(loc), { dryRun });
      } finally {
        await db.close();
      }
    };
    expect((await go(pgUrl, true)).removed).toEqual((await go(lite, true)).removed);
    const [ra, rb] = [await go(lite, false), await go(pgUrl, false)];
    expect(rb.removed).toEqual(ra.removed);
    expect([ra.vacuum, rb.vacuum]).toEqual(['VACUUM', 'VACUUM ANALYZE']);
  });

  test('doctor: the same checks on both, the known causes included', async () => {
    const free = () => 10 * 1024 ** 3;
    const [a, b] = [await runDoctor(config(lite), { freeBytes: free }), await runDoctor(config(pgUrl), { freeBytes: free })];
    expect(b.exitCode).toBe(a.exitCode);
    const names = (r: typeof a) => r.checks.map((c) => [c.check, c.status]).sort();
    expect(names(b)).toEqual(names(a));
    expect(names(b).map((c) => c[0])).toContain('models rejected');
  });

  test('through the command line: no password in output or errors; backup refuses PostgreSQL and points to pg_dump', () => {
    const h = cli(['health', '--db', pgUrl, '--as-of', AS_OF, '--json'], { env });
    expect(h.stdout).toContain('postgres:***@');
    const bk = cli(['backup', '--db', pgUrl], { env });
    expect(bk.code).toBe(2);
    expect(bk.stderr).toMatch(/pg_dump/);
    // An unreachable server: one line, no password.
    const bad = cli(['db', 'status', '--db', pgUrl.replace(/port=\d+/, 'port=1')], { env });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    for (const r of [h, bk, bad]) expect(r.stdout + r.stderr).not.toContain('Sup3rSecretPw');
  });
});
