/**
 * Loads demand history for the engine, reading only data dated before "today".
 *
 * Demand, not sales: a day whose end-of-day stock is 0 is censored (the shelf
 * was empty, demand was at least the sales): it becomes NaN, unknown, so no
 * model learns a stock-out as low demand. Days with stock and no sales row are
 * zero demand. Days before a series' first sale are unknown (not yet listed).
 */
import type BetterSqlite3 from 'better-sqlite3';
import { join } from 'node:path';
import { addDays, dayNumber } from '../dates.js';
import { stateDir, type Config } from '../config.js';
import { cachedHistory } from './history-cache.js';
import type { EngineSeries } from '../ml/engine.js';

export interface SeriesRef {
  productId: number;
  locationId: number;
  sku: string;
  location: string;
  category: string;
}

export interface History {
  startDay: number;
  T: number;
  H: number;
  refs: SeriesRef[];
  series: EngineSeries[];
  holidays: Map<number, number>;
  holidayNames: string[];
  censoredDays: number;
}

export interface HistoryOptions {
  asOf: string;
  days: number;
  horizon: number;
  /** Restrict to these series ("productId:locationId"). */
  only?: Set<string>;
}

export function seriesKey(productId: number, locationId: number): string {
  return `${productId}:${locationId}`;
}

export function listSeries(sqlite: BetterSqlite3.Database, only?: Set<string>): SeriesRef[] {
  // Point lookups on the sales primary key: no scan of the sales table.
  const rows = sqlite
    .prepare(
      `select p.id as productId, l.id as locationId, p.sku, l.code as location, coalesce(p.category, '') as category
       from products p cross join locations l
       where p.active = 1 and (exists (select 1 from sales s where s.product_id = p.id and s.location_id = l.id)
         -- a new product with a like_sku is forecast from the day that product sells at the location
         or (p.like_sku is not null and exists (select 1 from products q join sales s on s.product_id = q.id where q.sku = p.like_sku and s.location_id = l.id)))
       order by p.id, l.id`,
    )
    .all() as SeriesRef[];
  return only ? rows.filter((r) => only.has(seriesKey(r.productId, r.locationId))) : rows;
}

/** Raw daily arrays of one series over a range of days. */
export interface RangeArrays {
  /** Demand per day: sales, 0 on days with stock and no sale, NaN when unknown (stock-out, not yet sold). */
  y: Float64Array;
  promo: Uint8Array;
  /** Shelf price of the day's sales, NaN without sales. */
  price: Float64Array;
  /** End-of-day stock on the last day of the range (NaN when no stock record yet). */
  lastStock: number;
  /** A sale on or before the last day of the range. */
  hasSale: boolean;
}

/**
 * Reads days [from, to) of the given series with per-series range queries on
 * the primary keys (product, location, date), applying the censoring rule.
 */
export function readRange(sqlite: BetterSqlite3.Database, refs: { productId: number; locationId: number }[], from: string, to: string): RangeArrays[] {
  const startDay = dayNumber(from);
  const L = dayNumber(to) - startDay;
  const salesQ = sqlite.prepare('select date, quantity, unit_price, on_promo from sales where product_id = ? and location_id = ? and date >= ? and date < ?').raw(true);
  const earlierQ = sqlite.prepare('select 1 from sales where product_id = ? and location_id = ? and date < ? limit 1').raw(true);
  const carryQ = sqlite.prepare('select on_hand from stock_levels where product_id = ? and location_id = ? and date < ? order by date desc limit 1').raw(true);
  const stockQ = sqlite.prepare('select date, on_hand from stock_levels where product_id = ? and location_id = ? and date >= ? and date < ?').raw(true);
  return refs.map(({ productId: p, locationId: l }) => {
    const y = new Float64Array(L).fill(NaN);
    const promo = new Uint8Array(L);
    const price = new Float64Array(L).fill(NaN);
    let first = earlierQ.get(p, l, from) ? 0 : L;
    for (const [d, q, up, promoFlag] of salesQ.all(p, l, from, to) as [string, number, number | null, number][]) {
      const t = dayNumber(d) - startDay;
      y[t] = q;
      if (t < first) first = t;
      if (promoFlag) promo[t] = 1;
      if (up !== null && up > 0) price[t] = up;
    }
    for (let t = first; t < L; t++) if (y[t] !== y[t]) y[t] = 0;
    // Censoring: end-of-day stock 0 (rows are written when stock changes: carry forward).
    const carry = carryQ.get(p, l, from) as [number] | undefined;
    let lastT = 0;
    let lastV = carry ? carry[0] : NaN;
    const censor = (until: number) => {
      if (lastV === 0) for (let u = lastT; u < until; u++) y[u] = NaN;
    };
    for (const [d, v] of stockQ.all(p, l, from, to) as [string, number][]) {
      const t = dayNumber(d) - startDay;
      censor(t);
      lastT = t;
      lastV = v;
    }
    censor(L);
    return { y, promo, price, lastStock: lastV, hasSale: first < L };
  });
}

export function loadHistory(sqlite: BetterSqlite3.Database, o: HistoryOptions): History {
  const refs = listSeries(sqlite, o.only);
  const raw = readRange(sqlite, refs, addDays(o.asOf, -o.days), o.asOf);
  return assemble(sqlite, refs, raw, o);
}

