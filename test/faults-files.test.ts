/**
 * Files under faults: outputs that would overwrite the database or the state
 * folder, a log file on the database or a folder, a full disk (SQLITE_FULL,
 * ENOSPC) named plainly, temp files removed on failure, CSV injection.
 */
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { cachedHistory } from '../src/db/history-cache.js';
import { writeCheckpoint } from '../src/batch/checkpoint.js';
import { createContext } from '../src/commands/context.js';
import { exportEntity } from '../src/io/export.js';
import { importCsv } from '../src/io/import.js';
import { generateSample } from '../src/io/sample.js';
import { fileHash, newDb, tempDir } from './helpers.js';

async function smallDb() {
  const dir = tempDir();
  const path = join(dir, 'shop.db');
  const db = await newDb(path);
  db.sqlite!.exec(`insert into locations (code, name) values ('MAIN', 'main')`);
  db.sqlite!.exec(`insert into products (sku, name, category, unit_cost, unit_price, active) values
    ('A-1', '=HYPERLINK("http://x","y")', '+cat', -1.5, 2, 1), ('A-2', '-2+3', '@SUM(A1)', 1, 2, 1),
    ('A-3', '\tTab', '\rCR', 1, 2, 1), ('A-4', 'plain name', 'food', 3, 4, 1)`);
  return { db, path, dir, state: join(dir, '.optiflow') };
}

async function exported(db: Awaited<ReturnType<typeof newDb>>, raw = false): Promise<string> {
  const sink = new PassThrough();
  let text = '';
  sink.on('data', (b) => (text += b));
  await exportEntity(db, { entity: 'products', format: 'csv', asOf: '2026-06-01', raw }, sink);
  return text;
}

test('exports escape cells a spreadsheet would run as formulas; numbers stay numbers; --raw keeps them as stored', async () => {
  const { db } = await smallDb();
  const text = await exported(db);
  const lines = text.trim().split('\n');
  expect(lines[0]).toMatch(/^sku,name,category,unit_cost,unit_price,shelf_life_days,storage,active\b/);
  expect(text).toContain(`'=HYPERLINK`);
  expect(text).toContain(`'+cat`);
  expect(text).toContain(`'-2+3`);
  expect(text).toContain(`'@SUM(A1)`);
  expect(text).toContain(`'\tTab`);
  expect(text).toContain(`'\rCR`);
  expect(text).toMatch(/^A-4,plain name,food,3,4,,,1\b/m);
  // A negative number is a number, not text: no apostrophe.
  expect(text).toMatch(/,-1\.5,2,/);
  const raw = await exported(db, true);
  expect(raw).not.toContain(`'`);
  expect(raw).toMatch(/^A-2,-2\+3,@SUM\(A1\),/m);
  await db.close();
});

test('--output never resolves to the database, its WAL/SHM or the state folder (links included)', async () => {
  const { db, path, dir, state } = await smallDb();
  mkdirSync(state, { recursive: true });
  const before = fileHash(path);
  const protect = { db: path, stateDir: state };
  const link = join(dir, 'innocent.csv');
  symlinkSync(path, link);
  for (const output of [path, `${path}-wal`, `${path}-shm`, link, join(dir, '.', 'shop.db')])
    await expect(exportEntity(db, { entity: 'products', format: 'csv', asOf: '2026-06-01', output, protect })).rejects.toThrow(/--output: .* is the database .*choose another file/);
  await expect(exportEntity(db, { entity: 'products', format: 'csv', asOf: '2026-06-01', output: join(state, 'history-cache.bin'), protect })).rejects.toThrow(/inside the state folder/);
  await expect(exportEntity(db, { entity: 'products', format: 'csv', asOf: '2026-06-01', output: dir, protect })).rejects.toThrow(/is a folder/);
  expect(fileHash(path)).toBe(before);
  // A normal output still works, and leaves no temp file.
  const ok = join(dir, 'products.csv');
  await exportEntity(db, { entity: 'products', format: 'csv', asOf: '2026-06-01', output: ok, protect });
  expect(existsSync(ok)).toBe(true);
  expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  await db.close();
});

