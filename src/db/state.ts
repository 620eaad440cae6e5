/**
 * The current state of each series for alerts, suggest and optimize: stock on
 * hand, open orders by arrival day, today's forecast, supplier terms, the
 * active model's backtest errors and the inventory policy. A job reading many
 * series loads them all first (`StateReader.preload`: one query per table, or
 * per chunk of series), then reads each series from memory; one series
 * (`StateReader.readOne`) costs a handful of point queries.
 */
import { sql } from 'kysely';
import { addDays, dayNumber, daysBetween } from '../dates.js';
import { modelsInForce, openOrdersOn, stockOn, STOCK_BEFORE_SQL, type StockTable } from './snapshot.js';
import { chunks, fastSqlite, qOf, seriesSpan, seriesValues, type DbOrQ, type SeriesId } from './handle.js';
import { num, numOrNull } from './query.js';
import { supplierReceiptStats } from './lead-times.js';
import { planningLeadTime, type ReceiptStats } from '../inventory/lead-times.js';
import { parseReviewDays } from '../inventory/review.js';

export interface SupplierTerms {
  supplierId: number;
  code: string;
  name: string;
  leadTimeDays: number;
  leadTimeSdDays: number;
  orderCost: number;
  packSize: number;
  moq: number;
  unitCost: number;
  priceBreaks: { minQty: number; unitCost: number }[];
  /** Weekdays the supplier takes orders (0 = Monday); null = every day. */
  reviewDays: number[] | null;
  /** The order cost shared by the supplier's products ordered together: order cost / products (currency per line). */
  lineOrderCost: number;
  /** Smallest order value the supplier accepts (currency); 0 = none. */
  minOrderValue: number;
  /** Where the lead time comes from: the supplier's stated terms or its receipts. */
  leadTimeSource: 'stated' | 'receipts';
  statedLeadTimeDays: number;
  receipts: number;
}

export interface SeriesState extends ProductRef {
  /** Stock at the end of the day before the run date (0 when unknown: see stockKnown). */
  onHand: number;
  stockDate: string | null;
  /** False when the series has no stock row before the run date: its stock is unknown, not zero. */
  stockKnown: boolean;
  /** Open order quantities by arrival day (0 = today; overdue orders count today). */
  receipts: Float64Array;
  openOrders: { id: number; quantity: number; expectedOn: string }[];
  yhat: Float64Array;
  hi: Float64Array;
  lo: Float64Array;
  supplier: SupplierTerms | null;
  errorRuns: (number | null)[][];
  errorLo?: number;
  errorHi?: number;
  /** Level of the interval errorLo/errorHi come from (0.8 in models stored before it was recorded). */
  errorLevel?: number;
  carriesEvents: string[];
  policy: { reorderPoint: number; orderUpTo: number; serviceLevel: number; safetyStock: number; abc: string; xyz: string } | null;
}

interface SupplierRow { id: number; code: string; name: string; lead_time_days: number; lead_time_sd_days: number; order_cost: number; pack_size: number; min_order_qty: number; unit_cost: number; review_days: string | null; min_order_value: number | null; n_products: number }
interface PolicyRow { reorder_point: number; order_up_to: number; service_level: number; safety_stock: number; abc: string; xyz: string }

function toSupplier(s: SupplierRow, priceBreaks: { minQty: number; unitCost: number }[], receipts?: ReceiptStats): SupplierTerms {
  // Learned from receipts once there are enough of them (rule in src/inventory/lead-times.ts).
  const lt = planningLeadTime({ leadTimeDays: s.lead_time_days, leadTimeSdDays: s.lead_time_sd_days }, receipts);
  return {
    supplierId: s.id, code: s.code, name: s.name, leadTimeDays: lt.leadTimeDays, leadTimeSdDays: lt.leadTimeSdDays, orderCost: s.order_cost ?? 0,
    packSize: s.pack_size || 1, moq: s.min_order_qty, unitCost: s.unit_cost, priceBreaks,
    reviewDays: parseReviewDays(s.review_days), lineOrderCost: (s.order_cost ?? 0) / Math.max(1, s.n_products), minOrderValue: s.min_order_value ?? 0, leadTimeSource: lt.source, statedLeadTimeDays: s.lead_time_days, receipts: lt.receipts,
  };
}