/** Engine series from raw arrays: holidays and future promotions from `events`, relative log price. */
export function assemble(sqlite: BetterSqlite3.Database, refs: SeriesRef[], raw: { y: Float64Array | Float32Array; promo: Uint8Array; price: Float64Array | Float32Array }[], o: HistoryOptions): History {
  const end = dayNumber(o.asOf);
  const startDay = end - o.days;
  const T = o.days;
  const H = o.horizon;
  const from = addDays(o.asOf, -o.days);
  let censoredDays = 0;
  const promo: (Uint8Array | null)[] = raw.map((r) => {
    let any = false;
    for (let t = 0; t < T; t++) if (r.promo[t]) {
      any = true;
      break;
    }
    if (!any) return null;
    const out = new Uint8Array(T + H);
    out.set(r.promo.subarray(0, T));
    return out;
  });
  // Events: holidays (global) for the regression calendar; promotions per product/category for the promo flag.
  const events = sqlite
    .prepare(`select e.name, e.kind, e.start_date, e.end_date, e.product_id, e.category, e.location_id from events e where e.start_date < ? and e.end_date >= ?`)
    .all(addDays(o.asOf, H), from) as { name: string; kind: string; start_date: string; end_date: string; product_id: number | null; category: string | null; location_id: number | null }[];
  const holidayNames: string[] = [];
  const holidays = new Map<number, number>();
  for (const e of events) {
    if (e.kind !== 'holiday' || e.product_id !== null || e.category !== null) continue;
    let h = holidayNames.indexOf(e.name);
    if (h < 0) h = holidayNames.push(e.name) - 1;
    for (let d = dayNumber(e.start_date); d <= dayNumber(e.end_date); d++) holidays.set(d, h);
  }
  const futurePromos = events.filter((e) => e.kind === 'promotion' && e.end_date >= o.asOf);
  refs.forEach((r, i) => {
    for (const e of futurePromos) {
      if (e.product_id !== null && e.product_id !== r.productId) continue;
      if (e.category !== null && e.category !== r.category) continue;
      if (e.location_id !== null && e.location_id !== r.locationId) continue;
      const pr = (promo[i] ??= new Uint8Array(T + H));
      for (let d = Math.max(dayNumber(e.start_date), end); d <= Math.min(dayNumber(e.end_date), end + H - 1); d++) pr[d - startDay] = 1;
    }
  });

  const series: EngineSeries[] = refs.map((r, i) => {
    const y = raw[i].y;
    for (let t = 0; t < T; t++) if (y[t] !== y[t]) censoredDays++;
    return {
      id: seriesKey(r.productId, r.locationId),
      y,
      promo: promo[i],
      logPrice: logRelativePrice(raw[i].price, promo[i], T, H),
      group: r.category,
    };
  });
  return { startDay, T, H, refs, series, holidays, holidayNames, censoredDays };
}

/** log(price / median regular price), carried forward over days without sales and into the horizon at the last regular price. */
function logRelativePrice(p: Float64Array | Float32Array, promo: Uint8Array | null, T: number, H: number): Float32Array | null {
  const regular: number[] = [];
  for (let t = 0; t < T; t++) if (p[t] === p[t] && !(promo && promo[t])) regular.push(p[t]);
  if (!regular.length) return null;
  const sorted = [...regular].sort((a, b) => a - b);
  const ref = sorted[Math.floor(sorted.length / 2)];
  const out = new Float32Array(T + H);
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
      logPrice: s.logPrice ? s.logPrice.subarray(off, off + days + horizon) : null,
    })),
  };
}

/**
 * The demand history for a job: read through the history cache file of the
 * state folder (config `historyCache`, on by default), and within a batch run
 * loaded once (the longest window any nightly job reads) and shared as slices.
 */
export function historyFor(ctx: { sqlite: BetterSqlite3.Database; asOf: string; config: Config; cache?: Map<string, unknown>; log?: { debug: (m: string) => void; warn: (m: string) => void } }, days: number, horizon: number): History {
  const load = (d: number, h: number) =>
    ctx.config.historyCache
      ? cachedHistory(ctx.sqlite, { asOf: ctx.asOf, days: d, horizon: h }, join(stateDir(ctx.config), 'history-cache.bin'), { debug: (m) => ctx.log?.debug(m), warn: (m) => ctx.log?.warn(m) })
      : loadHistory(ctx.sqlite, { asOf: ctx.asOf, days: d, horizon: h });
  if (!ctx.cache) return load(days, horizon);
  const fullDays = Math.max(days, ctx.config.train.historyDays, 400);
  const fullH = Math.max(horizon, ctx.config.horizon);
  const key = `history:${ctx.asOf}:${fullDays}:${fullH}`;
  let h = ctx.cache.get(key) as History | undefined;
  if (!h) {
    h = load(fullDays, fullH);
    ctx.cache.set(key, h);
  }
  return sliceHistory(h, days, horizon);
}

/** Only the series in `only` ("productId:locationId"). */
export function filterHistory(h: History, only: Set<string>): History {
  const keep = h.series.map((s, i) => (only.has(s.id) ? i : -1)).filter((i) => i >= 0);
  return { ...h, refs: keep.map((i) => h.refs[i]), series: keep.map((i) => h.series[i]) };
}
