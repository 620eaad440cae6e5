import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { addDays } from '../src/dates.js';
import { loadHistory, type History } from '../src/db/history.js';
import { cachedHistory } from '../src/db/history-cache.js';
import { importCsv } from '../src/io/import.js';
import { generateSample } from '../src/io/sample.js';
import { predictJob, trainJob } from '../src/jobs/forecasting.js';
import { jobCtx, newDb, tempDir } from './helpers.js';

/** The first difference between two histories (NaN equal to NaN, nothing rounded), or null. */
function firstDifference(a: History, b: History): string | null {
  if (a.startDay !== b.startDay || a.series.length !== b.series.length) return `window or series count: ${a.startDay}/${a.series.length} vs ${b.startDay}/${b.series.length}`;
  if (JSON.stringify(a.refs) !== JSON.stringify(b.refs) || JSON.stringify([...a.holidays]) !== JSON.stringify([...b.holidays])) return 'series or holidays';
  const diff = (x: ArrayLike<number> | null | undefined, y: ArrayLike<number> | null | undefined): number => {
    x ??= null;
    y ??= null;
    if (!x || !y) return x === y ? -1 : 0;
    if (x.length !== y.length) return 0;
    for (let t = 0; t < x.length; t++) if (!Object.is(x[t], y[t])) return t;
    return -1;
  };
  for (let i = 0; i < a.series.length; i++) {
    const s = a.series[i];
    const t = b.series[i];
    if (s.id !== t.id) return `series ${i}: ${s.id} vs ${t.id}`;
    for (const k of ['y', 'promo', 'logPrice', 'floor', 'planned'] as const) {
      const d = diff(s[k], t[k]);
      if (d >= 0) return `${s.id} ${k}[${d}]: ${s[k]?.[d]} vs ${t[k]?.[d]}`;
    }
  }
  return null;
}
const same = (a: History, b: History) => expect(firstDifference(a, b)).toBeNull();

/** Collects the cache's warnings. */
function warnings() {
  const seen: string[] = [];
  return { seen, log: { warn: (m: string) => seen.push(m), debug: () => undefined } };
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
  same(await loadHistory(db, o(A)), await cachedHistory(db, o(A), file));
  // Two nights later: new days come from the database.
  same(await loadHistory(db, o(addDays(A, 2))), await cachedHistory(db, o(addDays(A, 2)), file));
  // A backfill of an old day through import (recorded in data_changes), plus a stock-out, plus a new product,
  // plus a fractional quantity and a price that float32 cannot hold.
  const csv = join(dir, 'fix.csv');
  writeFileSync(csv, `date,sku,location,quantity,revenue,unit_price\n${addDays(A, -100)},SKU-00003,MAIN,999,,\n${addDays(A, 1)},NEW-1,MAIN,4,,\n${addDays(A, -3)},SKU-00002,MAIN,0.1,,3.333333\n`);
  await importCsv(db, { entity: 'sales', file: csv });
  const st = join(dir, 'stock.csv');
  writeFileSync(st, `date,sku,location,on_hand\n${addDays(A, -50)},SKU-00004,MAIN,0\n${addDays(A, -45)},SKU-00004,MAIN,30\n`);
  await importCsv(db, { entity: 'stock', file: st });
  const after = await cachedHistory(db, o(addDays(A, 3)), file);
  same(await loadHistory(db, o(addDays(A, 3))), after);
  expect(after.refs.some((r) => r.sku === 'NEW-1')).toBe(true);
  // Read back from the file (no new day): still exact.
  same(await loadHistory(db, o(addDays(A, 3))), await cachedHistory(db, o(addDays(A, 3)), file));
  // Replaying an earlier date reads inside the cached window.
  same(await loadHistory(db, o(addDays(A, -5))), await cachedHistory(db, o(addDays(A, -5)), file));
  // A corrupt file is rebuilt, not trusted, and the warning names the file.
  writeFileSync(file, 'garbage');
  const w = warnings();
  same(await loadHistory(db, o(A)), await cachedHistory(db, o(A), file, w.log));
  expect(w.seen.join('\n')).toContain(file);
  await db.close();
});

