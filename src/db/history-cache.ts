/**
 * The demand-history cache: each series' daily demand, day flags (promotion,
 * sales row, stock known, listed: DAY_* in history.ts) and prices for a window
 * of days, in one binary file in the batch's state folder, so the nightly jobs
 * read two years of history without re-reading every sales and stock row. Each night only the new days are read; days touched by an
 * import since the file was written (`data_changes`) are read again; series not
 * in the file are read whole. Every value is what `loadHistory` computes for
 * that day, whatever window it is read in (the censoring and first-sale rules
 * look at the database for what lies before a range).
 *
 * The cache never changes a forecast:
 * - values are stored exactly: each series' demand is kept as float32 when
 *   every value of the series is a float32 number (whole units, halves...),
 *   else as float64; prices as float32, whole cents (int32) or float64, the
 *   first that holds every value exactly;
 * - the file records the database it was built from (the `instance_id` of its
 *   `meta` table, and for a SQLite file its path; a PostgreSQL database is
 *   known by its instance id alone, its URL is never written) and the change
 *   counter it has seen;
 * - a CRC-32 covers the header and each series' block (key, demand, prices,
 *   flags); the units sold on censored days (the lower bound of their demand)
 *   are few, so they sit in the header, under its checksum.
 * A missing file is built; a file that fails any of these checks is rebuilt
 * from the database with a warning naming the file and what did not match.
 */
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { crc32 } from 'node:zlib';
import { writeFileAtomic } from '../atomic-file.js';
import { dayNumber, fromDayNumber } from '../dates.js';
import { describeIoError } from '../io/file-safety.js';
import type { Db } from './connection.js';
import { num } from './query.js';
import { closedDays } from './check.js';
import { assemble, demandOnlySeries, listSeries, readRange, seriesKey, unknownDays, type History, type HistoryOptions, type SeriesRef } from './history.js';

const MAGIC = 'optiflow-history-cache-5';

/** How a column of one series is stored: float32, whole cents in an int32 (NaN as INT32_MIN), float64. */
type Enc = 'f32' | 'c32' | 'f64';
type Arr = Float32Array | Int32Array | Float64Array;
interface Col {
  enc: Enc;
  a: Arr;
}
const CODE: Record<Enc, string> = { f32: 'f', c32: 'c', f64: 'd' };
const ENC: Record<string, Enc> = { f: 'f32', c: 'c32', d: 'f64' };
const NO_PRICE = -2147483648;

function fits(enc: Enc, v: number): boolean {
  if (enc === 'f64') return true;
  if (enc === 'f32') return v !== v || Math.fround(v) === v;
  if (v !== v) return true;
  const c = Math.round(v * 100);
  return Math.abs(c) < 2147483647 && c / 100 === v;
}

function chooseEnc(values: ArrayLike<number>, allowed: Enc[]): Enc {
  for (const enc of allowed) {
    let ok = true;
    for (let i = 0; i < values.length && ok; i++) ok = fits(enc, values[i]);
    if (ok) return enc;
  }
  return 'f64';
}

function newCol(enc: Enc, n: number): Col {
  return { enc, a: enc === 'f32' ? new Float32Array(n) : enc === 'c32' ? new Int32Array(n) : new Float64Array(n) };
}

function decode(col: Col, from: number, len: number): Float32Array | Float64Array {
  if (col.enc !== 'c32') return (col.a as Float32Array | Float64Array).subarray(from, from + len);
  const out = new Float64Array(len);
  for (let i = 0; i < len; i++) {
    const c = col.a[from + i];
    out[i] = c === NO_PRICE ? NaN : c / 100;
  }
  return out;
}

/** Writes `vals` at `off`, widening the column's storage when a value would not be kept exactly. */
function setValues(col: Col, off: number, vals: Float64Array, allowed: Enc[]): Col {
  let target = col;
  if (chooseEnc(vals, [col.enc]) !== col.enc) {
    const whole = Float64Array.from(decode(col, 0, col.a.length));
    whole.set(vals, off);
    target = newCol(chooseEnc(whole, allowed), whole.length);
    writeDecoded(target, 0, whole);
    return target;
  }
  writeDecoded(target, off, vals);
  return target;
}