function toPolicy(p: PolicyRow): NonNullable<SeriesState['policy']> {
  return { reorderPoint: p.reorder_point, orderUpTo: p.order_up_to, serviceLevel: p.service_level, safetyStock: p.safety_stock, abc: p.abc, xyz: p.xyz };
}

type Params = { backtest_errors?: (number | null)[][]; interval?: { error_lo: number; error_hi: number; level?: number }; carries_events?: string[] };
type Policy = NonNullable<SeriesState['policy']>;

/** What `preload` reads once for every series. */
interface Common {
  orders: Map<string, { id: number; quantity: number; expectedOn: string }[]>;
  suppliers: Map<number, SupplierTerms>;
  policies: Map<string, Policy>;
}

interface Preloaded extends Common {
  /** The model in force's parameters as stored (JSON), parsed when the series is read: the backtest error runs of every series parsed at once were the largest thing a night held. */
  params: Map<string, string>;
  stock: StockTable;
  forecasts: (p: number, l: number) => ForecastRows | undefined;
}

type ForecastRows = [string, number, number, number][];

const SUPPLIER_COLS = sql`s.id, s.code, coalesce(s.name, s.code) as name, s.lead_time_days, s.lead_time_sd_days, s.order_cost, sp.pack_size, sp.min_order_qty, coalesce(sp.unit_cost, p.unit_cost) as unit_cost, s.review_days, s.min_order_value,
         (select count(*) from supplier_products x where x.supplier_id = s.id) as n_products`;

function supplierRow<T extends SupplierRow>(r: T): T {
  return {
    ...r, id: num(r.id), lead_time_days: num(r.lead_time_days), lead_time_sd_days: num(r.lead_time_sd_days), order_cost: num(r.order_cost), pack_size: num(r.pack_size),
    min_order_qty: num(r.min_order_qty), unit_cost: num(r.unit_cost), min_order_value: numOrNull(r.min_order_value), n_products: num(r.n_products),
  };
}

function policyRow(p: Record<string, unknown>): PolicyRow {
  return { reorder_point: num(p.reorder_point), order_up_to: num(p.order_up_to), service_level: num(p.service_level), safety_stock: num(p.safety_stock), abc: p.abc as string, xyz: p.xyz as string };
}

/** Forecast rows (date, yhat, lo, hi) of one run for the given series. SQLite: a primary-key range per series; PostgreSQL: one query per chunk. */
async function forecastsOf(db: DbOrQ, runDate: string, series: readonly SeriesId[]): Promise<Map<string, ForecastRows>> {
  const out = new Map<string, ForecastRows>();
  const sqlite = fastSqlite(db);
  if (sqlite) {
    const q = sqlite.prepare('select date, yhat, yhat_lo, yhat_hi from forecasts where product_id = ? and location_id = ? and run_date = ?').raw(true);
    for (const { productId: p, locationId: l } of series) out.set(`${p}:${l}`, q.all(p, l, runDate) as ForecastRows);
    return out;
  }
  for (const r of series) out.set(`${r.productId}:${r.locationId}`, []);
  for (const part of chunks(series, 2000)) {
    const r = await sql<{ p: number; l: number; date: string; yhat: number; yhat_lo: number; yhat_hi: number }>`with ${seriesValues(part)}
      select f.product_id as p, f.location_id as l, f.date, f.yhat, f.yhat_lo, f.yhat_hi from forecasts f join v on f.product_id = v.p and f.location_id = v.l
      where f.run_date = ${runDate} and ${seriesSpan(part, 'f')} order by f.product_id, f.location_id, f.date`.execute(qOf(db));
    for (const x of r.rows) {
      const k = `${num(x.p)}:${num(x.l)}`;
      (out.get(k) ?? out.set(k, []).get(k)!).push([x.date, num(x.yhat), num(x.yhat_lo), num(x.yhat_hi)]);
    }
  }
  return out;
}

export class StateReader {
  private pre: Preloaded | null = null;
  private common: Common | null = null;
  constructor(private db: DbOrQ, readonly asOf: string, readonly runDate: string = asOf) {}