// ---- corruption of the cache file

interface Layout {
  header: { keys: string[]; yEnc: string; pEnc: string; days: number };
  hlen: number;
  data: number;
}
function layout(buf: Buffer): Layout {
  const hlen = buf.readUInt32LE(0);
  const header = JSON.parse(buf.subarray(8, 8 + hlen).toString('utf8'));
  return { header, hlen, data: Math.ceil((8 + hlen) / 8) * 8 };
}
/** Rewrites the header (valid CRC): a corruption only the per-series checksums can see. */
function withHeader(buf: Buffer, edit: (h: Record<string, unknown>) => void): Buffer {
  const { hlen, data } = layout(buf);
  const h = JSON.parse(buf.subarray(8, 8 + hlen).toString('utf8'));
  edit(h);
  const hb = Buffer.from(JSON.stringify(h), 'utf8');
  const pre = Buffer.alloc(8);
  pre.writeUInt32LE(hb.length, 0);
  pre.writeUInt32LE(crc32(hb), 4);
  const pad = Buffer.alloc(Math.ceil((8 + hb.length) / 8) * 8 - 8 - hb.length);
  return Buffer.concat([pre, hb, pad, buf.subarray(data)]);
}
/** Byte offset of series i's demand block, and its element size. */
function demandBlock(buf: Buffer, i: number): { at: number; size: number } {
  const { header, data } = layout(buf);
  let at = data;
  for (let k = 0; k < i; k++) at += Math.ceil((header.days * (header.yEnc[k] === 'd' ? 8 : 4)) / 8) * 8;
  return { at, size: header.yEnc[i] === 'd' ? 8 : 4 };
}
function promoStart(buf: Buffer): number {
  const { header, data } = layout(buf);
  const block = (e: string) => Math.ceil((header.days * (e === 'd' ? 8 : 4)) / 8) * 8;
  return data + [...header.yEnc].reduce((s, e) => s + block(e), 0) + [...header.pEnc].reduce((s, e) => s + block(e), 0);
}

