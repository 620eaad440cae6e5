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
  // Point lookups on the sales primary key: no scan of the sales table.
  const rows = sqlite
    .prepare(
      `select p.id as productId, l.id as locationId, p.sku, l.code as location, coalesce(p.category, '') as category
       from products p cross join locations l
       where p.active = 1 and exists (select 1 from sales s where s.product_id = p.id and s.location_id = l.id)
       order by p.id, l.id`,
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
  const N = refs.length;
  const y: Float64Array[] = [];
  const promo: (Float64Array | null)[] = [];
  const price: (Float64Array | null)[] = [];
  let censoredDays = 0;
  // Per-series range queries on the primary keys (product, location, date).
  const salesQ = sqlite.prepare('select date, quantity, unit_price, on_promo from sales where product_id = ? and location_id = ? and date >= ? and date < ?').raw(true);
  const earlierQ = sqlite.prepare('select 1 from sales where product_id = ? and location_id = ? and date < ? limit 1').raw(true);
  const carryQ = sqlite.prepare('select on_hand from stock_levels where product_id = ? and location_id = ? and date < ? order by date desc limit 1').raw(true);
  const stockQ = sqlite.prepare('select date, on_hand from stock_levels where product_id = ? and location_id = ? and date >= ? and date < ?').raw(true);
  for (let i = 0; i < N; i++) {
    const { productId: p, locationId: l } = refs[i];
    const yi = new Float64Array(T).fill(NaN);
    let first = earlierQ.get(p, l, from) ? 0 : T;
    let pr: Float64Array | null = null;
    let px: Float64Array | null = null;
    for (const [d, q, up, promoFlag] of salesQ.all(p, l, from, o.asOf) as [string, number, number | null, number][]) {
      const t = dayNumber(d) - startDay;
      yi[t] = q;
      if (t < first) first = t;
      if (promoFlag) (pr ??= new Float64Array(T + H))[t] = 1;
      if (up !== null && up > 0) (px ??= new Float64Array(T + H).fill(NaN))[t] = up;
    }
    for (let t = first; t < T; t++) if (yi[t] !== yi[t]) yi[t] = 0;
    // Censoring: end-of-day stock 0 (rows are written when stock changes: carry forward).
    const carry = carryQ.get(p, l, from) as [number] | undefined;
    let lastT = 0;
    let lastV = carry ? carry[0] : NaN;
    const censor = (to: number) => {
      if (lastV === 0) for (let u = lastT; u < to; u++) if (yi[u] === yi[u]) {
        yi[u] = NaN;
        censoredDays++;
      }
    };
    for (const [d, v] of stockQ.all(p, l, from, o.asOf) as [string, number][]) {
      const t = dayNumber(d) - startDay;
      censor(t);
      lastT = t;
      lastV = v;
    }
    censor(T);
    y.push(yi);
    promo.push(pr);
    price.push(px);
  }

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