  /**
   * Reads every series' open orders, supplier terms and policies in one pass
   * each (on the first call), and the model parameters, stock and forecasts of
   * `series` (on PostgreSQL in one query per chunk; on SQLite stock and
   * forecasts stay primary-key reads made by `read`, so nothing more is held in
   * memory), for jobs that read many series (alerts, optimize); then `read` is
   * synchronous for those series. A job may preload its series a part at a
   * time (ascending product ids keep each part's model read to its products):
   * each call replaces the previous part.
   */
  async preload(series: readonly SeriesId[]): Promise<this> {
    const common = (this.common ??= await this.loadCommon());
    const params = new Map<string, string>();
    if (series.length) {
      let from = Infinity;
      let to = -Infinity;
      for (const r of series) {
        from = Math.min(from, r.productId);
        to = Math.max(to, r.productId);
      }
      for (const m of await modelsInForce(this.db, this.asOf, { from, to })) params.set(`${m.productId}:${m.locationId}`, m.params);
    }
    this.pre = null; // the previous part is garbage while this one loads
    const sqlite = fastSqlite(this.db);
    let stock: StockTable;
    let forecasts: Preloaded['forecasts'];
    if (sqlite) {
      // SQLite: each series' stock and forecast rows are read when the series is (primary-key reads, nothing held in memory).
      const st = sqlite.prepare(STOCK_BEFORE_SQL);
      const fq = sqlite.prepare('select date, yhat, yhat_lo, yhat_hi from forecasts where product_id = ? and location_id = ? and run_date = ?').raw(true);
      stock = (p, l) => {
        const r = st.get(p, l, this.asOf) as { on_hand: number; date: string } | undefined;
        return r ? { onHand: r.on_hand, date: r.date } : undefined;
      };
      forecasts = (p, l) => fq.all(p, l, this.runDate) as ForecastRows;
    } else {
      stock = await stockOn(this.db, this.asOf, series);
      const m = await forecastsOf(this.db, this.runDate, series);
      forecasts = (p, l) => m.get(`${p}:${l}`);
    }
    this.pre = { ...common, params, stock, forecasts };
    return this;
  }

  private async loadCommon(): Promise<Common> {
    const q = qOf(this.db);
    const k = (p: number, l: number) => `${p}:${l}`;
    const orders = new Map<string, { id: number; quantity: number; expectedOn: string }[]>();
    for (const o of await openOrdersOn(this.db, this.asOf)) {
      const key = k(o.productId, o.locationId);
      (orders.get(key) ?? orders.set(key, []).get(key)!).push({ id: o.id, quantity: o.quantity, expectedOn: o.expectedOn });
    }
    const receipts = await supplierReceiptStats(this.db, this.asOf);
    const suppliers = new Map<number, SupplierTerms>();
    const breaks = new Map<string, { minQty: number; unitCost: number }[]>();
    for (const b of await q.selectFrom('price_breaks').select(['supplier_id', 'product_id', 'min_qty', 'unit_cost']).orderBy('min_qty').execute()) {
      const key = k(num(b.supplier_id), num(b.product_id));
      (breaks.get(key) ?? breaks.set(key, []).get(key)!).push({ minQty: num(b.min_qty), unitCost: num(b.unit_cost) });
    }
    const sup = await sql<SupplierRow & { product_id: number }>`select sp.product_id, ${SUPPLIER_COLS}
         from supplier_products sp join suppliers s on s.id = sp.supplier_id join products p on p.id = sp.product_id
         order by sp.product_id, sp.is_primary desc, s.lead_time_days`.execute(q);
    for (const raw of sup.rows) {
      const s = supplierRow(raw);
      const pid = num(raw.product_id);
      // The same choice as the single-series query: primary first, then the shortest lead time.
      if (!suppliers.has(pid)) suppliers.set(pid, toSupplier(s, breaks.get(k(s.id, pid)) ?? [], receipts.get(s.id)));
    }
    const policies = new Map<string, Policy>();
    for (const p of await q.selectFrom('inventory_policies').selectAll().execute())
      policies.set(k(num(p.product_id), num(p.location_id)), toPolicy(policyRow(p as unknown as Record<string, unknown>)));
    return { orders, suppliers, policies };
  }

  /** Supplier terms of a product (its primary supplier, else the shortest lead time), without reading any series' state: what top-urgent needs. */
  async supplierOf(productId: number): Promise<SupplierTerms | null> {
    const common = (this.common ??= await this.loadCommon());
    return common.suppliers.get(productId) ?? null;
  }