function writeDecoded(col: Col, off: number, vals: ArrayLike<number>): void {
  if (col.enc !== 'c32') {
    (col.a as Float32Array | Float64Array).set(vals, off);
    return;
  }
  for (let i = 0; i < vals.length; i++) col.a[off + i] = vals[i] !== vals[i] ? NO_PRICE : Math.round(vals[i] * 100);
}

function moveCol(col: Col, C: number, shift: number): Col {
  const out = newCol(col.enc, C);
  const srcFrom = Math.max(0, -shift);
  out.a.set(col.a.subarray(srcFrom, Math.min(col.a.length, srcFrom + C)) as never, Math.max(0, shift));
  return out;
}

const Y_ENCS: Enc[] = ['f32', 'f64'];
const PRICE_ENCS: Enc[] = ['f32', 'c32', 'f64'];

interface CacheData {
  startDay: number;
  days: number;
  changeId: number;
  keys: string[];
  y: Col[];
  price: Col[];
  flags: Uint8Array[];
  /** Units sold on censored days (demand was at least this), by day number; null when none. Rare, so kept sparse. */
  floor: (Map<number, number> | null)[];
}

interface DbIdentity {
  id: string;
  path: string;
}

/** The database the cache belongs to: its `meta.instance_id`, and its file path for SQLite ('postgres' for a server: no URL, no credentials). */
export async function dbIdentity(db: Db): Promise<DbIdentity> {
  let id = '';
  try {
    id = (await db.kysely.selectFrom('meta').select('value').where('key', '=', 'instance_id').executeTakeFirst())?.value ?? '';
  } catch {
    // A database from before the meta table: identified by its path alone.
  }
  const path = db.dialect === 'postgres' ? 'postgres' : db.sqlite?.memory || db.location === ':memory:' ? ':memory:' : resolve(db.sqlite?.name ?? db.location);
  return { id, path };
}

interface Header {
  magic: string;
  startDay: number;
  days: number;
  changeId: number;
  db: DbIdentity;
  keys: string[];
  yEnc: string;
  pEnc: string;
  crc: number[];
  /** Sparse censored-day floors: [series row, [[day number, units], ...]]; covered by the header's checksum. */
  floors: [number, [number, number][]][];
}

const pad8 = (n: number) => Math.ceil(n / 8) * 8;
const bytesOf = (enc: Enc) => (enc === 'f64' ? 8 : 4);
const raw = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

function seriesCrc(key: string, y: Col, price: Col, flags: Uint8Array): number {
  let c = crc32(key);
  c = crc32(raw(y.a), c);
  c = crc32(raw(price.a), c);
  return crc32(flags, c);
}

/**
 * Layout: u32 header length, u32 CRC-32 of the header, header JSON, padding
 * to 8 bytes; then every series' demand block, then every series' price block
 * (each padded to 8 bytes), then the day flags (u8, N x C). Demand and
 * flags stay in buffers the history keeps as views; prices are in their own
 * buffer, dropped once the relative prices are computed.
 */
