/**
 * Import rules: every value is checked against its column's type and range,
 * and rows against each other; a bad row aborts the whole import with
 * file:line:column and leaves the database byte for byte as it was.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { importCsv } from '../src/io/import.js';
import { InputError } from '../src/errors.js';
import { DEFAULTS } from '../src/config.js';
import { fileHash, newDb, tempDir } from './helpers.js';
import type { Db } from '../src/db/connection.js';

let dir: string;
let db: Db;
let path: string;

beforeAll(async () => {
  dir = tempDir();
  path = join(dir, 'rules.db');
  db = await newDb(path);
  const put = (name: string, text: string) => writeFileSync(join(dir, name), text);
  put('locations.csv', 'code,name\nMAIN,Main\nB,Branch\n');
  put('products.csv', 'sku,name,unit_cost,unit_price\nA1,Apples,1,2\n');
  put('suppliers.csv', 'code,name,lead_time_days\nS1,Supplier,5\n');
  for (const [e, f] of [['locations', 'locations.csv'], ['products', 'products.csv'], ['suppliers', 'suppliers.csv']]) await importCsv(db, { entity: e, file: join(dir, f) });
  db.sqlite!.pragma('wal_checkpoint(TRUNCATE)');
});
afterAll(() => db.close());

/** Imports `text` as `entity`; expects an InputError at line:column matching `reason`, and no change at all. */
async function rejects(entity: string, text: string, line: number, column: number, reason: RegExp, limits = DEFAULTS.data): Promise<void> {
  const file = join(dir, `${entity}-${Math.random().toString(36).slice(2)}.csv`);
  writeFileSync(file, text);
  db.sqlite!.pragma('wal_checkpoint(TRUNCATE)');
  const before = fileHash(path);
  const counts = db.sqlite!.prepare('select (select count(*) from sales) + (select count(*) from products) + (select count(*) from purchase_orders) + (select count(*) from events) as n').get();
  let err: unknown;
  try {
    await importCsv(db, { entity, file, limits });
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(InputError);
  const ie = err as InputError;
  expect(ie.message).toMatch(reason);
  expect([ie.file, ie.line, ie.column]).toEqual([file, line, column]);
  db.sqlite!.pragma('wal_checkpoint(TRUNCATE)');
  expect(fileHash(path)).toBe(before);
  expect(db.sqlite!.prepare('select (select count(*) from sales) + (select count(*) from products) + (select count(*) from purchase_orders) + (select count(*) from events) as n').get()).toEqual(counts);
}

describe('import rejects values out of range, with file, line and column', () => {
  test('shelf_life_days -3 and 0', async () => {
    await rejects('products', 'sku,shelf_life_days\nA2,7\nA3,-3\n', 3, 2, /shelf_life_days -3 is out of range/);
    await rejects('products', 'sku,shelf_life_days\nA3,0\n', 2, 2, /shelf_life_days 0 is out of range/);
  });
  test('a supplier lead time of -5', async () => {
    await rejects('suppliers', 'code,lead_time_days\nS2,-5\n', 2, 2, /lead_time_days -5 is out of range/);
  });
  test('pack size 0 and a negative MOQ', async () => {
    await rejects('supplier-products', 'supplier,sku,pack_size,min_order_qty\nS1,A1,0,1\n', 2, 3, /pack_size 0 is out of range/);
    await rejects('supplier-products', 'supplier,sku,pack_size,min_order_qty\nS1,A1,6,-1\n', 2, 4, /min_order_qty -1 is negative/);
  });
  test('planned_uplift -2', async () => {
    await rejects('events', 'name,kind,start_date,planned_uplift\nSale,promotion,2026-01-05,-2\n', 2, 4, /planned_uplift -2 is out of range/);
  });
  test('a sales quantity of 1e308 or 1e9 is over the configurable bound', async () => {
    await rejects('sales', 'date,sku,quantity\n2026-01-01,A1,3\n2026-01-02,A1,1e308\n', 3, 3, /quantity 1e308 is out of range.*data\.maxQuantity/);
    await rejects('sales', 'date,sku,quantity\n2026-01-02,A1,1000000000\n', 2, 3, /quantity 1000000000 is out of range/);
    // The bound is configuration, not a constant: a larger bound accepts the row.
    const file = join(dir, 'big.csv');
    writeFileSync(file, 'date,sku,quantity\n2026-01-02,A1,1000000000\n');
    const r = await importCsv(db, { entity: 'sales', file, limits: { ...DEFAULTS.data, maxQuantity: 1e10 }, dryRun: true });
    expect(r.rows).toBe(1);
  });
  test('0x10 is not 16', async () => {
    await rejects('sales', 'date,sku,quantity\n2026-01-01,A1,0x10\n', 2, 3, /quantity "0x10" is not a number/);
  });
  test('on_promo=yes is not a boolean', async () => {
    await rejects('sales', 'date,sku,quantity,on_promo\n2026-01-01,A1,3,yes\n', 2, 4, /on_promo "yes" is not a boolean/);
  });
});

describe('import rejects rows that contradict themselves or each other', () => {
  test('a purchase order due before it was ordered', async () => {
    await rejects('purchase-orders', 'ref,supplier,sku,quantity,ordered_on,expected_on\nP1,S1,A1,10,2026-01-10,2026-01-05\n', 2, 6, /expected_on 2026-01-05 is before ordered_on 2026-01-10/);
  });
  test('received_on with status open', async () => {
    await rejects('purchase-orders', 'ref,supplier,sku,quantity,ordered_on,expected_on,received_on,status\nP1,S1,A1,10,2026-01-01,2026-01-05,2026-01-06,open\n', 2, 8, /status open with a received_on date/);
  });
  test('a blank location and an explicit MAIN for the same day are duplicates', async () => {
    await rejects('sales', 'date,sku,location,quantity\n2026-01-01,A1,,3\n2026-01-01,A1,MAIN,4\n', 3, 1, /duplicate key/);
  });
  test('Latin-1 bytes are an encoding error on their line, not U+FFFD', async () => {
    const file = join(dir, 'latin1.csv');
    writeFileSync(file, Buffer.concat([Buffer.from('sku,name\nA5,ok\nA6,Cr'), Buffer.from([0xe8]), Buffer.from('me\n')]));
    await expect(importCsv(db, { entity: 'products', file })).rejects.toThrow(/:3:1: the file is not UTF-8/);
    expect(db.sqlite!.prepare("select count(*) as n from products where sku in ('A5', 'A6')").get()).toEqual({ n: 0 });
  });
});

describe('CSV reading through csv-parse', () => {
  test('a quoted field spanning lines is one value; unquoted values keep their blanks', async () => {
    const file = join(dir, 'multi.csv');
    writeFileSync(file, 'sku,name,category\nM1,"Milk\nwhole, 1 l", Dairy \nM2,Bread,Bakery\n');
    const r = await importCsv(db, { entity: 'products', file });
    expect(r.rows).toBe(2);
    const rows = db.sqlite!.prepare("select sku, name, category from products where sku in ('M1', 'M2') order by sku").all();
    expect(rows).toEqual([{ sku: 'M1', name: 'Milk\nwhole, 1 l', category: ' Dairy ' }, { sku: 'M2', name: 'Bread', category: 'Bakery' }]);
  });
  test('an error after a multi-line field names the line the bad record starts on', async () => {
    await rejects('products', 'sku,name,shelf_life_days\nM3,"two\nlines",5\nM4,x,-1\n', 4, 3, /shelf_life_days -1 is out of range/);
  });
});
