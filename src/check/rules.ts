/**
 * Data-quality rules. Each rule reads the database as of a date, counts the
 * units it checked (series, rows, days) and returns one finding per fault,
 * with where it is: table, SKU, location, date (or date range), row id.
 *
 * Blocking rules are faults that make tonight's figures wrong (a negative
 * stock, a duplicated order, a whole day of sales missing): `check` exits 1 and
 * `batch` with `batch.checkFirst` refuses to run. The others are warnings
 * (the planner should look) or information (demand anomalies, dated).
 */
import type BetterSqlite3 from 'better-sqlite3';
import { addDays, dayNumber, fromDayNumber, isIsoDate } from '../dates.js';

export type Severity = 'blocking' | 'warning' | 'info';

export interface Finding {
  rule: string;
  table: string;
  sku: string | null;
  location: string | null;
  /** The day (or first day of a range). */
  date: string | null;
  /** Last day of a range. */
  to: string | null;
  /** Row id where the table has one. */
  id: number | null;
  value: number | null;
  message: string;
}

export interface RuleOutcome {
  checked: number;
  /** Units with at least one finding (a series, a row, a day). */
  failed: number;
  findings: Finding[];
}

export interface CheckSettings {
  asOf: string;
  /** A gap in a series' sales is reported when its chance under the series' own selling rate is below this. */
  gapProbability: number;
  /** Robust z-score above which a day's demand is an anomaly. */
  anomalyZ: number;
  /** Relative distance from the series' usual (median) price above which a price is reported. */
  priceDeviation: number;
  /** Units of unexplained stock movement tolerated between two stock records. */
  stockTolerance: number;
  /** Days of demand history the anomaly rule looks at. */
  anomalyDays: number;
}

export interface Rule {
  id: string;
  category: 'completeness' | 'uniqueness' | 'validity' | 'consistency' | 'anomalies';
  severity: Severity;
  description: string;
  run(db: BetterSqlite3.Database, s: CheckSettings): RuleOutcome;
}

interface SeriesRow { p: number; l: number; sku: string; loc: string }

function finding(rule: string, table: string, f: Partial<Finding> & { message: string }): Finding {
  return { rule, table, sku: null, location: null, date: null, to: null, id: null, value: null, ...f };
}

function salesSeries(db: BetterSqlite3.Database): SeriesRow[] {
  return db
    .prepare(
      `select p.id as p, l.id as l, p.sku, l.code as loc from products p cross join locations l
       where p.active = 1 and exists (select 1 from sales s where s.product_id = p.id and s.location_id = l.id) order by p.id, l.id`,
    )
    .all() as SeriesRow[];
}

function median(xs: number[]): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Robust z-score of x against a sample: 0.6745 (x - median) / MAD, where MAD
 * is the median absolute deviation (0.6745 makes it a standard deviation for
 * normal data). When MAD is 0 (over half the values equal), the mean absolute
 * deviation x 1.2533 stands for the standard deviation instead.
 */
export function robustScale(xs: number[]): { median: number; scale: number } {
  const med = median(xs);
  const dev = xs.map((x) => Math.abs(x - med));
  const mad = median(dev);
  if (mad > 0) return { median: med, scale: mad / 0.6745 };
  const meanAd = dev.reduce((a, b) => a + b, 0) / Math.max(1, dev.length);
  return { median: med, scale: meanAd * 1.2533 };
}

/** Stock carried forward per day of [from, to): end-of-day on hand, NaN before the first record. */
function stockByDay(db: BetterSqlite3.Database, p: number, l: number, from: number, to: number): Float64Array {
  const out = new Float64Array(to - from).fill(NaN);
  const carry = db.prepare('select on_hand from stock_levels where product_id = ? and location_id = ? and date < ? order by date desc limit 1').raw(true).get(p, l, fromDayNumber(from)) as [number] | undefined;
  let v = carry ? carry[0] : NaN;
  let t = 0;
  for (const [d, q] of db.prepare('select date, on_hand from stock_levels where product_id = ? and location_id = ? and date >= ? and date < ? order by date').raw(true).all(p, l, fromDayNumber(from), fromDayNumber(to)) as [string, number][]) {
    const k = dayNumber(d) - from;
    for (; t < k; t++) out[t] = v;
    v = q;
  }
  for (; t < out.length; t++) out[t] = v;
  return out;
}