  /** One series' state, read with point queries (no preload): what `suggest` and the report read. */
  async readOne(ref: ProductRef): Promise<SeriesState> {
    const q = qOf(this.db);
    const { productId: p, locationId: l } = ref;
    const key = `${p}:${l}`;
    const orders = (await openOrdersOn(this.db, this.asOf, ref)).map((o) => ({ id: o.id, quantity: o.quantity, expectedOn: o.expectedOn }));
    const sr = (
      await sql<SupplierRow>`select ${SUPPLIER_COLS}
         from supplier_products sp join suppliers s on s.id = sp.supplier_id join products p on p.id = sp.product_id
         where sp.product_id = ${p} order by sp.is_primary desc, s.lead_time_days limit 1`.execute(q)
    ).rows[0];
    let supplier: SupplierTerms | null = null;
    if (sr) {
      const s = supplierRow(sr);
      const br = await q.selectFrom('price_breaks').select(['min_qty', 'unit_cost']).where('supplier_id', '=', s.id).where('product_id', '=', p).orderBy('min_qty').execute();
      const receipts = await supplierReceiptStats(this.db, this.asOf, s.id);
      supplier = toSupplier(s, br.map((b) => ({ minQty: num(b.min_qty), unitCost: num(b.unit_cost) })), receipts.get(s.id));
    }
    const models = await modelsInForce(this.db, this.asOf, ref);
    const params: Params = models.length ? (JSON.parse(models[models.length - 1].params) as Params) : {};
    const pol = await q.selectFrom('inventory_policies').selectAll().where('product_id', '=', p).where('location_id', '=', l).executeTakeFirst();
    const stock = await stockOn(this.db, this.asOf, [ref]);
    const forecasts = await forecastsOf(this.db, this.runDate, [ref]);
    return this.build(ref, stock(p, l), forecasts.get(key) ?? [], orders, supplier, params, pol ? toPolicy(policyRow(pol as unknown as Record<string, unknown>)) : null);
  }

  /** Today's part of the run's forecast rows, by day from today. */
  private forecastArrays(rows: ForecastRows): { yhat: Float64Array; lo: Float64Array; hi: Float64Array } {
    const base = dayNumber(this.runDate);
    const offset = daysBetween(this.runDate, this.asOf);
    const n = Math.max(0, rows.length - offset);
    const f = { yhat: new Float64Array(n), lo: new Float64Array(n), hi: new Float64Array(n) };
    for (const [d, y, lo, hi] of rows) {
      const i = dayNumber(d) - base - offset;
      if (i < 0 || i >= n) continue;
      f.yhat[i] = y;
      f.lo[i] = lo;
      f.hi[i] = hi;
    }
    return f;
  }

  /** A preloaded series' state (call `preload` with the series first). */
  read(ref: ProductRef): SeriesState {
    const pre = this.pre;
    if (!pre) throw new Error('StateReader.read before preload: call preload(series) or readOne(series)');
    const { productId: p, locationId: l } = ref;
    const key = `${p}:${l}`;
    const rows = pre.forecasts(p, l);
    if (!rows) throw new Error(`StateReader.read: series ${key} was not preloaded`);
    const params = pre.params.get(key);
    return this.build(ref, pre.stock(p, l), rows, pre.orders.get(key) ?? [], pre.suppliers.get(p) ?? null, params ? (JSON.parse(params) as Params) : {}, pre.policies.get(key) ?? null);
  }

  private build(
    ref: ProductRef,
    st: { onHand: number; date: string } | undefined,
    forecastRows: ForecastRows,
    openOrders: { id: number; quantity: number; expectedOn: string }[],
    supplier: SupplierTerms | null,
    params: Params,
    policy: Policy | null,
  ): SeriesState {
    const { yhat, lo, hi } = this.forecastArrays(forecastRows);
    const n = yhat.length;
    // Receipts by day: the forecast horizon, or further when an open order arrives later.
    let last = n;
    for (const o of openOrders) last = Math.max(last, daysBetween(this.asOf, o.expectedOn) + 1);
    const receipts = new Float64Array(Math.max(last, 1));
    for (const o of openOrders) receipts[Math.max(0, daysBetween(this.asOf, o.expectedOn))] += o.quantity;
    return {
      ...ref,
      onHand: st?.onHand ?? 0,
      stockDate: st?.date ?? null,
      stockKnown: st !== undefined,
      receipts,
      openOrders,
      yhat,
      lo,
      hi,
      supplier,
      errorRuns: params.backtest_errors ?? [],
      errorLo: params.interval?.error_lo,
      errorHi: params.interval?.error_hi,
      errorLevel: params.interval?.level,
      carriesEvents: params.carries_events ?? [],
      policy,
    };
  }
}

