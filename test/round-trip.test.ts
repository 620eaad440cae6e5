/**
 * Export -> import is an identity for every importable entity: exporting a
 * database, importing the files into a copy of it and exporting again gives
 * the same files, and no table gains or loses a row.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDb } from '../src/db/connection.js';
import { ENTITIES } from '../src/io/entities.js';
import { exportEntity } from '../src/io/export.js';
import { importCsv } from '../src/io/import.js';
import { sampleDb, tempDir } from './helpers.js';

const TABLES = ['locations', 'products', 'suppliers', 'supplier_products', 'price_breaks', 'sales', 'stock_levels', 'purchase_orders', 'events', 'weather', 'sensor_readings', 'quality_incidents'];

test('every entity: export, import into a copy, export again: identical files, counts unchanged (purchase orders keep their refs)', async () => {
  const asOf = '2026-04-01';
  const a = await sampleDb({ products: 8, days: 150, seed: 3, today: asOf });
  const dir = tempDir();
  const copyPath = join(dir, 'copy.db');
  a.db.sqlite!.exec(`vacuum into '${copyPath}'`);
  const copy = openDb(copyPath);
  const counts = (db: typeof copy) => Object.fromEntries(TABLES.map((t) => [t, (db.sqlite!.prepare(`select count(*) as n from ${t}`).get() as { n: number }).n]));
  const openOrders = (db: typeof copy) => (db.sqlite!.prepare(`select count(*) as n from purchase_orders where status = 'open'`).get() as { n: number }).n;
  const before = counts(copy);
  const openBefore = openOrders(copy);
  expect(before.purchase_orders).toBeGreaterThan(0);
  expect(openBefore).toBeGreaterThan(0);
  // Sample orders carry a ref from their creation.
  expect(copy.sqlite!.prepare('select count(*) as n from purchase_orders where ref is null').get()).toEqual({ n: 0 });
  for (const entity of Object.keys(ENTITIES)) {
    const first = join(dir, `${entity}.csv`);
    await exportEntity(a.db, { entity, format: 'csv', output: first, asOf });
    await importCsv(copy, { entity, file: first });
    const second = join(dir, `${entity}.again.csv`);
    await exportEntity(copy, { entity, format: 'csv', output: second, asOf });
    expect({ entity, text: readFileSync(second, 'utf8') }).toEqual({ entity, text: readFileSync(first, 'utf8') });
  }
  expect(counts(copy)).toEqual(before);
  expect(openOrders(copy)).toBe(openBefore);
  await copy.close();
  await a.db.close();
});