// ------------------------------------------------------------ completeness

/**
 * Gaps inside a series' sales: a run of g consecutive days without a sales
 * row, between two days with sales, while stock was on hand (or unknown). With
 * p0 = (days without a row + 1) / (days + 2) the series' own share of days
 * without a sale, such a run has probability p0^g; it is reported below
 * `gapProbability`. Stock-out days are not gaps (nothing could sell).
 */
const salesGaps: Rule = {
  id: 'sales-gaps', category: 'completeness', severity: 'warning',
  description: 'runs of days without a sales row inside a series history, too long for its selling rate, with stock on hand',
  run(db, s) {
    const findings: Finding[] = [];
    const series = salesSeries(db);
    const dates = db.prepare('select date from sales where product_id = ? and location_id = ? and date < ? order by date').raw(true);
    let failed = 0;
    for (const r of series) {
      const days = (dates.all(r.p, r.l, s.asOf) as [string][]).map(([d]) => dayNumber(d));
      if (days.length < 2) continue;
      const first = days[0];
      const last = days[days.length - 1];
      const span = last - first + 1;
      const p0 = (span - days.length + 1) / (span + 2);
      const stock = stockByDay(db, r.p, r.l, first, last + 1);
      let hit = false;
      for (let k = 1; k < days.length; k++) {
        // Days between two sales with stock on hand (or unknown).
        let g = 0;
        for (let d = days[k - 1] + 1; d < days[k]; d++) if (!(stock[d - first] <= 0)) g++;
        if (g > 0 && Math.pow(p0, g) < s.gapProbability) {
          hit = true;
          findings.push(finding('sales-gaps', 'sales', {
            sku: r.sku, location: r.loc, date: fromDayNumber(days[k - 1] + 1), to: fromDayNumber(days[k] - 1), value: g,
            message: `${g} day(s) without a sales row while in stock (this series sells on ${Math.round((1 - p0) * 100)} % of days): import the missing days or confirm zero sales`,
          }));
        }
      }
      if (hit) failed++;
    }
    return { checked: series.length, failed, findings };
  },
};

/**
 * Days with no sales row at any series of a location, between its first and
 * last sale, when the location usually has rows for several series a day: an
 * import that skipped a whole day. Sales that end before yesterday are named too.
 */
const missingDays: Rule = {
  id: 'missing-sales-days', category: 'completeness', severity: 'blocking',
  description: 'whole days without any sales row at a location that sells every day',
  run(db, s) {
    const findings: Finding[] = [];
    let checked = 0;
    let failed = 0;
    for (const loc of db.prepare('select id, code from locations').all() as { id: number; code: string }[]) {
      const rows = db.prepare('select date, count(*) as n from sales where location_id = ? and date < ? group by date order by date').all(loc.id, s.asOf) as { date: string; n: number }[];
      if (rows.length < 2) continue;
      const typical = median(rows.map((r) => r.n));
      const first = dayNumber(rows[0].date);
      const last = dayNumber(rows[rows.length - 1].date);
      checked += last - first + 1;
      if (typical < 3) continue; // a location selling a few items a day can have quiet days
      const have = new Set(rows.map((r) => dayNumber(r.date)));
      let runStart = -1;
      for (let d = first; d <= last + 1; d++) {
        const missing = d <= last && !have.has(d);
        if (missing && runStart < 0) runStart = d;
        if (!missing && runStart >= 0) {
          failed += d - runStart;
          findings.push(finding('missing-sales-days', 'sales', {
            location: loc.code, date: fromDayNumber(runStart), to: fromDayNumber(d - 1), value: d - runStart,
            message: `no sales row at all on ${d - runStart} day(s) (usually ${typical} series sell a day): re-import sales for these dates`,
          }));
          runStart = -1;
        }
      }
      if (last < dayNumber(s.asOf) - 1)
        findings.push(finding('missing-sales-days', 'sales', {
          location: loc.code, date: fromDayNumber(last + 1), to: addDays(s.asOf, -1), value: dayNumber(s.asOf) - 1 - last,
          message: `sales end on ${fromDayNumber(last)}: import sales up to ${addDays(s.asOf, -1)} before forecasting (\`optiflow import sales FILE.csv\`)`,
        }));
    }
    return { checked, failed, findings };
  },
};

