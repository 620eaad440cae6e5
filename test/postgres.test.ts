/**
 * The same migrations and an import round trip on a real PostgreSQL server,
 * started by this test (Debian's postgresql package). Outside CI it skips, saying
 * why, where no server binary exists; under CI=true that fails.
 */
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { describePg, startPostgres, type PgServer } from './pg-server.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dbStatus, migrateToLatest, openDb } from '../src/db/connection.js';
import { importCsv } from '../src/io/import.js';
import { exportEntity } from '../src/io/export.js';

describePg('PostgreSQL', () => {
  let server: PgServer;
  let url: string;
  const dir = mkdtempSync(join(tmpdir(), 'optiflow-pgt-'));
  beforeAll(async () => {
    server = startPostgres();
    url = await server.freshDatabase();
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
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
