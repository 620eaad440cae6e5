/**
 * Loads demand history for the engine, reading only data dated before "today".
 *
 * Demand, not sales: a day whose end-of-day stock is 0 is censored (the shelf
 * was empty, demand was at least the sales): it becomes NaN, unknown, so no
 * model learns a stock-out as low demand. Days with stock and no sales row are
 * zero demand, except where the missing row is a missing import (unknownDays):
 * a day without any sales row at the series' location (`missingSalesRuns`, the
 * definition `optiflow check` reports), and a series' trailing run without a
 * row, up to its location's last sales day, too long for its own selling rate.
 * Both are found from the rows the history reads anyway (the day flags), not
 * by another query over the sales table.
 * Days before a series' first sale are unknown (not yet listed).
 */
import type BetterSqlite3 from 'better-sqlite3';
import { sql } from 'kysely';
import { join } from 'node:path';
import { addDays, dayNumber, fromDayNumber } from '../dates.js';
import { stateDir, type Config } from '../config.js';
import { cachedHistory } from './history-cache.js';
import type { EngineSeries } from '../ml/engine.js';
import type { Db } from './connection.js';
import { chunks, fastSqlite, qOf, seriesSpan, seriesValues, type DbOrQ } from './handle.js';
import { closedAt, closedDays, missingSalesRuns } from './check.js';
import { hasZeroRun, implausibleZeroRun, rateBefore, STOP_MIN_DAYS } from '../ml/zero-runs.js';
import { num, numOrNull } from './query.js';

export interface SeriesRef {
  productId: number;
  locationId: number;
  sku: string;
  location: string;
  category: string;
  /** Day number of the series' first sales row (set when a history is loaded). */
  firstDay?: number;
  /** The series has a stock record in the loaded days or before them (set when a history is loaded). */
  stockKnown?: boolean;
  /** Day number from which the series' trailing days without a row are unknown demand (unknownDays), or null. */
  staleFrom?: number | null;
  /** Last day (day number) of that run. */
  staleTo?: number;
  /** The series' mean daily demand over the known days of the 56 before `staleFrom` (units/day, rateBefore). */
  staleRate?: number;
}

export interface History {
  startDay: number;
  T: number;
  H: number;
  refs: SeriesRef[];
  series: EngineSeries[];
  holidays: Map<number, number>;
  holidayNames: string[];
  /** Per location id: the runs of days (inclusive day numbers) without any sales row there: unknown demand. */
  missingDays: Map<number, [number, number][]>;
}

export interface HistoryOptions {
  asOf: string;
  days: number;
  horizon: number;
  /** Restrict to these series ("productId:locationId"). */
  only?: Set<string>;
  /**
   * Only each series' demand (y), through the history cache file: no prices, promotions, events or
   * censored-day floors (null, and no holidays). For jobs that read demand alone (monitor, drift): about a
   * quarter of the memory of the full history. Without the cache file the full history is loaded.
   */
  demandOnly?: boolean;
}

export function seriesKey(productId: number, locationId: number): string {
  return `${productId}:${locationId}`;
}

/** Active series with sales (or whose like_sku sells at the location), ordered by product then location. */
export async function listSeries(db: DbOrQ, only?: Set<string>): Promise<SeriesRef[]> {
  // Point lookups on the sales primary key: no scan of the sales table.
  const r = await sql<SeriesRef>`select p.id as "productId", l.id as "locationId", p.sku, l.code as location, coalesce(p.category, '') as category
       from products p cross join locations l
       where p.active = 1 and (exists (select 1 from sales s where s.product_id = p.id and s.location_id = l.id)
         -- a new product with a like_sku is forecast from the day that product sells at the location
         or (p.like_sku is not null and exists (select 1 from products q join sales s on s.product_id = q.id where q.sku = p.like_sku and s.location_id = l.id)))
       order by p.id, l.id`.execute(qOf(db));
  const rows = r.rows.map((x) => ({ ...x, productId: num(x.productId), locationId: num(x.locationId) }));
  return only ? rows.filter((x) => only.has(seriesKey(x.productId, x.locationId))) : rows;
}