const missingStock: Rule = {
  id: 'missing-stock', category: 'completeness', severity: 'warning',
  description: 'active series with sales and no stock record (or none in the last 90 days)',
  run(db, s) {
    const series = salesSeries(db);
    const last = db.prepare('select max(date) as d from stock_levels where product_id = ? and location_id = ? and date < ?');
    const findings: Finding[] = [];
    for (const r of series) {
      const d = (last.get(r.p, r.l, s.asOf) as { d: string | null }).d;
      if (!d) findings.push(finding('missing-stock', 'stock_levels', { sku: r.sku, location: r.loc, message: 'no stock record: alerts and suggestions cannot project stock (`optiflow import stock FILE.csv`)' }));
      else if (d < addDays(s.asOf, -90)) {
        // Stock rows are written when stock changes: an old record is only suspect when the series sold since.
        const sold = db.prepare('select 1 from sales where product_id = ? and location_id = ? and date > ? and date < ? and quantity > 0 limit 1').get(r.p, r.l, d, s.asOf);
        if (sold) findings.push(finding('missing-stock', 'stock_levels', { sku: r.sku, location: r.loc, date: d, message: `last stock record on ${d} although the series sold since: import current stock` }));
      }
    }
    return { checked: series.length, failed: findings.length, findings };
  },
};

const productMaster: Rule = {
  id: 'product-master', category: 'completeness', severity: 'warning',
  description: 'active products without a supplier or without a unit cost',
  run(db) {
    const rows = db.prepare(`select p.id, p.sku, p.unit_cost, exists (select 1 from supplier_products sp where sp.product_id = p.id) as has_supplier from products p where p.active = 1 order by p.id`).all() as { id: number; sku: string; unit_cost: number | null; has_supplier: number }[];
    const findings: Finding[] = [];
    const bad = new Set<number>();
    for (const r of rows) {
      if (!r.has_supplier) {
        bad.add(r.id);
        findings.push(finding('product-master', 'supplier_products', { sku: r.sku, id: r.id, message: 'no supplier: orders fall back to the default lead time and no pack size (`optiflow import supplier-products FILE.csv`)' }));
      }
      if (r.unit_cost === null || !(r.unit_cost > 0)) {
        bad.add(r.id);
        findings.push(finding('product-master', 'products', { sku: r.sku, id: r.id, value: r.unit_cost, message: 'no unit cost: stock value and savings leave it out' }));
      }
    }
    return { checked: rows.length, failed: bad.size, findings };
  },
};

// ------------------------------------------------------------ uniqueness

/** The same order imported twice: same supplier, series, quantity and dates, different rows. */
const duplicateOrders: Rule = {
  id: 'duplicate-orders', category: 'uniqueness', severity: 'blocking',
  description: 'purchase orders that repeat another (same supplier, series, quantity, order and expected dates)',
  run(db) {
    const checked = (db.prepare(`select count(*) as n from purchase_orders where status != 'cancelled'`).get() as { n: number }).n;
    const rows = db
      .prepare(
        `select min(o.id) as first, group_concat(o.id) as ids, count(*) as n, p.sku, l.code as loc, o.ordered_on, o.expected_on, o.quantity
         from purchase_orders o join products p on p.id = o.product_id join locations l on l.id = o.location_id where o.status != 'cancelled'
         group by o.supplier_id, o.product_id, o.location_id, o.quantity, o.ordered_on, o.expected_on having count(*) > 1 order by first`,
      )
      .all() as { first: number; ids: string; n: number; sku: string; loc: string; ordered_on: string; expected_on: string; quantity: number }[];
    const findings = rows.map((r) => finding('duplicate-orders', 'purchase_orders', {
      sku: r.sku, location: r.loc, date: r.ordered_on, id: r.first, value: r.n,
      message: `orders ${r.ids} are the same order (${r.quantity} units, ordered ${r.ordered_on}, expected ${r.expected_on}): cancel the copies, or receipts count twice`,
    }));
    return { checked, failed: rows.reduce((a, r) => a + r.n - 1, 0), findings };
  },
};

