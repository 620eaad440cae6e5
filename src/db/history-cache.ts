/**
 * The demand-history cache: each series' daily demand, promotion flags and
 * prices for a window of days, in one binary file in the batch's state folder,
 * so the nightly jobs read two years of history without re-reading every sales
 * and stock row. Each night only the new days are read; days touched by an
 * import since the file was written (`data_changes`) are read again; series not
 * in the file are read whole. Every value is what `loadHistory` computes for
 * that day, whatever window it is read in (the censoring and first-sale rules
 * look at the database for what lies before a range), so the cache never
 * changes a forecast. A missing or unreadable file is rebuilt.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { dayNumber, fromDayNumber } from '../dates.js';
import { assemble, listSeries, readRange, seriesKey, type History, type HistoryOptions, type SeriesRef } from './history.js';

const MAGIC = 'optiflow-history-cache-3';

interface CacheData {
  startDay: number;
  days: number;
  changeId: number;
  keys: string[];
  y: Float32Array[];
  price: Float32Array[];
  promo: Uint8Array[];
  /** Units sold on censored (stock-out) days, sparse: series key -> [day number, units][]. Kept in the header. */
  floors: Record<string, [number, number][]>;
}

/**
 * Layout: header length (u32), header JSON (with the sparse sales of
 * censored days), padding to 4 bytes, then demand
 * (f32, N x C), prices (f32, N x C), promotion flags (u8, N x C). Demand and
 * flags are read into buffers the history keeps as views; prices into their own
 * buffer, dropped once the relative prices are computed.
 */