/** Raw daily arrays of one series over a range of days. */
export interface RangeArrays {
  /** Demand per day: sales, 0 on days with stock and no sale, NaN when unknown (stock-out, not yet sold). */
  y: Float64Array;
  /** Day flags: DAY_PROMO, DAY_ROW, DAY_STOCK, DAY_LISTED bits. */
  flags: Uint8Array;
  /** Shelf price of the day's sales, NaN without sales. */
  price: Float64Array;
  /** End-of-day stock on the last day of the range (NaN when no stock record yet). */
  lastStock: number;
  /** A sale on or before the last day of the range. */
  hasSale: boolean;
  /** Units sold on censored days (demand was at least this), or null when no censored day had a sale. */
  floor?: Float64Array | null;
}

/** Day flag: a sale on promotion that day (the sales row's on_promo). */
export const DAY_PROMO = 1;
/** Day flag: a sales row that day (any quantity, an explicit 0 included). */
export const DAY_ROW = 2;
/** Day flag: a stock record on or before that day (the series' stock is known). */
export const DAY_STOCK = 4;
/** Day flag: on or after the series' first sale (listed). */
export const DAY_LISTED = 8;

/**
 * One series' arrays from its rows: sales of the range, whether it sold before
 * the range, the stock row carried into the range and the stock rows of the
 * range (date order), applying the censoring rule.
 */
function seriesArrays(
  L: number,
  startDay: number,
  soldBefore: boolean,
  sales: Iterable<readonly [string, number, number | null, number]>,
  carry: number | undefined,
  stock: Iterable<readonly [string, number]>,
): RangeArrays {
  const y = new Float64Array(L).fill(NaN);
  const flags = new Uint8Array(L);
  const price = new Float64Array(L).fill(NaN);
  let first = soldBefore ? 0 : L;
  for (const [d, q, up, promoFlag] of sales) {
    const t = dayNumber(d) - startDay;
    y[t] = q;
    if (t < first) first = t;
    flags[t] |= promoFlag ? DAY_ROW | DAY_PROMO : DAY_ROW;
    if (up !== null && up > 0) price[t] = up;
  }
  for (let t = first; t < L; t++) {
    if (y[t] !== y[t]) y[t] = 0;
    flags[t] |= DAY_LISTED;
  }
  // Censoring: end-of-day stock 0 (rows are written when stock changes: carry forward).
  let lastT = 0;
  let lastV = carry !== undefined ? carry : NaN;
  let floor: Float64Array | null = null;
  const censor = (until: number) => {
    if (lastV === lastV) for (let u = lastT; u < until; u++) flags[u] |= DAY_STOCK;
    if (lastV === 0)
      for (let u = lastT; u < until; u++) {
        if (y[u] > 0) (floor ??= new Float64Array(L))[u] = y[u];
        y[u] = NaN;
      }
  };
  for (const [d, v] of stock) {
    const t = dayNumber(d) - startDay;
    censor(t);
    lastT = t;
    lastV = v;
  }
  censor(L);
  return { y, flags, price, lastStock: lastV, hasSale: first < L, floor };
}

/**
 * Reads days [from, to) of the given series, applying the censoring rule.
 * SQLite: per-series range reads on the primary keys (product, location, date),
 * the fastest way through an embedded file. PostgreSQL (or a transaction): a
 * few set-based queries per chunk of series (one network round trip each).
 */
