/**
 * The current state of each series for alerts, suggest and optimize: stock on
 * hand, open orders by arrival day, today's forecast, supplier terms, the
 * active model's backtest errors and the inventory policy. Point queries on
 * primary keys, so one series or thirty thousand cost what they need.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { addDays, dayNumber, daysBetween } from '../dates.js';
import { modelsInForce, openOrdersOn, stockReader, STOCK_BEFORE_SQL, MODEL_IN_FORCE_WHERE, OPEN_ORDER_WHERE } from './snapshot.js';
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
  errorRuns: number[][];
  errorLo?: number;
  errorHi?: number;
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

type Params = { backtest_errors?: number[][]; interval?: { error_lo: number; error_hi: number }; carries_events?: string[] };
type Policy = NonNullable<SeriesState['policy']>;

interface Preloaded {
  orders: Map<string, { id: number; quantity: number; expectedOn: string }[]>;
  suppliers: Map<number, SupplierTerms>;
  params: Map<string, Params>;
  policies: Map<string, Policy>;
}

export class StateReader {
  private q: Record<string, BetterSqlite3.Statement>;
  private pre: Preloaded | null = null;
  private receipts: Map<number, ReceiptStats> | null = null;
  /** Receipt statistics per supplier as of today, read once. */
  private receiptStats(): Map<number, ReceiptStats> {
    return (this.receipts ??= supplierReceiptStats(this.sqlite, this.asOf));
  }
  private receiptStatsOf(supplierId: number): ReceiptStats | undefined {
    return this.receipts ? this.receipts.get(supplierId) : supplierReceiptStats(this.sqlite, this.asOf, supplierId).get(supplierId);
  }
  constructor(private sqlite: BetterSqlite3.Database, readonly asOf: string, readonly runDate: string = asOf) {
    this.q = {
      stock: sqlite.prepare(STOCK_BEFORE_SQL),
      orders: sqlite.prepare(`select id, quantity, expected_on from purchase_orders where product_id = :p and location_id = :l and ${OPEN_ORDER_WHERE} order by id`),
      forecast: sqlite.prepare('select date, yhat, yhat_lo, yhat_hi from forecasts where product_id = ? and location_id = ? and run_date = ?').raw(true),
      supplier: sqlite.prepare(
        `select s.id, s.code, coalesce(s.name, s.code) as name, s.lead_time_days, s.lead_time_sd_days, s.order_cost, sp.pack_size, sp.min_order_qty, coalesce(sp.unit_cost, p.unit_cost) as unit_cost, s.review_days, s.min_order_value,
         (select count(*) from supplier_products x where x.supplier_id = s.id) as n_products
         from supplier_products sp join suppliers s on s.id = sp.supplier_id join products p on p.id = sp.product_id
         where sp.product_id = ? order by sp.is_primary desc, s.lead_time_days limit 1`,
      ),
      breaks: sqlite.prepare('select min_qty, unit_cost from price_breaks where supplier_id = ? and product_id = ? order by min_qty'),
      model: sqlite.prepare(`select params from models where product_id = :p and location_id = :l and ${MODEL_IN_FORCE_WHERE} order by version desc limit 1`),
      policy: sqlite.prepare('select * from inventory_policies where product_id = ? and location_id = ?'),
    };
  }

  /**
   * Reads every series' open orders, supplier terms, model parameters and
   * policies in one pass each, for jobs that read all series (alerts, optimize).
   */
  preload(): this {
    const k = (p: number, l: number) => `${p}:${l}`;
    const orders = new Map<string, { id: number; quantity: number; expectedOn: string }[]>();
    for (const o of openOrdersOn(this.sqlite, this.asOf)) {
      const key = k(o.productId, o.locationId);
      (orders.get(key) ?? orders.set(key, []).get(key)!).push({ id: o.id, quantity: o.quantity, expectedOn: o.expectedOn });
    }
    const suppliers = new Map<number, SupplierTerms>();
    const breaks = new Map<string, { minQty: number; unitCost: number }[]>();
    for (const b of this.sqlite.prepare('select supplier_id, product_id, min_qty, unit_cost from price_breaks order by min_qty').all() as { supplier_id: number; product_id: number; min_qty: number; unit_cost: number }[]) {
      const key = k(b.supplier_id, b.product_id);
      (breaks.get(key) ?? breaks.set(key, []).get(key)!).push({ minQty: b.min_qty, unitCost: b.unit_cost });
    }
    for (const s of this.sqlite
      .prepare(
        `select sp.product_id, s.id, s.code, coalesce(s.name, s.code) as name, s.lead_time_days, s.lead_time_sd_days, s.order_cost, sp.pack_size, sp.min_order_qty, coalesce(sp.unit_cost, p.unit_cost) as unit_cost, s.review_days, s.min_order_value,
         (select count(*) from supplier_products x where x.supplier_id = s.id) as n_products
         from supplier_products sp join suppliers s on s.id = sp.supplier_id join products p on p.id = sp.product_id
         order by sp.product_id, sp.is_primary desc, s.lead_time_days`,
      )
      .all() as (SupplierRow & { product_id: number })[]) {
      // The same choice as the single-series query: primary first, then the shortest lead time.
      if (!suppliers.has(s.product_id)) suppliers.set(s.product_id, toSupplier(s, breaks.get(k(s.id, s.product_id)) ?? [], this.receiptStats().get(s.id)));
    }
    const params = new Map<string, Params>();
    for (const m of modelsInForce(this.sqlite, this.asOf)) params.set(k(m.productId, m.locationId), JSON.parse(m.params));
    const policies = new Map<string, Policy>();
    for (const p of this.sqlite.prepare('select * from inventory_policies').all() as (PolicyRow & { product_id: number; location_id: number })[])
      policies.set(k(p.product_id, p.location_id), toPolicy(p));
    this.pre = { orders, suppliers, params, policies };
    return this;
  }

  /** Today's part of the run's forecast, along the primary key (product, location, run_date, date): contiguous rows. */
  private forecastOf(p: number, l: number): { yhat: Float64Array; lo: Float64Array; hi: Float64Array } {
    const base = dayNumber(this.runDate);
    const offset = daysBetween(this.runDate, this.asOf);
    const rows = this.q.forecast.all(p, l, this.runDate) as [string, number, number, number][];
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

  read(ref: ProductRef): SeriesState {
    const { productId: p, locationId: l } = ref;
    const key = `${p}:${l}`;
    const pre = this.pre;
    const st = this.q.stock.get(p, l, this.asOf) as { on_hand: number; date: string } | undefined;
    const { yhat, lo, hi } = this.forecastOf(p, l);
    const n = yhat.length;
    const openOrders = pre
      ? pre.orders.get(key) ?? []
      : (this.q.orders.all({ p, l, day: this.asOf }) as { id: number; quantity: number; expected_on: string }[]).map((o) => ({ id: o.id, quantity: o.quantity, expectedOn: o.expected_on }));
    // Receipts by day: the forecast horizon, or further when an open order arrives later.
    let last = n;
    for (const o of openOrders) last = Math.max(last, daysBetween(this.asOf, o.expectedOn) + 1);
    const receipts = new Float64Array(Math.max(last, 1));
    for (const o of openOrders) receipts[Math.max(0, daysBetween(this.asOf, o.expectedOn))] += o.quantity;
    const s = pre ? undefined : (this.q.supplier.get(p) as SupplierRow | undefined);
    const supplier: SupplierTerms | null = pre
      ? pre.suppliers.get(p) ?? null
      : s
      ? toSupplier(s, (this.q.breaks.all(s.id, p) as { min_qty: number; unit_cost: number }[]).map((b) => ({ minQty: b.min_qty, unitCost: b.unit_cost })), this.receiptStatsOf(s.id))
      : null;
    let params: Params = {};
    let policy: Policy | null = null;
    if (pre) {
      params = pre.params.get(key) ?? {};
      policy = pre.policies.get(key) ?? null;
    } else {
      const m = this.q.model.get({ p, l, day: this.asOf }) as { params: string } | undefined;
      if (m) params = JSON.parse(m.params) as Params;
      const pol = this.q.policy.get(p, l) as PolicyRow | undefined;
      if (pol) policy = toPolicy(pol);
    }
    return {
      ...ref,
      onHand: st?.on_hand ?? 0,
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
const PRODUCT_REF = `p.id as productId, l.id as locationId, p.sku, l.code as location, coalesce(p.category, '') as category, p.unit_cost as unitCost,
  p.unit_price as unitPrice, p.shelf_life_days as shelfLifeDays, p.storage`;

/** Every product at every location, keyed "productId:locationId". */
export function productRefs(sqlite: BetterSqlite3.Database): Map<string, ProductRef> {
  const rows = sqlite.prepare(`select ${PRODUCT_REF} from products p cross join locations l`).all() as ProductRef[];
  return new Map(rows.map((r) => [`${r.productId}:${r.locationId}`, r]));
}

/** Series that have forecasts for a run date. */
export function seriesWithForecasts(sqlite: BetterSqlite3.Database, runDate: string): ProductRef[] {
  return sqlite
    .prepare(
      `select ${PRODUCT_REF}
       from (select distinct product_id, location_id from forecasts where run_date = ?) f
       join products p on p.id = f.product_id join locations l on l.id = f.location_id order by p.id, l.id`,
    )
    .all(runDate) as ProductRef[];
}

export function productRef(sqlite: BetterSqlite3.Database, sku: string, location: string): ProductRef | undefined {
  return sqlite
    .prepare(
      `select ${PRODUCT_REF}
       from products p, locations l where p.sku = ? and l.code = ?`,
    )
    .get(sku, location) as ProductRef | undefined;
}

export interface StockRow extends ProductRef {
  onHand: number;
}

/** Total stock value (on hand x unit cost) at the end of each of several dates, one pass over the series. */
export function stockValues(sqlite: BetterSqlite3.Database, dates: string[]): number[] {
  const refs = stockedSeries(sqlite);
  const stock = stockReader(sqlite);
  const out = dates.map(() => 0);
  for (const r of refs)
    dates.forEach((d, i) => {
      const v = stock(r.productId, r.locationId, addDays(d, 1));
      if (v && v.onHand > 0) out[i] += v.onHand * r.unitCost;
    });
  return out;
}

function stockedSeries(sqlite: BetterSqlite3.Database): ProductRef[] {
  return sqlite
    .prepare(
      `select ${PRODUCT_REF}
       from products p cross join locations l where p.active = 1 and exists (select 1 from stock_levels s where s.product_id = p.id and s.location_id = l.id)
       order by p.id, l.id`,
    )
    .all() as ProductRef[];
}

/**
 * Current stock on the morning of the run date (the end-of-day stock of the day
 * before, src/db/snapshot.ts) of every active series with a stock row before it;
 * series without one have unknown stock and are left out.
 */
export function currentStock(sqlite: BetterSqlite3.Database, asOf: string): StockRow[] {
  const refs = stockedSeries(sqlite);
  const stock = stockReader(sqlite);
  const out: StockRow[] = [];
  for (const r of refs) {
    const v = stock(r.productId, r.locationId, asOf);
    if (v) out.push({ ...r, onHand: v.onHand });
  }
  return out;
}