test('logFile on the database, a file rotating onto it, or a folder is refused with the key named', async () => {
  const { db, path, dir } = await smallDb();
  await db.close();
  const withLog = (logFile: string) => {
    const cfg = join(dir, `c-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(cfg, JSON.stringify({ logFile }));
    return () => createContext({ db: path, config: cfg }, () => undefined, 'batch');
  };
  expect(withLog(path)).toThrow(/logFile: .*shop\.db is the database/);
  expect(withLog(`${path}-wal`)).toThrow(/logFile: .* is the database/);
  expect(withLog(dir)).toThrow(/logFile: .* is a folder; give a file path/);
  // Rotation renames day.db to day1.db, day2.db...: day1.db is the database.
  const rotating = join(dir, 'day.db');
  const dayDb = await newDb(join(dir, 'day1.db'));
  await dayDb.close();
  const cfg = join(dir, 'rot.json');
  writeFileSync(cfg, JSON.stringify({ logFile: rotating }));
  expect(() => createContext({ db: join(dir, 'day1.db'), config: cfg }, () => undefined, 'batch')).toThrow(/logFile: .*day\.db rotates into .*day1\.db, which is the database/);
  const fine = withLog(join(dir, 'logs', 'optiflow.log'))();
  await fine.close();
});

test('a full database disk is named plainly (SQLITE_FULL) and the import leaves the database as it was', async () => {
  const { db, dir } = await smallDb();
  const lines = ['date,sku,location,quantity'];
  for (let i = 0; i < 20000; i++) lines.push(`2026-01-${String(1 + (i % 28)).padStart(2, '0')},N-${Math.floor(i / 28)},MAIN,${i % 9}`);
  const csv = join(dir, 'sales.csv');
  writeFileSync(csv, lines.join('\n') + '\n');
  const pages = db.sqlite!.pragma('page_count', { simple: true }) as number;
  db.sqlite!.pragma(`max_page_count = ${pages + 5}`); // the disk fills after 5 more pages
  const err = await importCsv(db, { entity: 'sales', file: csv }).then(() => null, (e: Error) => e);
  expect(err).not.toBeNull();
  expect(err!.message).toMatch(new RegExp(`import .*sales\\.csv: the disk holding the database is full \\(SQLITE_FULL\\) writing .*shop\\.db; nothing of this step was written`));
  expect(db.sqlite!.prepare('select count(*) as n from sales').get()).toEqual({ n: 0 });
  expect(db.sqlite!.prepare('select count(*) as n from products').get()).toEqual({ n: 4 });
  await db.close();
});

test('a full disk on export is named (ENOSPC)', async () => {
  if (!existsSync('/dev/full')) return expect(existsSync('/dev/full')).toBe(false); // no such device on this system
  const { db } = await smallDb();
  await expect(exportEntity(db, { entity: 'products', format: 'csv', asOf: '2026-06-01', output: '/dev/full' })).rejects.toThrow(/export: no space left on the device \(ENOSPC\) writing \/dev\/full/);
  await db.close();
});

test('temp files are removed when a state file cannot be written', async () => {
  const dir = tempDir();
  const db = await newDb(join(dir, 'h.db'));
  generateSample(db.sqlite!, { products: 4, locations: 1, days: 420, seed: 1, today: '2026-06-01' });
  // The cache's place is taken by a non-empty folder: the rename fails.
  const cache = join(dir, 'state', 'history-cache.bin');
  mkdirSync(join(cache, 'x'), { recursive: true });
  const warned: string[] = [];
  const h = await cachedHistory(db, { asOf: '2026-06-01', days: 400, horizon: 30 }, cache, { warn: (m) => warned.push(m) });
  expect(h.series).toHaveLength(4);
  expect(warned.find((m) => m.startsWith('history cache not saved'))).toMatch(/history cache not saved: .*history-cache\.bin/);
  expect(readdirSync(join(dir, 'state')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  const cp = join(dir, 'state', 'checkpoint-nightly.json');
  mkdirSync(join(cp, 'x'), { recursive: true });
  expect(() => writeCheckpoint(cp, { version: 1, runId: 'r', kind: 'nightly', runDate: '2026-06-01', status: 'running', startedAt: 's', updatedAt: 'u', pid: 1, steps: {} })).toThrow();
  expect(readdirSync(join(dir, 'state')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  await db.close();
});