export async function readRange(db: DbOrQ, refs: readonly { productId: number; locationId: number }[], from: string, to: string): Promise<RangeArrays[]> {
  const sqlite = fastSqlite(db);
  if (sqlite) return readRangeSqlite(sqlite, refs, from, to);
  const q = qOf(db);
  const startDay = dayNumber(from);
  const L = dayNumber(to) - startDay;
  const out: RangeArrays[] = [];
  for (const part of chunks(refs, 1000)) {
    const v = seriesValues(part);
    const head = await sql<{ p: number; l: number; earlier: number | string; carry: number | null }>`with ${v}
      select v.p, v.l,
        case when exists (select 1 from sales s where s.product_id = v.p and s.location_id = v.l and s.date < ${from}) then 1 else 0 end as earlier,
        (select k.on_hand from stock_levels k where k.product_id = v.p and k.location_id = v.l and k.date < ${from} order by k.date desc limit 1) as carry
      from v`.execute(q);
    const sales = await sql<{ p: number; l: number; date: string; quantity: number; unit_price: number | null; on_promo: number }>`with ${v}
      select s.product_id as p, s.location_id as l, s.date, s.quantity, s.unit_price, s.on_promo
      from sales s join v on s.product_id = v.p and s.location_id = v.l where s.date >= ${from} and s.date < ${to} and ${seriesSpan(part, 's')}`.execute(q);
    const stock = await sql<{ p: number; l: number; date: string; on_hand: number }>`with ${v}
      select k.product_id as p, k.location_id as l, k.date, k.on_hand
      from stock_levels k join v on k.product_id = v.p and k.location_id = v.l where k.date >= ${from} and k.date < ${to} and ${seriesSpan(part, 'k')}
      order by k.product_id, k.location_id, k.date`.execute(q);
    const key = (p: unknown, l: unknown) => `${num(p)}:${num(l)}`;
    const salesBy = new Map<string, [string, number, number | null, number][]>();
    for (const r of sales.rows) {
      const k = key(r.p, r.l);
      (salesBy.get(k) ?? salesBy.set(k, []).get(k)!).push([r.date, num(r.quantity), numOrNull(r.unit_price), num(r.on_promo)]);
    }
    const stockBy = new Map<string, [string, number][]>();
    for (const r of stock.rows) {
      const k = key(r.p, r.l);
      (stockBy.get(k) ?? stockBy.set(k, []).get(k)!).push([r.date, num(r.on_hand)]);
    }
    const headBy = new Map(head.rows.map((r) => [key(r.p, r.l), r]));
    for (const r of part) {
      const k = key(r.productId, r.locationId);
      const h = headBy.get(k);
      out.push(seriesArrays(L, startDay, !!h && num(h.earlier) === 1, salesBy.get(k) ?? [], h && h.carry !== null ? num(h.carry) : undefined, stockBy.get(k) ?? []));
    }
  }
  return out;
}

/** The SQLite fast path of readRange: prepared point/range statements on the primary keys. */
function readRangeSqlite(sqlite: BetterSqlite3.Database, refs: readonly { productId: number; locationId: number }[], from: string, to: string): RangeArrays[] {
  const startDay = dayNumber(from);
  const L = dayNumber(to) - startDay;
  const salesQ = sqlite.prepare('select date, quantity, unit_price, on_promo from sales where product_id = ? and location_id = ? and date >= ? and date < ?').raw(true);
  const earlierQ = sqlite.prepare('select 1 from sales where product_id = ? and location_id = ? and date < ? limit 1').raw(true);
  const carryQ = sqlite.prepare('select on_hand from stock_levels where product_id = ? and location_id = ? and date < ? order by date desc limit 1').raw(true);
  const stockQ = sqlite.prepare('select date, on_hand from stock_levels where product_id = ? and location_id = ? and date >= ? and date < ?').raw(true);
  return refs.map(({ productId: p, locationId: l }) => {
    const carry = carryQ.get(p, l, from) as [number] | undefined;
    return seriesArrays(
      L,
      startDay,
      !!earlierQ.get(p, l, from),
      salesQ.all(p, l, from, to) as [string, number, number | null, number][],
      carry ? carry[0] : undefined,
      stockQ.all(p, l, from, to) as [string, number][],
    );
  });
}

export async function loadHistory(db: DbOrQ, o: HistoryOptions): Promise<History> {
  const refs = await listSeries(db, o.only);
  const raw = await readRange(db, refs, addDays(o.asOf, -o.days), o.asOf);
  // Some series only: whether a day has rows at a location depends on its other series too, counted from the database.
  const counts = o.only ? await locationDayCounts(db, [...new Set(refs.map((r) => r.locationId))], o) : undefined;
  const closed = await closedDays(qOf(db), addDays(o.asOf, -o.days), o.asOf);
  const missingDays = unknownDays(refs, raw.map((r) => r.y), raw.map((r) => r.flags), o, counts, closed);
  return assemble(db, refs, raw, o, missingDays);
}

