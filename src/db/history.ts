/**
 * Loads demand history for the engine, reading only data dated before "today".
 *
 * Demand, not sales: a day whose end-of-day stock is 0 is censored (the shelf
 * was empty, demand was at least the sales): it becomes NaN, unknown, so no
 * model learns a stock-out as low demand. Days with stock and no sales row are
 * zero demand. Days before a series' first sale are unknown (not yet listed).
 */
import type BetterSqlite3 from 'better-sqlite3';
import { addDays, dayNumber } from '../dates.js';
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
  const rows = sqlite
    .prepare(
      `select p.id as productId, l.id as locationId, p.sku, l.code as location, coalesce(p.category, '') as category
       from (select distinct product_id, location_id from sales) s
       join products p on p.id = s.product_id join locations l on l.id = s.location_id
       where p.active = 1 order by p.id, l.id`,
    )
    .all() as SeriesRef[];
  return only ? rows.filter((r) => only.has(seriesKey(r.productId, r.locationId))) : rows;
}

export function loadHistory(sqlite: BetterSqlite3.Database, o: HistoryOptions): History {
  const end = dayNumber(o.asOf); // first day NOT in history
  const startDay = end - o.days;
  const T = o.days;
  const H = o.horizon;
  const from = addDays(o.asOf, -o.days);
  const refs = listSeries(sqlite, o.only);
  const index = new Map<string, number>();
  refs.forEach((r, i) => index.set(seriesKey(r.productId, r.locationId), i));
  const N = refs.length;
  const y: Float64Array[] = refs.map(() => new Float64Array(T).fill(NaN));
  const firstSale = new Int32Array(N).fill(T);
  const promo: (Float64Array | null)[] = refs.map(() => null);
  const price: (Float64Array | null)[] = refs.map(() => null);

  const salesStmt = sqlite.prepare('select product_id, location_id, date, quantity, unit_price, on_promo from sales where date >= ? and date < ?').raw(true);
  for (const row of salesStmt.iterate(from, o.asOf) as Iterable<[number, number, string, number, number | null, number]>) {
    const i = index.get(seriesKey(row[0], row[1]));
    if (i === undefined) continue;
    const t = dayNumber(row[2]) - startDay;
    y[i][t] = row[3];
    if (t < firstSale[i]) firstSale[i] = t;
    if (row[5]) (promo[i] ??= new Float64Array(T + H))[t] = 1;
    if (row[4] !== null && row[4] > 0) (price[i] ??= new Float64Array(T + H).fill(NaN))[t] = row[4];
  }
  // Series whose first sale is before the window: known from day 0.
  const before = sqlite.prepare('select product_id, location_id from sales where date < ? group by product_id, location_id').raw(true);
  for (const [p, l] of before.iterate(from) as Iterable<[number, number]>) {
    const i = index.get(seriesKey(p, l));
    if (i !== undefined) firstSale[i] = 0;
  }
  for (let i = 0; i < N; i++) for (let t = firstSale[i]; t < T; t++) if (Number.isNaN(y[i][t])) y[i][t] = 0;

  // Censoring from end-of-day stock (rows are written when stock changes: carry forward).
  let censoredDays = 0;
  const stockStmt = sqlite
    .prepare(
      // Primary-key order: no sort. Rows before the window only set the state at its start.
      `select product_id, location_id, date, on_hand from stock_levels where date < ? order by product_id, location_id, date`,
    )
    .raw(true);
  let cur = -1;
  let lastT = 0;
  let lastV = NaN;
  const flush = () => {
    if (cur < 0) return;
    if (lastV === 0) for (let t = Math.max(lastT, 0); t < T; t++) if (y[cur][t] === y[cur][t]) {
      y[cur][t] = NaN;
      censoredDays++;
    }
  };
  let curKey = '';
  for (const [p, l, d, v] of stockStmt.iterate(o.asOf) as Iterable<[number, number, string, number]>) {
    const key = seriesKey(p, l);
    if (key !== curKey) {
      flush();
      curKey = key;
      cur = index.get(key) ?? -1;
      lastV = NaN;
    }
    if (cur < 0) continue;
    const t = Math.max(0, dayNumber(d) - startDay);
    if (lastV === 0) for (let u = Math.max(lastT, 0); u < t; u++) if (y[cur][u] === y[cur][u]) {
      y[cur][u] = NaN;
      censoredDays++;
    }
    lastT = t;
    lastV = v;
  }
  flush();

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
      const pr = (promo[i] ??= new Float64Array(T + H));
      for (let d = Math.max(dayNumber(e.start_date), end); d <= Math.min(dayNumber(e.end_date), end + H - 1); d++) pr[d - startDay] = 1;
    }
  });

  const series: EngineSeries[] = refs.map((r, i) => ({
    id: seriesKey(r.productId, r.locationId),
    y: y[i],
    promo: promo[i],
    logPrice: price[i] ? logRelativePrice(price[i]!, promo[i], T) : null,
    group: r.category,
  }));
  return { startDay, T, H, refs, series, holidays, holidayNames, censoredDays };
}

/** log(price / median regular price), carried forward over days without sales and into the horizon at the last regular price. */
function logRelativePrice(p: Float64Array, promo: Float64Array | null, T: number): Float64Array {
  const regular: number[] = [];
  for (let t = 0; t < T; t++) if (p[t] === p[t] && !(promo && promo[t])) regular.push(p[t]);
  if (!regular.length) return new Float64Array(p.length);
  const sorted = [...regular].sort((a, b) => a - b);
  const ref = sorted[Math.floor(sorted.length / 2)];
  const out = new Float64Array(p.length);
  let last = regular[0];
  let lastRegular = regular[0];
  for (let t = 0; t < p.length; t++) {
    if (t < T && p[t] === p[t]) {
      last = p[t];
      if (!(promo && promo[t])) lastRegular = p[t];
    } else if (t >= T) last = lastRegular;
    out[t] = Math.log(last / ref);
  }
  return out;
}