export interface ProductRef {
  productId: number;
  locationId: number;
  sku: string;
  location: string;
  category: string;
  unitCost: number;
  unitPrice: number;
  shelfLifeDays: number | null;
  storage: string | null;
}

/** The columns of a ProductRef, from `products p` and `locations l`. */
const PRODUCT_REF = sql`p.id as "productId", l.id as "locationId", p.sku, l.code as location, coalesce(p.category, '') as category, p.unit_cost as "unitCost",
  p.unit_price as "unitPrice", p.shelf_life_days as "shelfLifeDays", p.storage`;

function productRefRow(r: ProductRef): ProductRef {
  return { ...r, productId: num(r.productId), locationId: num(r.locationId), unitCost: num(r.unitCost), unitPrice: num(r.unitPrice), shelfLifeDays: numOrNull(r.shelfLifeDays) };
}

/** Every product at every location, keyed "productId:locationId". */
export async function productRefs(db: DbOrQ): Promise<Map<string, ProductRef>> {
  const r = await sql<ProductRef>`select ${PRODUCT_REF} from products p cross join locations l`.execute(qOf(db));
  return new Map(r.rows.map(productRefRow).map((x) => [`${x.productId}:${x.locationId}`, x]));
}

/** Series that have forecasts for a run date. */
export async function seriesWithForecasts(db: DbOrQ, runDate: string): Promise<ProductRef[]> {
  const r = await sql<ProductRef>`select ${PRODUCT_REF}
       from (select distinct product_id, location_id from forecasts where run_date = ${runDate}) f
       join products p on p.id = f.product_id join locations l on l.id = f.location_id order by p.id, l.id`.execute(qOf(db));
  return r.rows.map(productRefRow);
}

export async function productRef(db: DbOrQ, sku: string, location: string): Promise<ProductRef | undefined> {
  const r = await sql<ProductRef>`select ${PRODUCT_REF} from products p, locations l where p.sku = ${sku} and l.code = ${location}`.execute(qOf(db));
  return r.rows[0] ? productRefRow(r.rows[0]) : undefined;
}

export interface StockRow extends ProductRef {
  onHand: number;
}

/** Total stock value (on hand x unit cost) at the end of each of several dates, one pass over the series per date. */
export async function stockValues(db: DbOrQ, dates: string[]): Promise<number[]> {
  const refs = await stockedSeries(db);
  const out = dates.map(() => 0);
  for (let i = 0; i < dates.length; i++) {
    const stock = await stockOn(db, addDays(dates[i], 1), refs);
    for (const r of refs) {
      const v = stock(r.productId, r.locationId);
      if (v && v.onHand > 0) out[i] += v.onHand * r.unitCost;
    }
  }
  return out;
}

async function stockedSeries(db: DbOrQ): Promise<ProductRef[]> {
  const r = await sql<ProductRef>`select ${PRODUCT_REF}
       from products p cross join locations l where p.active = 1 and (select 1 from stock_levels s where s.product_id = p.id and s.location_id = l.id limit 1) is not null
       order by p.id, l.id`.execute(qOf(db));
  return r.rows.map(productRefRow);
}

/**
 * Current stock on the morning of the run date (the end-of-day stock of the day
 * before, src/db/snapshot.ts) of every active series with a stock row before it;
 * series without one have unknown stock and are left out.
 */
export async function currentStock(db: DbOrQ, asOf: string): Promise<StockRow[]> {
  const refs = await stockedSeries(db);
  const stock = await stockOn(db, asOf, refs);
  const out: StockRow[] = [];
  for (const r of refs) {
    const v = stock(r.productId, r.locationId);
    if (v) out.push({ ...r, onHand: v.onHand });
  }
  return out;
}