/** Per location: series with a row per day of the window, the first day any of its series is listed (an index). */
type LocationCounts = Map<number, { n: Int32Array; listed: number }>;

/**
 * LocationCounts of some locations from the sales table, for a history of some of their series (`only`): a scan
 * of the window's rows there (the whole history reads them from its own rows instead, at no cost).
 */
async function locationDayCounts(db: DbOrQ, locations: number[], o: { asOf: string; days: number }): Promise<LocationCounts> {
  const from = addDays(o.asOf, -o.days);
  const start = dayNumber(from);
  const out: LocationCounts = new Map();
  const q = qOf(db);
  for (const l of locations) {
    const c = { n: new Int32Array(o.days), listed: o.days };
    const rows = await q.selectFrom('sales').select(['date', (e) => e.fn.countAll().as('n')])
      .where('location_id', '=', l).where('date', '>=', from).where('date', '<', o.asOf).groupBy('date').execute();
    for (const r of rows) {
      const t = dayNumber(r.date) - start;
      c.n[t] = num(r.n);
      if (t < c.listed) c.listed = t;
    }
    const before = await q.selectFrom('sales').select('date').where('location_id', '=', l).where('date', '<', from).limit(1).executeTakeFirst();
    if (before) c.listed = 0;
    out.set(l, c);
  }
  return out;
}

/**
 * Marks as unknown (NaN) the days whose zero demand is a missing import rather
 * than a day without sales, in place, in the demand arrays `ys` (days
 * [asOf - days, asOf) of `refs`, with their day flags), and records on each ref
 * its first sales day and the start of its unknown trailing run (firstDay,
 * staleFrom, staleRate):
 * 1. every day without any sales row at the series' location, as
 *    `missingSalesRuns` defines it (the days `optiflow check` reports as
 *    missing-sales-days), for every series of the location, from its first sale;
 * 2. a series' trailing run of days without a sales row (explicit zero rows are
 *    real zeros) that ends at its location's last sales day, when the run is
 *    implausible for the series' own rate (implausibleZeroRun), shorter than a
 *    stop (STOP_MIN_DAYS: from two weeks on the zeros stand and the models judge
 *    the run as a stop, salesStop) and not a run the series showed before (its
 *    season: hasZeroRun). Only the days whose stock is unknown (before the series' first stock record) count: with
 *    stock on hand a day without a sale is a real zero (a dormant product), and
 *    a day out of stock is unknown already.
 * Everything comes from the day flags of the rows already read: one pass over
 * the window per series, no query; a history of some series only passes its
 * locations' counts (`given`, from the database).
 * Returns the runs of rule 1 per location id.
 */