describe('a damaged or foreign cache never reaches the models', () => {
  let dir: string;
  let db: Awaited<ReturnType<typeof newDb>>;
  const asOf = '2026-03-01';
  const o = { asOf, days: 400, horizon: 30 };
  let clean: Buffer;
  let full: History;
  beforeAll(async () => {
    dir = tempDir();
    db = await newDb(join(dir, 'c.db'));
    generateSample(db.sqlite!, { products: 10, locations: 1, days: 450, seed: 5, today: asOf });
    await cachedHistory(db, o, join(dir, 'clean.bin'));
    clean = readFileSync(join(dir, 'clean.bin'));
    full = await loadHistory(db, o);
  });
  afterAll(() => db.close());

  const cases: [string, (b: Buffer) => Buffer][] = [
    ['demand x3 in one series', (b) => {
      const { at, size } = demandBlock(b, 3);
      const out = Buffer.from(b);
      for (let t = 0; t < 400; t++) {
        const p = at + t * size;
        if (size === 4) out.writeFloatLE(out.readFloatLE(p) * 3, p);
        else out.writeDoubleLE(out.readDoubleLE(p) * 3, p);
      }
      return out;
    }],
    ['a flipped mantissa bit', (b) => {
      const { at } = demandBlock(b, 2);
      const out = Buffer.from(b);
      out[at + 4 * 200] ^= 0x04;
      return out;
    }],
    ['a flipped exponent bit', (b) => {
      const { at, size } = demandBlock(b, 1);
      const out = Buffer.from(b);
      out[at + size * 300 + size - 1] ^= 0x40;
      return out;
    }],
    ['a flipped promotion flag', (b) => {
      const out = Buffer.from(b);
      out[promoStart(b) + 5 * 400 + 17] ^= 1;
      return out;
    }],
    ['two series keys swapped (header checksum valid)', (b) => withHeader(b, (h) => {
      const k = h.keys as string[];
      [k[0], k[1]] = [k[1], k[0]];
    })],
    ['truncated', (b) => b.subarray(0, b.length - 1000)],
    ['empty', () => Buffer.alloc(0)],
  ];

  test.each(cases)('%s: rebuilt with a warning naming the file, history exactly the full read', async (_name, damage) => {
    const file = join(dir, `damaged-${_name.replace(/\W+/g, '-')}.bin`);
    writeFileSync(file, damage(clean));
    const w = warnings();
    const h = await cachedHistory(db, o, file, w.log);
    same(full, h);
    expect(w.seen).toHaveLength(1);
    expect(w.seen[0]).toContain(file);
    // The rebuilt file is clean again: no warning on the next read.
    const w2 = warnings();
    same(full, await cachedHistory(db, o, file, w2.log));
    expect(w2.seen).toEqual([]);
  });

  test("another database's cache is rebuilt, not used", async () => {
    const other = await newDb(join(dir, 'other.db'));
    generateSample(other.sqlite!, { products: 10, locations: 1, days: 450, seed: 6, today: asOf });
    const file = join(dir, 'shared.bin');
    copyFileSync(join(dir, 'clean.bin'), file);
    const w = warnings();
    same(await loadHistory(other, o), await cachedHistory(other, o, file, w.log));
    expect(w.seen[0]).toMatch(/belongs to another database/);
    await other.close();
  });

  test('property: random corruption of the cache (100 seeds) never changes the history', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.constantFrom('bits', 'bytes', 'truncate', 'append', 'keys'),
        fc.integer({ min: 1, max: 8 }),
        async (pos, kind, n) => {
          let b: Buffer = Buffer.from(clean);
          if (kind === 'bits') for (let k = 0; k < n; k++) b[(pos * (k + 7)) % b.length] ^= 1 << ((pos >> k) % 8);
          else if (kind === 'bytes') for (let k = 0; k < n; k++) b[(pos + k * 977) % b.length] = (pos >> (k % 8)) & 0xff;
          else if (kind === 'truncate') b = b.subarray(0, pos % b.length);
          else if (kind === 'append') b = Buffer.concat([b, Buffer.alloc(n, pos & 0xff)]);
          else b = withHeader(b, (h) => {
            const k = h.keys as string[];
            const i = pos % k.length;
            const j = (i + n) % k.length;
            [k[i], k[j]] = [k[j], k[i]];
          });
          const file = join(dir, 'prop.bin');
          writeFileSync(file, b);
          const w = warnings();
          same(full, await cachedHistory(db, o, file, w.log));
          // Either the damage touched nothing the history reads (padding), or it was seen and the file named.
          for (const m of w.seen) expect(m).toContain(file);
        },
      ),
      { numRuns: 100, seed: 11 },
    );
  });
});

test('forecasts through the cache equal forecasts without it, exactly', async () => {
  const dir = tempDir();
  const db = await newDb(join(dir, 'f.db'));
  const asOf = '2026-06-01';
  generateSample(db.sqlite!, { products: 8, locations: 1, days: 500, seed: 3, today: asOf });
  const noCache = jobCtx(db, asOf, { historyCache: false });
  await trainJob.run(noCache, {});
  const rows = () => db.sqlite!.prepare('select product_id, location_id, date, model_id, yhat, yhat_lo, yhat_hi from forecasts where run_date = ? order by 1, 2, 3').all(asOf);
  await predictJob.run(noCache, {});
  const reference = rows();
  expect(reference.length).toBe(8 * 30);
  const cached = jobCtx(db, asOf, { historyCache: true });
  await predictJob.run(cached, {}); // builds the cache
  expect(rows()).toEqual(reference);
  await predictJob.run(cached, {}); // reads it back from the file
  expect(rows()).toEqual(reference);
  await db.close();
});
