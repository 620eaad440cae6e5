import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addDays } from '../src/dates.js';
import { loadHistory, type History } from '../src/db/history.js';
import { cachedHistory } from '../src/db/history-cache.js';
import { importCsv } from '../src/io/import.js';
import { generateSample } from '../src/io/sample.js';
import { newDb, tempDir } from './helpers.js';

function same(a: History, b: History) {
  expect(b.startDay).toBe(a.startDay);
  expect(b.refs).toEqual(a.refs);
  expect(b.holidays).toEqual(a.holidays);
  a.series.forEach((s, i) => {
    const t = b.series[i];
    expect(t.id).toBe(s.id);
    // NaN-aware equality of demand (cache stores float32: values are counts and prices to the cent).
    expect(Array.from(t.y, (v) => (Number.isNaN(v) ? 'NaN' : Math.fround(v)))).toEqual(Array.from(s.y, (v) => (Number.isNaN(v) ? 'NaN' : Math.fround(v))));
    expect(t.promo ? Array.from(t.promo) : null).toEqual(s.promo ? Array.from(s.promo) : null);
    expect(t.logPrice === null).toBe(s.logPrice === null);
    if (s.logPrice && t.logPrice) s.logPrice.forEach((v, k) => expect(t.logPrice![k]).toBeCloseTo(v, 5));
    // Sales of censored days (the lower bounds of their demand) survive the cache too.
    expect(t.floor ? Array.from(t.floor) : null).toEqual(s.floor ? Array.from(s.floor) : null);
  });
  expect(a.series.some((s) => s.floor)).toBe(true);
}

test('the history cache gives exactly what a full read gives: build, new days, backfill, new series, replay', async () => {
  const dir = tempDir();
  const db = await newDb(join(dir, 'h.db'));
  const today = '2026-03-01';
  generateSample(db.sqlite!, { products: 15, locations: 1, days: 500, seed: 2, today });
  const file = join(dir, 'cache.bin');
  const o = (asOf: string) => ({ asOf, days: 400, horizon: 30 });
  // A window ending before today (so later "imported" days can be appended).
  const A = addDays(today, -20);
  same(loadHistory(db.sqlite!, o(A)), cachedHistory(db.sqlite!, o(A), file));
  // Two nights later: new days come from the database.
  same(loadHistory(db.sqlite!, o(addDays(A, 2))), cachedHistory(db.sqlite!, o(addDays(A, 2)), file));
  // A backfill of an old day through import (recorded in data_changes), plus a stock-out, plus a new product.
  const csv = join(dir, 'fix.csv');
  writeFileSync(csv, `date,sku,location,quantity\n${addDays(A, -100)},SKU-00003,MAIN,999\n${addDays(A, 1)},NEW-1,MAIN,4\n`);
  await importCsv(db, { entity: 'sales', file: csv });
  const st = join(dir, 'stock.csv');
  writeFileSync(st, `date,sku,location,on_hand\n${addDays(A, -50)},SKU-00004,MAIN,0\n${addDays(A, -45)},SKU-00004,MAIN,30\n`);
  await importCsv(db, { entity: 'stock', file: st });
  const after = cachedHistory(db.sqlite!, o(addDays(A, 3)), file);
  same(loadHistory(db.sqlite!, o(addDays(A, 3))), after);
  expect(after.refs.some((r) => r.sku === 'NEW-1')).toBe(true);
  // Replaying an earlier date reads inside the cached window.
  same(loadHistory(db.sqlite!, o(addDays(A, -5))), cachedHistory(db.sqlite!, o(addDays(A, -5)), file));
  // A corrupt file is rebuilt, not trusted.
  writeFileSync(file, 'garbage');
  same(loadHistory(db.sqlite!, o(A)), cachedHistory(db.sqlite!, o(A), file));
  await db.close();
});