export function unknownDays(refs: SeriesRef[], ys: (Float64Array | Float32Array)[], flags: Uint8Array[], o: { asOf: string; days: number }, given?: LocationCounts, closed: Map<number | null, Map<number, boolean>> = new Map()): Map<number, [number, number][]> {
  const end = dayNumber(o.asOf);
  const start = end - o.days;
  const T = o.days;
  // Per location: series with a row per day, and the first day any of its series is listed (from the series'
  // own flags when they are all of the location's series; `given` otherwise).
  const counts: LocationCounts = given ?? new Map();
  if (!given) refs.forEach((r, i) => {
    const f = flags[i];
    const c = counts.get(r.locationId) ?? counts.set(r.locationId, { n: new Int32Array(T), listed: T }).get(r.locationId)!;
    for (let t = 0; t < T; t++) {
      const v = f[t];
      if (v & DAY_ROW) c.n[t]++;
      if (v & DAY_LISTED && t < c.listed) c.listed = t;
    }
  });
  const missingDays = new Map<number, [number, number][]>();
  const locLast = new Map<number, number>();
  for (const [l, c] of counts) {
    // Through the day before the run date: days after the location's last row are sales not imported yet.
    const runs = missingSalesRuns(start, c.n, c.listed, T - 1, closedAt(closed, l));
    if (runs.missing.length) missingDays.set(l, runs.missing);
    locLast.set(l, runs.last);
  }
  const shutOf = new Map<number, Map<number, boolean> | undefined>();
  refs.forEach((r, i) => {
    const y = ys[i];
    const f = flags[i];
    // Days the location was shut (an event with planned_uplift -1): unknown demand, from the series' first sale.
    const shut = shutOf.get(r.locationId) ?? shutOf.set(r.locationId, closedAt(closed, r.locationId)).get(r.locationId);
    let first = -1;
    let last = -1;
    let stock = -1;
    for (let t = 0; t < T; t++) {
      const v = f[t];
      if (first < 0 && v & DAY_LISTED) first = t;
      if (v & DAY_ROW) last = t;
      if (stock < 0 && v & DAY_STOCK) stock = t;
    }
    r.firstDay = first < 0 ? NaN : start + first;
    r.stockKnown = stock >= 0;
    r.staleFrom = null;
    if (first < 0) return;
    for (const [a, b] of missingDays.get(r.locationId) ?? [])
      for (let t = Math.max(a - start, first); t <= Math.min(b - start, T - 1); t++) if (y[t] === 0) y[t] = NaN;
    if (shut) for (const [d, isShut] of shut) {
      const t = d - start;
      if (isShut && t >= first && t < T && y[t] === 0) y[t] = NaN;
    }
    const ll = locLast.get(r.locationId)! - start;
    if (last < 0 || !(last < ll)) return;
    // The series' rate over the known days of the 8 weeks before its run.
    const rate = rateBefore(y, last + 1);
    if (rate !== rate) return;
    // Days of the run with unknown stock (before the series' first stock record): on a day with stock on hand
    // (a record carried forward) a product on the shelf sold nothing, a real zero (a dormant product).
    const runEnd = Math.min(ll, stock >= 0 ? stock - 1 : T - 1);
    let zeros = 0;
    for (let t = last + 1; t <= runEnd; t++) if (y[t] === 0) zeros++;
    // A run as long as a stop is judged by the models as one (salesStop: no rows for weeks is a product that no
    // longer sells, not a late import of one product), and one the series showed before is its pattern (a season).
    if (!implausibleZeroRun(rate, zeros) || zeros >= STOP_MIN_DAYS || hasZeroRun(y, last + 1, zeros)) return;
    for (let t = last + 1; t <= runEnd; t++) if (y[t] === 0) y[t] = NaN;
    r.staleFrom = start + last + 1;
    r.staleTo = start + runEnd;
    r.staleRate = rate;
  });
  return missingDays;
}

/** Unknown days of a history by cause (each day counted once, in this order of precedence). */
export interface UnknownDayCounts {
  /** Days without any sales row at the location (missing-sales-days). */
  missingDays: number;
  /** Days of an implausible trailing run without a row (implausibleZeroRun). */
  staleDays: number;
  /** Stock-out days (end-of-day stock 0) from the series' first sale on. */
  stockoutDays: number;
}

/** Counts the unknown days of a history (or of a slice or filter of one) by cause; days before a series' first sale are not counted. */
export function unknownDayCounts(h: History): UnknownDayCounts {
  const out: UnknownDayCounts = { missingDays: 0, staleDays: 0, stockoutDays: 0 };
  h.series.forEach((s, i) => {
    const r = h.refs[i];
    const runs = h.missingDays.get(r.locationId) ?? [];
    const from = Math.max(0, (r.firstDay ?? h.startDay) - h.startDay);
    for (let t = from; t < h.T; t++) {
      if (s.y[t] === s.y[t]) continue;
      const d = h.startDay + t;
      if (runs.some(([a, b]) => d >= a && d <= b)) out.missingDays++;
      else if (r.staleFrom != null && d >= r.staleFrom && d <= r.staleTo!) out.staleDays++;
      else out.stockoutDays++;
    }
  });
  return out;
}

/**
 * The warnings a job that reads demand gives about unknown days of a missing import (unknownDays): one line per
 * rule with findings, naming the locations and their date ranges (at most 3 each), and the series (at most 10).
 */