/** Codes that differ only by case or surrounding spaces name the same thing twice. */
const duplicateCodes: Rule = {
  id: 'duplicate-codes', category: 'uniqueness', severity: 'warning',
  description: 'SKUs, location or supplier codes equal but for case or spaces',
  run(db) {
    const findings: Finding[] = [];
    let checked = 0;
    for (const [table, col] of [['products', 'sku'], ['locations', 'code'], ['suppliers', 'code']] as const) {
      checked += (db.prepare(`select count(*) as n from ${table}`).get() as { n: number }).n;
      for (const r of db.prepare(`select lower(trim(${col})) as k, group_concat(${col}, ' | ') as codes, min(id) as id, count(*) as n from ${table} group by 1 having count(*) > 1`).all() as { k: string; codes: string; id: number; n: number }[])
        findings.push(finding('duplicate-codes', table, { id: r.id, value: r.n, sku: table === 'products' ? r.codes.split(' | ')[0] : null, message: `${col}s "${r.codes}" differ only by case or spaces: merge them` }));
    }
    return { checked, failed: findings.reduce((a, f) => a + (f.value ?? 1) - 1, 0), findings };
  },
};

// ------------------------------------------------------------ validity

const negativeStock: Rule = {
  id: 'negative-stock', category: 'validity', severity: 'blocking',
  description: 'stock records below zero',
  run(db, s) {
    const checked = (db.prepare('select count(*) as n from stock_levels where date < ?').get(s.asOf) as { n: number }).n;
    const rows = db.prepare(`select p.sku, l.code as loc, st.date, st.on_hand from stock_levels st join products p on p.id = st.product_id join locations l on l.id = st.location_id where st.on_hand < 0 and st.date < ? order by p.sku, st.date`).all(s.asOf) as { sku: string; loc: string; date: string; on_hand: number }[];
    const findings = rows.map((r) => finding('negative-stock', 'stock_levels', { sku: r.sku, location: r.loc, date: r.date, value: r.on_hand, message: `stock ${r.on_hand} is below zero: correct the stock count` }));
    return { checked, failed: rows.length, findings };
  },
};

const salesValues: Rule = {
  id: 'sales-values', category: 'validity', severity: 'blocking',
  description: 'sales with a negative quantity, revenue or price, or a malformed date',
  run(db, s) {
    const checked = (db.prepare('select count(*) as n from sales where date < ?').get(s.asOf) as { n: number }).n;
    const rows = db
      .prepare(
        `select p.sku, l.code as loc, x.date, x.quantity, x.revenue, x.unit_price from sales x join products p on p.id = x.product_id join locations l on l.id = x.location_id
         where (x.quantity < 0 or x.revenue < 0 or x.unit_price < 0 or length(x.date) != 10 or x.date not glob '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]') order by p.sku, x.date`,
      )
      .all() as { sku: string; loc: string; date: string; quantity: number; revenue: number | null; unit_price: number | null }[];
    const findings = rows.map((r) => {
      const what = !isIsoDate(r.date) ? `date "${r.date}" is not YYYY-MM-DD` : r.quantity < 0 ? `quantity ${r.quantity} is negative (a return? import returns separately)` : (r.revenue ?? 0) < 0 ? `revenue ${r.revenue} is negative` : `unit price ${r.unit_price} is negative`;
      return finding('sales-values', 'sales', { sku: r.sku, location: r.loc, date: r.date, value: r.quantity, message: what });
    });
    return { checked, failed: rows.length, findings };
  },
};

const orderDates: Rule = {
  id: 'order-dates', category: 'validity', severity: 'warning',
  description: 'purchase orders expected or received before they were ordered, received without a date, or open and long overdue',
  run(db, s) {
    const checked = (db.prepare('select count(*) as n from purchase_orders').get() as { n: number }).n;
    const rows = db
      .prepare(
        `select o.id, p.sku, l.code as loc, o.ordered_on, o.expected_on, o.received_on, o.status from purchase_orders o join products p on p.id = o.product_id join locations l on l.id = o.location_id
         where o.expected_on < o.ordered_on or o.received_on < o.ordered_on or (o.status = 'received' and o.received_on is null)
            or (o.status = 'open' and o.expected_on < ?) order by o.id`,
      )
      .all(addDays(s.asOf, -30)) as { id: number; sku: string; loc: string; ordered_on: string; expected_on: string; received_on: string | null; status: string }[];
    const findings = rows.map((r) => finding('order-dates', 'purchase_orders', {
      sku: r.sku, location: r.loc, id: r.id, date: r.ordered_on,
      message: r.expected_on < r.ordered_on ? `expected on ${r.expected_on}, before it was ordered (${r.ordered_on})`
        : r.received_on !== null && r.received_on < r.ordered_on ? `received on ${r.received_on}, before it was ordered (${r.ordered_on})`
        : r.status === 'received' ? 'status received without a receipt date'
        : `still open, expected on ${r.expected_on}: over 30 days late; receive or cancel it`,
    }));
    return { checked, failed: rows.length, findings };
  },
};

