import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dbStatus, openDb } from '../src/db/connection.js';
import { importCsv } from '../src/io/import.js';
import { exportEntity } from '../src/io/export.js';
import { InputError } from '../src/errors.js';
import { dump, fileHash, newDb, sampleDb, tempDir } from './helpers.js';

describe('migrations', () => {
  test('an empty database migrates to the whole data model', async () => {
    const db = await newDb(join(tempDir(), 'm.db'));
    const s = await dbStatus(db);
    expect(s.allApplied).toBe(true);
    for (const t of ['locations', 'products', 'suppliers', 'supplier_products', 'price_breaks', 'sales', 'stock_levels', 'purchase_orders', 'events', 'weather', 'sensor_readings', 'quality_incidents', 'models', 'forecasts', 'alerts', 'notifications', 'forecast_metrics', 'retrain_flags', 'metrics_history', 'kpi_cache', 'savings', 'trends', 'batch_runs', 'batch_steps'])
      expect(s.rowCounts[t]).toBe(0);
    const fk = db.sqlite!.pragma('foreign_keys', { simple: true });
    expect(fk).toBe(1);
    expect(db.sqlite!.pragma('journal_mode', { simple: true })).toBe('wal');
    await db.close();
  });
});

describe('sample data', () => {
  const tables = ['products', 'suppliers', 'supplier_products', 'price_breaks', 'sales', 'stock_levels', 'purchase_orders', 'events', 'weather', 'sensor_readings', 'quality_incidents'];
  test('same seed, same rows; another seed, other rows', async () => {
    const a = await sampleDb({ products: 12, days: 120, seed: 5, today: '2026-03-01' });
    const b = await sampleDb({ products: 12, days: 120, seed: 5, today: '2026-03-01' });
    const c = await sampleDb({ products: 12, days: 120, seed: 6, today: '2026-03-01' });
    const da = dump(a.db, tables);
    expect(dump(b.db, tables)).toBe(da);
    expect(dump(c.db, tables)).not.toBe(da);
    const last = a.db.sqlite!.prepare('select max(date) as d from sales').get() as { d: string };
    expect(last.d).toBe('2026-02-28');
    for (const t of tables) expect((a.db.sqlite!.prepare(`select count(*) as n from ${t}`).get() as { n: number }).n).toBeGreaterThan(0);
    await Promise.all([a.db.close(), b.db.close(), c.db.close()]);
  });
});

describe('import', () => {
  const header = 'date,sku,location,quantity\n';
  const good = header + '2026-01-01,A,MAIN,3\n2026-01-02,A,MAIN,4.5\n2026-01-01,B,MAIN,0\n';
  async function base() {
    const dir = tempDir();
    const path = join(dir, 'i.db');
    const db = await newDb(path);
    const f = join(dir, 'good.csv');
    writeFileSync(f, good);
    await importCsv(db, { entity: 'sales', file: f });
    await db.close();
    return { dir, path };
  }
  const cases: [string, string, RegExp][] = [
    ['bad date', header + '2026-01-01,A,MAIN,1\n2026-13-01,A,MAIN,2\n', /:3:1: date "2026-13-01" is not a date/],
    ['negative quantity', header + '2026-01-05,A,MAIN,-1\n', /:2:4: quantity -1 is negative/],
    ['non-numeric quantity', header + '2026-01-05,A,MAIN,abc\n', /:2:4: quantity "abc" is not a number/],
    ['unknown column', 'date,sku,location,quantity,colour\n2026-01-05,A,MAIN,1,red\n', /:1:5: unknown column "colour"/],
    ['duplicate key in the file', header + '2026-01-05,A,MAIN,1\n2026-01-06,A,MAIN,1\n2026-01-05,A,MAIN,2\n', /:4:1: duplicate key .* first seen at line 2/],
    ['wrong column count', header + '2026-01-05,A,MAIN,1\n2026-01-06,A,1\n', /:3:4: expected 4 columns, found 3/],
  ];
  test.each(cases)('%s: file:line:column, database byte-for-byte unchanged', async (_name, content, message) => {
    const { dir, path } = await base();
    const before = fileHash(path);
    const f = join(dir, 'bad.csv');
    writeFileSync(f, content);
    const db = openDb(path);
    await expect(importCsv(db, { entity: 'sales', file: f })).rejects.toThrow(message);
    await expect(importCsv(db, { entity: 'sales', file: f })).rejects.toBeInstanceOf(InputError);
    await db.close();
    expect(fileHash(path)).toBe(before);
  });
  test('--dry-run validates and writes nothing', async () => {
    const { dir, path } = await base();
    const before = fileHash(path);
    const f = join(dir, 'more.csv');
    writeFileSync(f, header + '2026-02-01,C,MAIN,7\n');
    const db = openDb(path);
    const r = await importCsv(db, { entity: 'sales', file: f, dryRun: true });
    expect(r.rows).toBe(1);
    await db.close();
    expect(fileHash(path)).toBe(before);
  });
  test('--columns maps a long date,store,item,sales export and creates products and locations', async () => {
    const dir = tempDir();
    const db = await newDb(join(dir, 'k.db'));
    const f = join(dir, 'train.csv');
    const lines = ['date,store,item,sales'];
    for (let s = 1; s <= 3; s++) for (let i = 1; i <= 4; i++) for (let d = 1; d <= 5; d++) lines.push(`2017-01-0${d},${s},${i},${s * i + d}`);
    writeFileSync(f, lines.join('\n') + '\n');
    const r = await importCsv(db, { entity: 'sales', file: f, columns: 'sku=item,location=store,quantity=sales' });
    expect(r.rows).toBe(60);
    expect(r.created).toEqual({ products: 4, locations: 3 });
    const n = db.sqlite!.prepare('select count(distinct product_id || \':\' || location_id) as n, count(*) as rows from sales').get() as { n: number; rows: number };
    expect(n).toEqual({ n: 12, rows: 60 });
    // Upsert: importing again changes nothing.
    await importCsv(db, { entity: 'sales', file: f, columns: 'sku=item,location=store,quantity=sales' });
    expect((db.sqlite!.prepare('select count(*) as n from sales').get() as { n: number }).n).toBe(60);
    await db.close();
  });
  test('round trip: import -> export -> import into a new database gives the same rows', async () => {
    const a = await sampleDb({ products: 6, days: 90, today: '2026-03-01' });
    const dir = tempDir();
    const b = await newDb(join(dir, 'b.db'));
    for (const e of ['locations', 'products', 'suppliers', 'supplier-products', 'price-breaks', 'sales', 'stock', 'events', 'weather', 'incidents']) {
      const file = join(dir, `${e}.csv`);
      await exportEntity(a.db, { entity: e, format: 'csv', output: file, asOf: '2026-03-01' });
      await importCsv(b, { entity: e, file });
      const again = join(dir, `${e}.2.csv`);
      await exportEntity(b, { entity: e, format: 'csv', output: again, asOf: '2026-03-01' });
      expect(readFileSync(again, 'utf8')).toBe(readFileSync(file, 'utf8'));
    }
    await a.db.close();
    await b.close();
  });
});