export function unknownDayWarnings(h: History, job: string): string[] {
  const out: string[] = [];
  const locs = new Map<number, string>();
  for (const r of h.refs) locs.set(r.locationId, r.location);
  const parts: string[] = [];
  for (const [l, runs] of h.missingDays) {
    const code = locs.get(l);
    if (code === undefined) continue;
    const clipped = runs.map(([x, y]) => [Math.max(x, h.startDay), Math.min(y, h.startDay + h.T - 1)] as const).filter(([x, y]) => x <= y);
    if (!clipped.length) continue;
    const days = clipped.reduce((n, [x, y]) => n + y - x + 1, 0);
    const shown = clipped.slice(0, 3).map(([x, y]) => (x === y ? fromDayNumber(x) : `${fromDayNumber(x)}..${fromDayNumber(y)}`));
    parts.push(`${code}: ${days} day(s), ${shown.join(', ')}${clipped.length > 3 ? ` and ${clipped.length - 3} more range(s)` : ''}`);
  }
  if (parts.length)
    out.push(`${job}: no sales row at all for any product on these days, read as unknown demand for every series of the location: ${parts.join('; ')}; import the missing days' sales with \`optiflow import sales FILE.csv\`, or if the location was closed, record the closure as an event with planned_uplift -1 (\`optiflow import events FILE.csv\`)`);
  const stale = h.refs.filter((r) => r.staleFrom != null && r.staleFrom < h.startDay + h.T);
  if (stale.length) {
    const shown = stale.slice(0, 10).map((r) => `${r.sku}@${r.location} (no row since ${fromDayNumber(r.staleFrom!)}, sold ${(r.staleRate ?? 0).toFixed(2)}/day before)`);
    out.push(`${job}: ${stale.length} series without a sales row over their last days while their location has rows, too long for their selling rate to be chance, read as unknown demand: ${shown.join('; ')}${stale.length > 10 ? `; and ${stale.length - 10} more` : ''}; import their sales with \`optiflow import sales FILE.csv\`, or their stock with \`optiflow import stock FILE.csv\` if they were out of stock`);
  }
  return out;
}