function readCache(file: string): CacheData | null {
  if (!existsSync(file)) return null;
  let fd: number | null = null;
  try {
    fd = openSync(file, 'r');
    const head = Buffer.alloc(4);
    readSync(fd, head, 0, 4, 0);
    const hlen = head.readUInt32LE(0);
    const hb = Buffer.alloc(hlen);
    readSync(fd, hb, 0, hlen, 4);
    const h = JSON.parse(hb.toString('utf8')) as { magic: string; startDay: number; days: number; changeId: number; keys: string[]; floors?: Record<string, [number, number][]> };
    if (h.magic !== MAGIC) return null;
    const off = Math.ceil((4 + hlen) / 4) * 4;
    const N = h.keys.length;
    const C = h.days;
    const part = (at: number, bytes: number): ArrayBuffer => {
      const b = new Uint8Array(bytes);
      let done = 0;
      while (done < bytes) {
        const n = readSync(fd!, b, done, bytes - done, at + done);
        if (n <= 0) throw new Error('truncated history cache');
        done += n;
      }
      return b.buffer;
    };
    const yAll = new Float32Array(part(off, 4 * N * C));
    const priceAll = new Float32Array(part(off + 4 * N * C, 4 * N * C));
    const promoAll = new Uint8Array(part(off + 8 * N * C, N * C));
    const y: Float32Array[] = [];
    const price: Float32Array[] = [];
    const promo: Uint8Array[] = [];
    for (let i = 0; i < N; i++) {
      y.push(yAll.subarray(i * C, (i + 1) * C));
      price.push(priceAll.subarray(i * C, (i + 1) * C));
      promo.push(promoAll.subarray(i * C, (i + 1) * C));
    }
    return { startDay: h.startDay, days: C, changeId: h.changeId, keys: h.keys, y, price, promo, floors: h.floors ?? {} };
  } catch {
    return null;
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

function writeCache(file: string, c: CacheData): void {
  mkdirSync(dirname(file), { recursive: true });
  const header = Buffer.from(JSON.stringify({ magic: MAGIC, startDay: c.startDay, days: c.days, changeId: c.changeId, keys: c.keys, floors: c.floors }), 'utf8');
  const pre = 4 + header.length;
  const pad = Math.ceil(pre / 4) * 4 - pre;
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    const len = Buffer.alloc(4);
    len.writeUInt32LE(header.length);
    writeSync(fd, len);
    writeSync(fd, header);
    writeSync(fd, Buffer.alloc(pad));
    for (const a of c.y) writeSync(fd, new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    for (const a of c.price) writeSync(fd, new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    for (const a of c.promo) writeSync(fd, a);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

/** Days [from, to) of `refs` read from the database into cache rows. */
function fill(sqlite: BetterSqlite3.Database, c: CacheData, rows: number[], refs: SeriesRef[], from: number, to: number): void {
  if (to <= from || !rows.length) return;
  const raw = readRange(sqlite, refs, fromDayNumber(from), fromDayNumber(to));
  rows.forEach((row, j) => {
    const off = from - c.startDay;
    c.y[row].set(raw[j].y, off);
    c.price[row].set(raw[j].price, off);
    c.promo[row].set(raw[j].promo, off);
    const key = c.keys[row];
    const kept = (c.floors[key] ?? []).filter(([d]) => d < from || d >= to);
    const fl = raw[j].floor;
    if (fl) for (let t = 0; t < fl.length; t++) if (fl[t] > 0) kept.push([from + t, fl[t]]);
    if (kept.length) c.floors[key] = kept;
    else delete c.floors[key];
  });
}

export function cachedHistory(sqlite: BetterSqlite3.Database, o: HistoryOptions, file: string, log?: (m: string) => void): History {
  const refs = listSeries(sqlite, o.only);
  const targetEnd = dayNumber(o.asOf);
  const targetStart = targetEnd - o.days;
  const lastChange = (sqlite.prepare('select coalesce(max(id), 0) as id from data_changes').get() as { id: number }).id;
  let c = readCache(file);
  if (c && c.startDay > targetStart) c = null;
  const t0 = Date.now();
  let what: string;
  if (!c) {
    // Build: the requested window.
    const C = o.days;
    c = { startDay: targetStart, days: C, changeId: lastChange, keys: [], y: [], price: [], promo: [], floors: {} };
    for (const r of refs) {
      c.keys.push(seriesKey(r.productId, r.locationId));
      c.y.push(new Float32Array(C));
      c.price.push(new Float32Array(C));
      c.promo.push(new Uint8Array(C));
    }
    fill(sqlite, c, refs.map((_, i) => i), refs, targetStart, targetEnd);
    what = `built for ${refs.length} series x ${C} days`;
  } else {
    const cacheEnd = c.startDay + c.days;
    // Grow the window to cover the target end, dropping what falls before the target start.
    const capacity = Math.max(c.days, o.days);
    const newEnd = Math.max(cacheEnd, targetEnd);
    const newStart = Math.max(c.startDay, newEnd - capacity); // <= targetStart, as capacity >= o.days
    if (newStart !== c.startDay || newEnd !== cacheEnd) {
      const C = newEnd - newStart;
      const shift = c.startDay - newStart; // <= 0 when days are dropped
      const move = <A extends Float32Array | Uint8Array>(a: A, make: (n: number) => A): A => {
        const out = make(C);
        const srcFrom = Math.max(0, -shift);
        out.set(a.subarray(srcFrom, Math.min(a.length, srcFrom + C)), Math.max(0, shift));
        return out;
      };
      c.y = c.y.map((a) => move(a, (n) => new Float32Array(n)));
      c.price = c.price.map((a) => move(a, (n) => new Float32Array(n)));
      c.promo = c.promo.map((a) => move(a, (n) => new Uint8Array(n)));
      for (const [k, v] of Object.entries(c.floors)) c.floors[k] = v.filter(([d]) => d >= newStart);
      c.startDay = newStart;
      c.days = C;
    }
    const index = new Map(c.keys.map((k, i) => [k, i]));
    const known = refs.filter((r) => index.has(seriesKey(r.productId, r.locationId)));
    const rows = known.map((r) => index.get(seriesKey(r.productId, r.locationId))!);
    // Days touched by imports since the file was written.
    const changed = (sqlite.prepare('select min(min_date) as d from data_changes where id > ?').get(c.changeId) as { d: string | null }).d;
    const redoFrom = changed ? Math.max(dayNumber(changed), c.startDay) : Infinity;
    const oldEnd = Math.min(cacheEnd, c.startDay + c.days);
    if (redoFrom < oldEnd) fill(sqlite, c, rows, known, redoFrom, oldEnd);
    // New days.
    fill(sqlite, c, rows, known, Math.max(oldEnd, c.startDay), c.startDay + c.days);
    // New series: read whole.
    const fresh = refs.filter((r) => !index.has(seriesKey(r.productId, r.locationId)));
    for (const r of fresh) {
      c.keys.push(seriesKey(r.productId, r.locationId));
      c.y.push(new Float32Array(c.days));
      c.price.push(new Float32Array(c.days));
      c.promo.push(new Uint8Array(c.days));
    }
    fill(sqlite, c, fresh.map((_, j) => index.size + j), fresh, c.startDay, c.startDay + c.days);
    c.changeId = lastChange;
    what = `updated (${redoFrom < oldEnd ? `days from ${fromDayNumber(redoFrom)} re-read, ` : ''}${Math.max(0, newEnd - cacheEnd)} new day(s), ${fresh.length} new series)`;
  }
  writeCache(file, c);
  log?.(`history cache ${what} in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  // The requested window, as engine arrays.
  const index = new Map(c.keys.map((k, i) => [k, i]));
  const off = targetStart - c.startDay;
  // Views of the window into the cache's arrays (float32): no copy; the engine never writes to them.
  const raw = refs.map((r) => {
    const i = index.get(seriesKey(r.productId, r.locationId))!;
    let floor: Float64Array | null = null;
    for (const [d, q] of c!.floors[c!.keys[i]] ?? []) if (d >= targetStart && d < targetEnd) (floor ??= new Float64Array(o.days))[d - targetStart] = q;
    return { y: c!.y[i].subarray(off, off + o.days), promo: c!.promo[i].subarray(off, off + o.days), price: c!.price[i].subarray(off, off + o.days), floor };
  });
  c = null;
  return assemble(sqlite, refs, raw, o); // the price buffer is garbage once `raw` is
}