const supplierTerms: Rule = {
  id: 'supplier-terms', category: 'validity', severity: 'blocking',
  description: 'negative lead times, pack sizes or minimum order quantities out of range',
  run(db) {
    const findings: Finding[] = [];
    const sup = db.prepare('select id, code, lead_time_days, lead_time_sd_days, order_cost from suppliers').all() as { id: number; code: string; lead_time_days: number; lead_time_sd_days: number; order_cost: number }[];
    for (const r of sup)
      if (!(r.lead_time_days >= 0) || !(r.lead_time_sd_days >= 0) || !(r.order_cost >= 0))
        findings.push(finding('supplier-terms', 'suppliers', { id: r.id, message: `supplier ${r.code}: lead time ${r.lead_time_days} d, sd ${r.lead_time_sd_days} d and order cost ${r.order_cost} must be >= 0` }));
    const sp = db.prepare('select p.sku, s.code, sp.pack_size, sp.min_order_qty from supplier_products sp join products p on p.id = sp.product_id join suppliers s on s.id = sp.supplier_id').all() as { sku: string; code: string; pack_size: number; min_order_qty: number }[];
    for (const r of sp)
      if (!(r.pack_size > 0) || !(r.min_order_qty >= 0))
        findings.push(finding('supplier-terms', 'supplier_products', { sku: r.sku, message: `supplier ${r.code}: pack size ${r.pack_size} must be > 0 and minimum order ${r.min_order_qty} >= 0` }));
    return { checked: sup.length + sp.length, failed: findings.length, findings };
  },
};

// ------------------------------------------------------------ consistency

/**
 * Stock moves against sales, receipts and recorded losses. Between two
 * consecutive stock records (d1, s1) and (d2, s2) of a series:
 *   expected s2 = s1 + received (orders received in (d1, d2]) - sold (sales in (d1, d2]) - lost (quality incidents)
 * A residual beyond `stockTolerance` units is reported: positive with no
 * receipt in the interval is stock that arrived without an order
 * ("receipts-without-orders"), otherwise an unexplained move (shrinkage,
 * a miscount, a missing sale or receipt).
 */
function stockResiduals(db: BetterSqlite3.Database, s: CheckSettings) {
  const series = db.prepare(`select p.id as p, l.id as l, p.sku, l.code as loc from products p cross join locations l where exists (select 1 from stock_levels x where x.product_id = p.id and x.location_id = l.id) order by p.id, l.id`).all() as SeriesRow[];
  const stockQ = db.prepare('select date, on_hand from stock_levels where product_id = ? and location_id = ? and date < ? order by date').raw(true);
  const salesQ = db.prepare('select date, quantity from sales where product_id = ? and location_id = ? and date < ?').raw(true);
  const recQ = db.prepare(`select received_on, quantity from purchase_orders where product_id = ? and location_id = ? and received_on is not null and received_on < ? and status != 'cancelled'`).raw(true);
  const lossQ = db.prepare('select date, quantity_lost from quality_incidents where product_id = ? and location_id = ? and date < ?').raw(true);
  const out: { r: SeriesRow; from: string; to: string; residual: number; received: number; expected: number; actual: number }[] = [];
  let intervals = 0;
  for (const r of series) {
    const byDay = (rows: [string, number][]) => {
      const m = new Map<number, number>();
      for (const [d, q] of rows) m.set(dayNumber(d), (m.get(dayNumber(d)) ?? 0) + q);
      return m;
    };
    const sold = byDay(salesQ.all(r.p, r.l, s.asOf) as [string, number][]);
    const rec = byDay(recQ.all(r.p, r.l, s.asOf) as [string, number][]);
    const lost = byDay(lossQ.all(r.p, r.l, s.asOf) as [string, number][]);
    const stock = stockQ.all(r.p, r.l, s.asOf) as [string, number][];
    for (let k = 1; k < stock.length; k++) {
      const d1 = dayNumber(stock[k - 1][0]);
      const d2 = dayNumber(stock[k][0]);
      let inflow = 0;
      let outflow = 0;
      for (let d = d1 + 1; d <= d2; d++) {
        inflow += rec.get(d) ?? 0;
        outflow += (sold.get(d) ?? 0) + (lost.get(d) ?? 0);
      }
      intervals++;
      const expected = stock[k - 1][1] + inflow - outflow;
      const residual = stock[k][1] - expected;
      if (Math.abs(residual) > s.stockTolerance) out.push({ r, from: stock[k - 1][0], to: stock[k][0], residual, received: inflow, expected, actual: stock[k][1] });
    }
  }
  return { intervals, out };
}