/** Engine series from raw arrays: holidays and future promotions from `events`, relative log price. */
export async function assemble(db: DbOrQ, refs: SeriesRef[], raw: { y: Float64Array | Float32Array; flags: Uint8Array; price: Float64Array | Float32Array; floor?: Float64Array | Float32Array | null }[], o: HistoryOptions, missingDays: Map<number, [number, number][]>): Promise<History> {
  const end = dayNumber(o.asOf);
  const startDay = end - o.days;
  const T = o.days;
  const H = o.horizon;
  const from = addDays(o.asOf, -o.days);
  const promo: (Uint8Array | null)[] = raw.map((r) => {
    let any = false;
    for (let t = 0; t < T; t++) if (r.flags[t] & DAY_PROMO) {
      any = true;
      break;
    }
    if (!any) return null;
    const out = new Uint8Array(T + H);
    for (let t = 0; t < T; t++) out[t] = r.flags[t] & DAY_PROMO;
    return out;
  });
  // Events: holidays (global) for the regression calendar; promotions per product/category for the promo flag.
  const events = (
    await qOf(db)
      .selectFrom('events')
      .select(['name', 'kind', 'start_date', 'end_date', 'product_id', 'category', 'location_id'])
      .where('start_date', '<', addDays(o.asOf, H))
      .where('end_date', '>=', from)
      .orderBy('id')
      .execute()
  ).map((e) => ({ ...e, product_id: numOrNull(e.product_id), location_id: numOrNull(e.location_id) })) as { name: string; kind: string; start_date: string; end_date: string; product_id: number | null; category: string | null; location_id: number | null }[];
  const holidayNames: string[] = [];
  const holidays = new Map<number, number>();
  for (const e of events) {
    if (e.kind !== 'holiday' || e.product_id !== null || e.category !== null) continue;
    let h = holidayNames.indexOf(e.name);
    if (h < 0) h = holidayNames.push(e.name) - 1;
    for (let d = dayNumber(e.start_date); d <= dayNumber(e.end_date); d++) holidays.set(d, h);
  }
  const futurePromos = events.filter((e) => e.kind === 'promotion' && e.end_date >= o.asOf);
  // Planned promotions over the whole range: what a backtest at a past origin may know of the days after it.
  // Series that the same events name share one array (never written to after this): with promotions planned by
  // category, one array per category instead of one per series.
  const plannedOf = new Map<string, Uint8Array>();
  const planned: (Uint8Array | null)[] = refs.map((r) => {
    const named: number[] = [];
    events.forEach((e, k) => {
      if (e.kind === 'promotion' && (e.product_id === null || e.product_id === r.productId) && (e.category === null || e.category === r.category) && (e.location_id === null || e.location_id === r.locationId)) named.push(k);
    });
    if (!named.length) return null;
    const key = named.join(',');
    let out = plannedOf.get(key);
    if (out) return out;
    out = new Uint8Array(T + H);
    for (const e of named.map((k) => events[k]))
      for (let d = Math.max(dayNumber(e.start_date), startDay); d <= Math.min(dayNumber(e.end_date), end + H - 1); d++) out[d - startDay] = 1;
    plannedOf.set(key, out);
    return out;
  });
  // A day inside a promotion event is a promotion day whether or not anything sold: the flag of the sales rows
  // alone marks only the promotion days with a sale, and a model fitted on it learns "a sale happened" as the
  // promotion's effect (on slow movers, a uplift of several times) and then applies it to every planned day.
  planned.forEach((pl, i) => {
    if (!pl) return;
    const pr = (promo[i] ??= new Uint8Array(T + H));
    for (let t = 0; t < T; t++) if (pl[t]) pr[t] = 1;
  });
  refs.forEach((r, i) => {
    for (const e of futurePromos) {
      if (e.product_id !== null && e.product_id !== r.productId) continue;
      if (e.category !== null && e.category !== r.category) continue;
      if (e.location_id !== null && e.location_id !== r.locationId) continue;
      const pr = (promo[i] ??= new Uint8Array(T + H));
      for (let d = Math.max(dayNumber(e.start_date), end); d <= Math.min(dayNumber(e.end_date), end + H - 1); d++) pr[d - startDay] = 1;
    }
  });

  // The relative prices of all series in one buffer (a slot of T + H days each; a series without prices leaves
  // its slot unused): 30,000 small arrays that live as long as the history cost more memory than their values.
  const logPrices = new Float32Array(refs.length * (T + H));
  const series: EngineSeries[] = refs.map((r, i) => {
    const y = raw[i].y;
    return {
      id: seriesKey(r.productId, r.locationId),
      y,
      promo: promo[i],
      planned: planned[i],
      floor: raw[i].floor ?? null,
      logPrice: logRelativePrice(raw[i].price, promo[i], T, H, logPrices.subarray(i * (T + H), (i + 1) * (T + H))),
      group: r.category,
    };
  });
  return { startDay, T, H, refs, series, holidays, holidayNames, missingDays };
}

/**
 * log(price / median regular price), carried forward over days without sales and into the horizon at the last
 * regular price, written into `out` (T + H days); null without a regular price.
 */
function logRelativePrice(p: Float64Array | Float32Array, promo: Uint8Array | null, T: number, H: number, out: Float32Array): Float32Array | null {
  const regular: number[] = [];
  for (let t = 0; t < T; t++) if (p[t] === p[t] && !(promo && promo[t])) regular.push(p[t]);
  if (!regular.length) return null;
  const sorted = [...regular].sort((a, b) => a - b);
  const ref = sorted[Math.floor(sorted.length / 2)];
  let last = regular[0];
  let lastRegular = regular[0];
  for (let t = 0; t < T + H; t++) {
    if (t < T && p[t] === p[t]) {
      last = p[t];
      if (!(promo && promo[t])) lastRegular = p[t];
    } else if (t >= T) last = lastRegular;
    out[t] = Math.log(last / ref);
  }
  return out;
}

