/**
 * The same migrations and an import round trip on a real PostgreSQL server,
 * started by this test (Debian's postgresql package). Skips, saying why, where
 * no server binary exists.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, readdirSync, readFileSync, writeFileSync, mkdtempSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dbStatus, migrateToLatest, openDb } from '../src/db/connection.js';
import { importCsv } from '../src/io/import.js';
import { exportEntity } from '../src/io/export.js';

function findBin(): string | null {
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) for (const v of readdirSync(base).sort().reverse()) if (existsSync(join(base, v, 'bin', 'initdb'))) return join(base, v, 'bin');
  const r = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() ? join(r.stdout.trim(), '..') : null;
}

const bin = findBin();
const asRoot = process.getuid?.() === 0;
let pgUid: number | null = null;
if (asRoot) {
  const r = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  pgUid = r.status === 0 ? Number(r.stdout.trim()) : null;
}
const why = !bin ? 'no PostgreSQL server binary (initdb) on this machine' : asRoot && pgUid === null ? 'running as root without a "postgres" user to start the server' : null;
if (why) console.warn(`postgres test skipped: ${why}`);
const d = why ? describe.skip : describe;

d('PostgreSQL', () => {
  const dir = mkdtempSync(join(tmpdir(), 'optiflow-pg-'));
  const data = join(dir, 'data');
  const port = 20000 + (process.pid % 20000);
  const run = (cmd: string, args: string[]) =>
    asRoot ? execFileSync('runuser', ['-u', 'postgres', '--', join(bin!, cmd), ...args], { stdio: 'pipe' }) : execFileSync(join(bin!, cmd), args, { stdio: 'pipe' });
  const url = `postgresql://postgres@localhost/postgres?host=${encodeURIComponent(dir)}&port=${port}`;

  beforeAll(() => {
    if (asRoot) {
      chmodSync(dir, 0o777);
      chownSync(dir, pgUid!, -1);
    }
    run('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync']);
    run('pg_ctl', ['-D', data, '-o', `-k ${dir} -p ${port} -c listen_addresses=''`, '-w', '-l', join(dir, 'log'), 'start']);
  }, 120_000);
  afterAll(() => {
    try {
      run('pg_ctl', ['-D', data, '-m', 'immediate', 'stop']);
    } catch {
      // Already down.
    }
  });

  test('migrations run and a sales import round-trips through export', async () => {
    const db = openDb(url);
    const m = await migrateToLatest(db);
    expect(m.error).toBeUndefined();
    const st = await dbStatus(db);
    expect(st.dialect).toBe('postgres');
    expect(st.allApplied).toBe(true);
    expect(st.rowCounts.products).toBe(0);
    const csv = join(dir, 'sales.csv');
    writeFileSync(csv, 'date,store,item,sales\n2017-01-01,1,1,13\n2017-01-02,1,1,11\n2017-01-01,2,1,4.5\n2017-01-01,1,2,0\n');
    const r = await importCsv(db, { entity: 'sales', file: csv, columns: 'sku=item,location=store,quantity=sales' });
    expect(r).toMatchObject({ rows: 4, created: { products: 2, locations: 2 } });
    const out = join(dir, 'out.csv');
    await exportEntity(db, { entity: 'sales', format: 'csv', output: out, asOf: '2017-02-01' });
    expect(readFileSync(out, 'utf8')).toBe(
      'date,sku,location,quantity,revenue,unit_price,on_promo\n2017-01-01,1,1,13,,,0\n2017-01-02,1,1,11,,,0\n2017-01-01,1,2,4.5,,,0\n2017-01-01,2,1,0,,,0\n',
    );
    // A bad row leaves the database as it was.
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, 'date,store,item,sales\n2017-01-03,1,1,5\n2017-01-04,1,1,-2\n');
    await expect(importCsv(db, { entity: 'sales', file: bad, columns: 'sku=item,location=store,quantity=sales' })).rejects.toThrow(/:3:4: quantity -2 is negative/);
    expect((await dbStatus(db)).rowCounts.sales).toBe(4);
    await db.close();
  });
});