// Both stock rules read the same pass over the stock records; it is kept for one check run.
const residualCacheMap = new WeakMap<BetterSqlite3.Database, { asOf: string; v: ReturnType<typeof stockResiduals> }>();

function residualCache(db: BetterSqlite3.Database, s: CheckSettings): ReturnType<typeof stockResiduals> {
  const hit = residualCacheMap.get(db);
  if (hit && hit.asOf === s.asOf) return hit.v;
  const v = stockResiduals(db, s);
  residualCacheMap.set(db, { asOf: s.asOf, v });
  return v;
}

/** Forget the cached stock pass (a new check run starts). */
export function resetCheckCache(db: BetterSqlite3.Database): void {
  residualCacheMap.delete(db);
}

const stockBalance: Rule = {
  id: 'stock-balance', category: 'consistency', severity: 'warning',
  description: 'stock moves not explained by sales, receipts and recorded losses',
  run(db, s) {
    const { intervals, out } = residualCache(db, s);
    const bad = out.filter((x) => !(x.residual > 0 && x.received === 0));
    const findings = bad.map((x) => finding('stock-balance', 'stock_levels', {
      sku: x.r.sku, location: x.r.loc, date: x.from, to: x.to, value: Math.round(x.residual * 1000) / 1000,
      message: `stock went to ${x.actual} on ${x.to}; sales, receipts and losses since ${x.from} make ${Math.round(x.expected * 1000) / 1000} (${x.residual > 0 ? '+' : ''}${Math.round(x.residual * 1000) / 1000} unexplained)`,
    }));
    return { checked: intervals, failed: bad.length, findings };
  },
};

const receiptsWithoutOrders: Rule = {
  id: 'receipts-without-orders', category: 'consistency', severity: 'warning',
  description: 'stock increases with no purchase order received in the interval',
  run(db, s) {
    const { intervals, out } = residualCache(db, s);
    const bad = out.filter((x) => x.residual > 0 && x.received === 0);
    const findings = bad.map((x) => finding('receipts-without-orders', 'stock_levels', {
      sku: x.r.sku, location: x.r.loc, date: x.from, to: x.to, value: Math.round(x.residual * 1000) / 1000,
      message: `stock rose by ${Math.round(x.residual * 1000) / 1000} units between ${x.from} and ${x.to} with no order received: import the purchase order (or the transfer)`,
    }));
    return { checked: intervals, failed: bad.length, findings };
  },
};

/**
 * Prices far from the usual: a non-promotion sale whose unit price differs
 * from the series' median non-promotion price by more than `priceDeviation`
 * (relative) and by more than 6 robust standard deviations (robustScale).
 */
const priceOutliers: Rule = {
  id: 'price-outliers', category: 'consistency', severity: 'warning',
  description: 'sale prices far from the series\' usual price (promotions excluded)',
  run(db, s) {
    const series = salesSeries(db);
    const q = db.prepare('select date, unit_price, quantity, revenue from sales where product_id = ? and location_id = ? and date < ? and on_promo = 0 and quantity > 0').raw(true);
    const findings: Finding[] = [];
    let failed = 0;
    for (const r of series) {
      const rows = (q.all(r.p, r.l, s.asOf) as [string, number | null, number, number | null][])
        .map(([d, up, qty, rev]) => [d, up ?? (rev !== null ? rev / qty : NaN)] as [string, number])
        .filter(([, p]) => Number.isFinite(p));
      if (rows.length < 10) continue;
      const { median: med, scale } = robustScale(rows.map(([, p]) => p));
      let hit = false;
      for (const [d, p] of rows) {
        const rel = med > 0 ? Math.abs(p / med - 1) : Infinity;
        if (rel > s.priceDeviation && (scale === 0 || Math.abs(p - med) / scale > 6)) {
          hit = true;
          findings.push(finding('price-outliers', 'sales', { sku: r.sku, location: r.loc, date: d, value: p, message: `unit price ${p} is ${Math.round(rel * 100)} % away from the usual ${Math.round(med * 100) / 100}: check the price or the revenue` }));
        }
      }
      if (hit) failed++;
    }
    return { checked: series.length, failed, findings };
  },
};