/** A view of the last `days` days (and `horizon` days of regressors) of a loaded history: no copy. */
export function sliceHistory(h: History, days: number, horizon: number): History {
  if (days > h.T || horizon > h.H) throw new Error(`history slice ${days}+${horizon} exceeds the loaded ${h.T}+${h.H} days`);
  const off = h.T - days;
  return {
    ...h,
    startDay: h.startDay + off,
    T: days,
    H: horizon,
    series: h.series.map((s) => ({
      ...s,
      y: s.y.subarray(off),
      promo: s.promo ? s.promo.subarray(off, off + days + horizon) : null,
      planned: s.planned ? s.planned.subarray(off, off + days + horizon) : null,
      floor: s.floor ? s.floor.subarray(off) : null,
      logPrice: s.logPrice ? s.logPrice.subarray(off, off + days + horizon) : null,
    })),
  };
}

const HISTORY_KEY = 'history:';

/**
 * The demand history for a job: read through the history cache file of the
 * state folder (config `historyCache`, on by default), and within a batch run
 * loaded once (the longest window any nightly job reads) and shared as slices.
 */
export async function historyFor(ctx: { db: Db; asOf: string; config: Config; cache?: Map<string, unknown>; log?: { debug: (m: string) => void; warn: (m: string) => void } }, days: number, horizon: number, o: { demandOnly?: boolean } = {}): Promise<History> {
  const demandOnly = !!o.demandOnly && !!ctx.config.historyCache;
  const load = (d: number, h: number) =>
    ctx.config.historyCache
      ? cachedHistory(ctx.db, { asOf: ctx.asOf, days: d, horizon: h, demandOnly }, join(stateDir(ctx.config), 'history-cache.bin'), { debug: (m) => ctx.log?.debug(m), warn: (m) => ctx.log?.warn(m) })
      : loadHistory(ctx.db, { asOf: ctx.asOf, days: d, horizon: h });
  if (!ctx.cache) return load(days, horizon);
  const fullDays = Math.max(days, ctx.config.train.historyDays, 400);
  const fullH = Math.max(horizon, ctx.config.horizon);
  const fullKey = `${HISTORY_KEY}${ctx.asOf}:${fullDays}:${fullH}`;
  const demandKey = `${HISTORY_KEY}demand:${ctx.asOf}:${fullDays}:${fullH}`;
  const key = demandOnly ? demandKey : fullKey;
  if (demandOnly && !ctx.cache.has(demandKey) && ctx.cache.has(fullKey)) {
    // The run holds the full history (predict read it): the demand-only readers after it share its demand
    // arrays (no second load), and the rest of it (prices, promotions, floors: most of its memory) is let go.
    // A later reader of the full history loads it again from the cache file.
    const full = ctx.cache.get(fullKey) as Promise<History>;
    ctx.cache.delete(fullKey);
    const derived = full.then(demandOf);
    ctx.cache.set(demandKey, derived);
    derived.catch(() => ctx.cache?.delete(demandKey));
  }
  // The promise is shared: jobs running side by side wait for one load.
  let h = ctx.cache.get(key) as Promise<History> | undefined;
  if (!h) {
    h = load(fullDays, fullH);
    ctx.cache.set(key, h);
    h.catch(() => ctx.cache?.delete(key));
  }
  return sliceHistory(await h, days, horizon);
}

/** A series with its demand alone (see HistoryOptions.demandOnly): the same demand array, no regressors or floors. */
export function demandOnlySeries(s: { id: string; y: EngineSeries['y']; group: string }): EngineSeries {
  return { id: s.id, y: s.y, promo: null, planned: null, floor: null, logPrice: null, group: s.group };
}

/** The demand-only form of a history (see HistoryOptions.demandOnly): the same demand arrays, nothing else. */
function demandOf(h: History): History {
  return { ...h, holidays: new Map(), holidayNames: [], series: h.series.map(demandOnlySeries) };
}

/** Removes the shared histories `historyFor` put in a batch run's cache (their last reader is done). */
export function dropHistory(cache: Map<string, unknown>): void {
  for (const k of [...cache.keys()]) if (k.startsWith(HISTORY_KEY)) cache.delete(k);
}

/** Only the series in `only` ("productId:locationId"). */
export function filterHistory(h: History, only: Set<string>): History {
  const keep = h.series.map((s, i) => (only.has(s.id) ? i : -1)).filter((i) => i >= 0);
  return { ...h, refs: keep.map((i) => h.refs[i]), series: keep.map((i) => h.series[i]) };
}