function readCache(file: string, db: DbIdentity, dbChangeId: number): { data: CacheData } | { problem: string } | null {
  if (!existsSync(file)) return null;
  let fd: number | null = null;
  try {
    fd = openSync(file, 'r');
    const size = fstatSync(fd).size;
    const part = (at: number, bytes: number): Uint8Array => {
      if (at + bytes > size) throw new Error(`truncated (${size} bytes, ${at + bytes} expected)`);
      const b = new Uint8Array(bytes);
      let done = 0;
      while (done < bytes) {
        const n = readSync(fd!, b, done, bytes - done, at + done);
        if (n <= 0) throw new Error('truncated');
        done += n;
      }
      return b;
    };
    const pre = Buffer.from(part(0, 8));
    const hlen = pre.readUInt32LE(0);
    const hb = part(8, hlen);
    if (crc32(hb) !== pre.readUInt32LE(4)) return { problem: 'has a damaged header (checksum mismatch)' };
    const h = JSON.parse(Buffer.from(hb).toString('utf8')) as Header;
    if (h.magic !== MAGIC) return { problem: `is of another format (${String(h.magic)})` };
    if (h.db?.id !== db.id || h.db?.path !== db.path) return { problem: `belongs to another database (${h.db?.path ?? 'unknown'}, id ${h.db?.id || 'none'})` };
    if (h.changeId > dbChangeId) return { problem: `has seen data changes (${h.changeId}) the database does not hold (${dbChangeId}): the database was replaced or restored` };
    const N = h.keys.length;
    const C = h.days;
    if (h.yEnc.length !== N || h.pEnc.length !== N || h.crc.length !== N || !Array.isArray(h.floors)) return { problem: 'has an inconsistent header' };
    const floor: (Map<number, number> | null)[] = new Array(N).fill(null);
    for (const [row, days] of h.floors) {
      if (!Number.isInteger(row) || row < 0 || row >= N || !Array.isArray(days)) return { problem: 'has an inconsistent header' };
      floor[row] = new Map(days.filter((d) => Array.isArray(d) && Number.isFinite(d[0]) && Number.isFinite(d[1])));
    }
    const yEnc = [...h.yEnc].map((c) => ENC[c]);
    const pEnc = [...h.pEnc].map((c) => ENC[c]);
    if (yEnc.some((e) => !e) || pEnc.some((e) => !e)) return { problem: 'has an unknown value encoding' };
    const yBytes = yEnc.reduce((s, e) => s + pad8(C * bytesOf(e)), 0);
    const pBytes = pEnc.reduce((s, e) => s + pad8(C * bytesOf(e)), 0);
    const off = pad8(8 + hlen);
    const expected = off + yBytes + pBytes + N * C;
    if (size !== expected) return { problem: `has ${size} bytes where its header describes ${expected}` };
    const yBuf = part(off, yBytes).buffer;
    const pBuf = part(off + yBytes, pBytes).buffer;
    const flagsAll = part(off + yBytes + pBytes, N * C);
    const y: Col[] = [];
    const price: Col[] = [];
    const flags: Uint8Array[] = [];
    const view = (buf: ArrayBufferLike, at: number, enc: Enc): Col => ({
      enc,
      a: enc === 'f32' ? new Float32Array(buf, at, C) : enc === 'c32' ? new Int32Array(buf, at, C) : new Float64Array(buf, at, C),
    });
    let ya = 0;
    let pa = 0;
    for (let i = 0; i < N; i++) {
      y.push(view(yBuf, ya, yEnc[i]));
      price.push(view(pBuf, pa, pEnc[i]));
      flags.push(flagsAll.subarray(i * C, (i + 1) * C));
      ya += pad8(C * bytesOf(yEnc[i]));
      pa += pad8(C * bytesOf(pEnc[i]));
      if (seriesCrc(h.keys[i], y[i], price[i], flags[i]) !== h.crc[i]) return { problem: `has a damaged block for series ${h.keys[i]} (checksum mismatch)` };
    }
    return { data: { startDay: h.startDay, days: C, changeId: h.changeId, keys: h.keys, y, price, flags, floor } };
  } catch (e) {
    return { problem: `is unreadable (${(e as Error).message})` };
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

function writeCache(file: string, c: CacheData, db: DbIdentity): void {
  mkdirSync(dirname(file), { recursive: true });
  const h: Header = {
    magic: MAGIC, startDay: c.startDay, days: c.days, changeId: c.changeId, db, keys: c.keys,
    yEnc: c.y.map((x) => CODE[x.enc]).join(''), pEnc: c.price.map((x) => CODE[x.enc]).join(''),
    crc: c.keys.map((k, i) => seriesCrc(k, c.y[i], c.price[i], c.flags[i])),
    floors: c.floor.flatMap((m, i) => (m && m.size ? [[i, [...m.entries()]] as [number, [number, number][]]] : [])),
  };
  const header = Buffer.from(JSON.stringify(h), 'utf8');
  const pre = Buffer.alloc(8);
  pre.writeUInt32LE(header.length, 0);
  pre.writeUInt32LE(crc32(header), 4);
  function* parts(): Generator<Uint8Array> {
    yield pre;
    yield header;
    yield Buffer.alloc(pad8(8 + header.length) - 8 - header.length);
    for (const col of [...c.y, ...c.price]) {
      yield raw(col.a);
      const pad = pad8(col.a.byteLength) - col.a.byteLength;
      if (pad) yield Buffer.alloc(pad);
    }
    yield* c.flags;
  }
  writeFileAtomic(file, parts());
}

/**
 * Series read from the database at once when the cache is filled. The read
 * arrays are float64 (demand, prices) before they are packed into the cache's
 * columns: two years of every series at once held about 0.4 GB on 30,000
 * series (and left the process that much larger after it was freed).
 */
const FILL_CHUNK = 1000;

/** Days [from, to) of `refs` read from the database into cache rows, FILL_CHUNK series at a time. */
async function fill(db: Db, c: CacheData, rows: number[], refs: SeriesRef[], from: number, to: number): Promise<void> {
  if (to <= from || !rows.length) return;
  for (let k = 0; k < rows.length; k += FILL_CHUNK) await fillPart(db, c, rows.slice(k, k + FILL_CHUNK), refs.slice(k, k + FILL_CHUNK), from, to);
}

async function fillPart(db: Db, c: CacheData, rows: number[], refs: SeriesRef[], from: number, to: number): Promise<void> {
  const read = await readRange(db, refs, fromDayNumber(from), fromDayNumber(to));
  rows.forEach((row, j) => {
    const off = from - c.startDay;
    c.y[row] = setValues(c.y[row], off, read[j].y, Y_ENCS);
    c.price[row] = setValues(c.price[row], off, read[j].price, PRICE_ENCS);
    c.flags[row].set(read[j].flags, off);
    const m = c.floor[row];
    if (m) for (const d of [...m.keys()]) if (d >= from && d < to) m.delete(d);
    const f = read[j].floor;
    if (f)
      for (let u = 0; u < f.length; u++)
        if (f[u] > 0) (c.floor[row] ??= new Map()).set(from + u, f[u]);
  });
}

export interface CacheLog {
  debug?: (m: string) => void;
  warn?: (m: string) => void;
}

export async function cachedHistory(db: Db, o: HistoryOptions, file: string, log?: CacheLog | ((m: string) => void)): Promise<History> {
  const say: CacheLog = typeof log === 'function' ? { debug: log, warn: log } : (log ?? {});
  const refs = await listSeries(db, o.only);
  const targetEnd = dayNumber(o.asOf);
  const targetStart = targetEnd - o.days;
  const lastChange = num((await db.kysely.selectFrom('data_changes').select((e) => e.fn.max('id').as('id')).executeTakeFirst())?.id);
  const identity = await dbIdentity(db);
  const read = readCache(file, identity, lastChange);
  if (read && 'problem' in read) say.warn?.(`history cache ${file} ${read.problem}; rebuilding it from the database`);
  let c: CacheData | null = read && 'data' in read ? read.data : null;
  if (c && c.startDay > targetStart) c = null;
  const t0 = Date.now();
  let what: string;
  if (!c) {
    // Build: the requested window.
    const C = o.days;
    c = { startDay: targetStart, days: C, changeId: lastChange, keys: refs.map((r) => seriesKey(r.productId, r.locationId)), y: [], price: [], flags: [], floor: refs.map(() => null) };
    // Each column kind in one buffer, as a read of the file gives: the demand arrays sit together, and the prices
    // and flags (garbage once the history is assembled) go back to the system in one piece each, not as 30,000
    // small blocks between the demand arrays that stay.
    const [y, price, flags] = [new Float32Array(refs.length * C), new Float32Array(refs.length * C), new Uint8Array(refs.length * C)];
    for (let k = 0; k < refs.length; k++) {
      c.y.push({ enc: 'f32', a: y.subarray(k * C, (k + 1) * C) });
      c.price.push({ enc: 'f32', a: price.subarray(k * C, (k + 1) * C) });
      c.flags.push(flags.subarray(k * C, (k + 1) * C));
    }
    await fill(db, c, refs.map((_, i) => i), refs, targetStart, targetEnd);
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
      c.y = c.y.map((a) => moveCol(a, C, shift));
      c.price = c.price.map((a) => moveCol(a, C, shift));
      c.flags = c.flags.map((a) => {
        const out = new Uint8Array(C);
        const srcFrom = Math.max(0, -shift);
        out.set(a.subarray(srcFrom, Math.min(a.length, srcFrom + C)), Math.max(0, shift));
        return out;
      });
      for (const m of c.floor) if (m) for (const d of [...m.keys()]) if (d < newStart || d >= newEnd) m.delete(d);
      c.startDay = newStart;
      c.days = C;
    }
    const index = new Map(c.keys.map((k, i) => [k, i]));
    const known = refs.filter((r) => index.has(seriesKey(r.productId, r.locationId)));
    const rows = known.map((r) => index.get(seriesKey(r.productId, r.locationId))!);
    // Days touched by imports since the file was written.
    const changed = ((await db.kysely.selectFrom('data_changes').select((e) => e.fn.min('min_date').as('d')).where('id', '>', c.changeId).executeTakeFirst())?.d ?? null) as string | null;
    const redoFrom = changed ? Math.max(dayNumber(changed), c.startDay) : Infinity;
    const oldEnd = Math.min(cacheEnd, c.startDay + c.days);
    if (redoFrom < oldEnd) await fill(db, c, rows, known, redoFrom, oldEnd);
    // New days.
    await fill(db, c, rows, known, Math.max(oldEnd, c.startDay), c.startDay + c.days);
    // New series: read whole.
    const fresh = refs.filter((r) => !index.has(seriesKey(r.productId, r.locationId)));
    for (const r of fresh) {
      c.keys.push(seriesKey(r.productId, r.locationId));
      c.y.push(newCol('f32', c.days));
      c.price.push(newCol('f32', c.days));
      c.flags.push(new Uint8Array(c.days));
      c.floor.push(null);
    }
    await fill(db, c, fresh.map((_, j) => index.size + j), fresh, c.startDay, c.startDay + c.days);
    c.changeId = lastChange;
    what = `updated (${redoFrom < oldEnd ? `days from ${fromDayNumber(redoFrom)} re-read, ` : ''}${Math.max(0, newEnd - cacheEnd)} new day(s), ${fresh.length} new series)`;
  }
  try {
    writeCache(file, c, identity);
  } catch (e) {
    // The history in memory is right; only tomorrow's read is slower.
    say.warn?.(`history cache not saved: ${describeIoError(e, file)}`);
  }
  say.debug?.(`history cache ${what} in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  // The requested window, as engine arrays.
  const index = new Map(c.keys.map((k, i) => [k, i]));
  const off = targetStart - c.startDay;
  const data = c;
  // The days of a missing import (unknownDays) are marked on every read, in the views of the demand arrays (after
  // the file is written): the file holds what the rows say, and whether a day without a row is a missing import
  // depends on rows of other series and of later days, which the file's update rule does not re-read.
  const rowOf = refs.map((r) => index.get(seriesKey(r.productId, r.locationId))!);
  const ys = rowOf.map((i) => decode(data.y[i], off, o.days) as Float32Array | Float64Array);
  const closed = await closedDays(db.kysely, fromDayNumber(targetStart), o.asOf);
  const missingDays = unknownDays(refs, ys, rowOf.map((i) => data.flags[i].subarray(off, off + o.days)), o, undefined, closed);
  if (o.demandOnly) {
    // Demand alone (views, no copy): the price and promotion buffers are left to the garbage collector.
    const series = refs.map((r, i) => demandOnlySeries({ id: seriesKey(r.productId, r.locationId), y: ys[i], group: r.category }));
    c = null;
    return { startDay: targetStart, T: o.days, H: o.horizon, refs, series, holidays: new Map(), holidayNames: [], missingDays };
  }
  // Demand: views into the cache's arrays (no copy; the engine never writes to them). Prices: decoded when read, once per series.
  const rawArrays = refs.map((r, j) => {
    const i = index.get(seriesKey(r.productId, r.locationId))!;
    const days = data.floor[i] ? [...data.floor[i]!].filter(([d]) => d >= targetStart && d < targetEnd) : [];
    // Stored like demand: float32 when that holds every value exactly (units sold), else float64.
    const floor = days.length ? (days.every(([, v]) => fits('f32', v)) ? new Float32Array(o.days) : new Float64Array(o.days)) : null;
    for (const [d, v] of days) floor![d - targetStart] = v;
    return {
      y: ys[j],
      floor,
      flags: data.flags[i].subarray(off, off + o.days),
      get price() {
        return decode(data.price[i], off, o.days);
      },
    };
  });
  c = null;
  return assemble(db, refs, rawArrays, o, missingDays); // the price buffer is garbage once `rawArrays` is
}