// ------------------------------------------------------------ anomalies

/**
 * Demand anomalies: days of the last `anomalyDays` whose demand has a robust
 * z-score above `anomalyZ` against the series' same window. Days on promotion
 * or inside an event are explained and left out; so are stock-out days and
 * intermittent series (more than half the days without a sale: their
 * nonzero days are all "unusual").
 */
const demandAnomalies: Rule = {
  id: 'demand-anomalies', category: 'anomalies', severity: 'info',
  description: 'days of unusual demand (robust z-score), promotions and events excluded',
  run(db, s) {
    const series = salesSeries(db);
    const from = dayNumber(addDays(s.asOf, -s.anomalyDays));
    const to = dayNumber(s.asOf);
    const events = db.prepare('select start_date, end_date, product_id, category, location_id from events where end_date >= ? and start_date < ?').all(fromDayNumber(from), s.asOf) as { start_date: string; end_date: string; product_id: number | null; category: string | null; location_id: number | null }[];
    const cat = new Map((db.prepare('select id, category from products').all() as { id: number; category: string | null }[]).map((p) => [p.id, p.category]));
    const q = db.prepare('select date, quantity, on_promo from sales where product_id = ? and location_id = ? and date >= ? and date < ?').raw(true);
    const findings: Finding[] = [];
    let failed = 0;
    for (const r of series) {
      const y = new Float64Array(to - from).fill(0);
      const explained = new Uint8Array(to - from);
      const stock = stockByDay(db, r.p, r.l, from, to);
      let firstSale = to - from;
      for (const [d, qty, promo] of q.all(r.p, r.l, fromDayNumber(from), s.asOf) as [string, number, number][]) {
        const t = dayNumber(d) - from;
        y[t] = qty;
        if (promo) explained[t] = 1;
        firstSale = Math.min(firstSale, t);
      }
      for (const e of events) {
        if (e.product_id !== null && e.product_id !== r.p) continue;
        if (e.location_id !== null && e.location_id !== r.l) continue;
        if (e.category !== null && e.category !== cat.get(r.p)) continue;
        for (let d = Math.max(from, dayNumber(e.start_date)); d <= Math.min(to - 1, dayNumber(e.end_date)); d++) explained[d - from] = 1;
      }
      const use: number[] = [];
      for (let t = firstSale; t < y.length; t++) if (!explained[t] && !(stock[t] <= 0)) use.push(t);
      if (use.length < 28) continue;
      const vals = use.map((t) => y[t]);
      if (vals.filter((v) => v === 0).length > vals.length / 2) continue;
      const { median: med, scale } = robustScale(vals);
      if (!(scale > 0)) continue;
      let hit = false;
      for (const t of use) {
        const z = (y[t] - med) / scale;
        if (Math.abs(z) > s.anomalyZ) {
          hit = true;
          findings.push(finding('demand-anomalies', 'sales', { sku: r.sku, location: r.loc, date: fromDayNumber(from + t), value: y[t], message: `demand ${y[t]} against a usual ${Math.round(med * 10) / 10} (robust z ${z.toFixed(1)}): a one-off? tag it as an event so models do not learn it` }));
        }
      }
      if (hit) failed++;
    }
    return { checked: series.length, failed, findings };
  },
};

export const RULES: Rule[] = [
  missingDays, salesGaps, missingStock, productMaster,
  duplicateOrders, duplicateCodes,
  negativeStock, salesValues, orderDates, supplierTerms,
  stockBalance, receiptsWithoutOrders, priceOutliers,
  demandAnomalies,
];
