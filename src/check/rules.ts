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
import { addDays, dayNumber, fromDayNumber, isIsoDate } from '../dates.js';
import type { Q } from '../db/query.js';
import type { Db } from '../db/connection.js';
import * as data from '../db/check.js';

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

/**
 * One check run: the database, the settings, and the pass over every series'
 * sales, stock, receipts and losses that the per-series rules share (read once,
 * chunk by chunk, whatever number of those rules runs).
 */
export interface CheckRun {
  q: Q;
  /** The opened database: its SQLite fast path for the one large read. */
  db: Db;
  s: CheckSettings;
  series(): Promise<SeriesPass>;
}

export interface Rule {
  id: string;
  category: 'completeness' | 'uniqueness' | 'validity' | 'consistency' | 'anomalies';
  severity: Severity;
  description: string;
  run(r: CheckRun): Promise<RuleOutcome>;
}

type SeriesRow = data.CheckSeries;

function finding(rule: string, table: string, f: Partial<Finding> & { message: string }): Finding {
  return { rule, table, sku: null, location: null, date: null, to: null, id: null, value: null, ...f };
}

const median = data.median;

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

/** One series' rows before the check date, each ordered by date (day numbers). */
interface SeriesData {
  sales: data.SaleRow[];
  /** Day number of each sale. */
  saleT: number[];
  /** Stock records: [day, on hand]. */
  stock: [number, number][];
  stockDates: string[];
  receipts: [number, number][];
  losses: [number, number][];
}

/** Stock carried forward per day of [from, to): end-of-day on hand, NaN before the first record. */
function stockByDay(stock: [number, number][], from: number, to: number): Float64Array {
  const out = new Float64Array(to - from).fill(NaN);
  let k = 0;
  let v = NaN;
  while (k < stock.length && stock[k][0] < from) v = stock[k++][1];
  let t = 0;
  for (; k < stock.length && stock[k][0] < to; k++) {
    const at = stock[k][0] - from;
    for (; t < at; t++) out[t] = v;
    v = stock[k][1];
  }
  for (; t < out.length; t++) out[t] = v;
  return out;
}

/** Series per read: a chunk of products whose series add up to about this many (memory stays flat on any catalogue; 100 measured faster and leaner than 250 on 30,000 series). */
const CHUNK_SERIES = 100;

/** The per-series rules' outcomes, computed in one pass over all series. */
export interface SeriesPass {
  salesSeries: number;
  gaps: RuleOutcome;
  missingStock: RuleOutcome;
  prices: RuleOutcome;
  anomalies: RuleOutcome;
  residuals: { intervals: number; out: Residual[] };
}

interface Residual { r: SeriesRow; from: string; to: string; residual: number; received: number; expected: number; actual: number }

export async function seriesPass(db: Db, s: CheckSettings): Promise<SeriesPass> {
  const q = db.kysely;
  const active = await data.activeSalesSeries(q);
  const stocked = await data.stockSeries(q);
  const inActive = new Set(active.map((r) => `${r.p}:${r.l}`));
  const inStock = new Set(stocked.map((r) => `${r.p}:${r.l}`));
  const all = new Map<string, SeriesRow>();
  for (const r of [...active, ...stocked]) all.set(`${r.p}:${r.l}`, r);
  const series = [...all.values()].sort((a, b) => a.p - b.p || a.l - b.l);
  const out: SeriesPass = {
    salesSeries: active.length,
    gaps: { checked: active.length, failed: 0, findings: [] },
    missingStock: { checked: active.length, failed: 0, findings: [] },
    prices: { checked: active.length, failed: 0, findings: [] },
    anomalies: { checked: active.length, failed: 0, findings: [] },
    residuals: { intervals: 0, out: [] },
  };
  const anomalyFrom = dayNumber(addDays(s.asOf, -s.anomalyDays));
  const events = await data.eventsOverlapping(q, fromDayNumber(anomalyFrom), s.asOf);
  const cat = await data.productCategories(q);
  let i = 0;
  while (i < series.length) {
    // A chunk ends on a product boundary, so a product's locations are read together.
    let j = Math.min(series.length, i + CHUNK_SERIES);
    while (j < series.length && series[j].p === series[j - 1].p) j++;
    const chunk = series.slice(i, j);
    const rows = await data.seriesChunk(db, chunk[0].p, chunk[chunk.length - 1].p, s.asOf);
    const by = new Map<string, SeriesData>();
    const get = (p: number, l: number) => {
      const k = `${p}:${l}`;
      let d = by.get(k);
      if (!d) by.set(k, (d = { sales: [], saleT: [], stock: [], stockDates: [], receipts: [], losses: [] }));
      return d;
    };
    for (const x of rows.sales) {
      const d = get(x[0], x[1]);
      d.sales.push(x);
      d.saleT.push(dayNumber(x[2]));
    }
    for (const x of rows.stock) {
      const d = get(x[0], x[1]);
      d.stock.push([dayNumber(x[2]), x[3]]);
      d.stockDates.push(x[2]);
    }
    for (const x of rows.receipts) get(x[0], x[1]).receipts.push([dayNumber(x[2]), x[3]]);
    for (const x of rows.losses) get(x[0], x[1]).losses.push([dayNumber(x[2]), x[3]]);
    const empty: SeriesData = { sales: [], saleT: [], stock: [], stockDates: [], receipts: [], losses: [] };
    for (const r of chunk) {
      const d = by.get(`${r.p}:${r.l}`) ?? empty;
      if (inActive.has(`${r.p}:${r.l}`)) {
        seriesGaps(r, d, s, out.gaps);
        seriesMissingStock(r, d, s, out.missingStock);
        seriesPrices(r, d, s, out.prices);
        seriesAnomalies(r, d, s, anomalyFrom, events, cat, out.anomalies);
      }
      if (inStock.has(`${r.p}:${r.l}`)) seriesResiduals(r, d, s, out.residuals);
    }
    i = j;
  }
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
function seriesGaps(r: SeriesRow, data: SeriesData, s: CheckSettings, o: RuleOutcome): void {
  const days = data.saleT;
  if (days.length < 2) return;
  const first = days[0];
  const last = days[days.length - 1];
  const span = last - first + 1;
  const p0 = (span - days.length + 1) / (span + 2);
  const stock = stockByDay(data.stock, first, last + 1);
  let hit = false;
  for (let k = 1; k < days.length; k++) {
    // Days between two sales with stock on hand (or unknown).
    let g = 0;
    for (let d = days[k - 1] + 1; d < days[k]; d++) if (!(stock[d - first] <= 0)) g++;
    if (g > 0 && Math.pow(p0, g) < s.gapProbability) {
      hit = true;
      o.findings.push(finding('sales-gaps', 'sales', {
        sku: r.sku, location: r.loc, date: fromDayNumber(days[k - 1] + 1), to: fromDayNumber(days[k] - 1), value: g,
        message: `${g} day(s) without a sales row while in stock (this series sells on ${Math.round((1 - p0) * 100)} % of days): import the missing days or confirm zero sales`,
      }));
    }
  }
  if (hit) o.failed++;
}

const salesGaps: Rule = {
  id: 'sales-gaps', category: 'completeness', severity: 'warning',
  description: 'runs of days without a sales row inside a series history, too long for its selling rate, with stock on hand',
  async run(c) {
    return (await c.series()).gaps;
  },
};

/**
 * Days with no sales row at any series of a location, between its first and
 * last sale, when the location usually has rows for several series a day: an
 * import that skipped a whole day (`data.missingSalesRuns`, the definition the
 * demand history shares: these days are unknown demand there). Sales that end
 * before yesterday are named too.
 */
const missingDays: Rule = {
  id: 'missing-sales-days', category: 'completeness', severity: 'blocking',
  description: 'whole days without any sales row at a location that sells every day',
  async run({ q, s }) {
    const findings: Finding[] = [];
    let checked = 0;
    let failed = 0;
    for (const { code, first, last, days, typical, missing } of await data.locationSalesDays(q, s.asOf)) {
      if (days < 2) continue;
      checked += last - first + 1;
      for (const [from, to] of missing) {
        failed += to - from + 1;
        findings.push(finding('missing-sales-days', 'sales', {
          location: code, date: fromDayNumber(from), to: fromDayNumber(to), value: to - from + 1,
          message: `no sales row at all on ${to - from + 1} day(s) (usually ${typical} series sell a day): re-import sales for these dates, or if the location was closed, record the closure as an event with planned_uplift -1 (\`optiflow import events FILE\`)`,
        }));
      }
      if (typical < data.MIN_TYPICAL_SERIES) continue; // a location selling a few items a day can have quiet days
      if (last < dayNumber(s.asOf) - 1)
        findings.push(finding('missing-sales-days', 'sales', {
          location: code, date: fromDayNumber(last + 1), to: addDays(s.asOf, -1), value: dayNumber(s.asOf) - 1 - last,
          message: `sales end on ${fromDayNumber(last)}: import sales up to ${addDays(s.asOf, -1)} before forecasting (\`optiflow import sales FILE.csv\`)`,
        }));
    }
    return { checked, failed, findings };
  },
};

function seriesMissingStock(r: SeriesRow, data: SeriesData, s: CheckSettings, o: RuleOutcome): void {
  const d = data.stockDates.length ? data.stockDates[data.stockDates.length - 1] : null;
  if (!d) o.findings.push(finding('missing-stock', 'stock_levels', { sku: r.sku, location: r.loc, message: 'no stock record: alerts and suggestions cannot project stock (`optiflow import stock FILE.csv`)' }));
  else if (d < addDays(s.asOf, -90)) {
    // Stock rows are written when stock changes: an old record is only suspect when the series sold since.
    const sold = data.sales.some((x) => x[2] > d && x[3] > 0);
    if (sold) o.findings.push(finding('missing-stock', 'stock_levels', { sku: r.sku, location: r.loc, date: d, message: `last stock record on ${d} although the series sold since: import current stock` }));
  }
  o.failed = o.findings.length;
}

const missingStock: Rule = {
  id: 'missing-stock', category: 'completeness', severity: 'warning',
  description: 'active series with sales and no stock record (or none in the last 90 days)',
  async run(c) {
    return (await c.series()).missingStock;
  },
};

const productMaster: Rule = {
  id: 'product-master', category: 'completeness', severity: 'warning',
  description: 'active products without a supplier or without a unit cost',
  async run({ q }) {
    const rows = await data.activeProductsMaster(q);
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
  async run({ q }) {
    const checked = await data.countOrders(q, true);
    // Copies come in id order, so each group's first row is its lowest id and groups follow their first id.
    const groups = new Map<string, data.OrderCopy[]>();
    for (const r of await data.repeatedOrders(q)) (groups.get(r.grp) ?? groups.set(r.grp, []).get(r.grp)!).push(r);
    const rows = [...groups.values()];
    const findings = rows.map((g) => {
      const r = g[0];
      return finding('duplicate-orders', 'purchase_orders', {
        sku: r.sku, location: r.loc, date: r.ordered_on, id: r.id, value: g.length,
        message: `orders ${g.map((x) => x.id).join(',')} are the same order (${r.quantity} units, ordered ${r.ordered_on}, expected ${r.expected_on}): cancel the copies, or receipts count twice`,
      });
    });
    return { checked, failed: rows.reduce((a, g) => a + g.length - 1, 0), findings };
  },
};

/** Codes that differ only by case or surrounding spaces name the same thing twice. */
const duplicateCodes: Rule = {
  id: 'duplicate-codes', category: 'uniqueness', severity: 'warning',
  description: 'SKUs, location or supplier codes equal but for case or spaces',
  async run({ q }) {
    const findings: Finding[] = [];
    let checked = 0;
    for (const [table, col] of [['products', 'sku'], ['locations', 'code'], ['suppliers', 'code']] as const) {
      const { count, rows } = await data.codesEqualButForCase(q, table);
      checked += count;
      const groups = new Map<string, { id: number; code: string }[]>();
      for (const r of rows) (groups.get(r.k) ?? groups.set(r.k, []).get(r.k)!).push(r);
      for (const k of [...groups.keys()].sort()) {
        const g = groups.get(k)!;
        const codes = g.map((x) => x.code).join(' | ');
        findings.push(finding('duplicate-codes', table, { id: g[0].id, value: g.length, sku: table === 'products' ? g[0].code : null, message: `${col}s "${codes}" differ only by case or spaces: merge them` }));
      }
    }
    return { checked, failed: findings.reduce((a, f) => a + (f.value ?? 1) - 1, 0), findings };
  },
};

// ------------------------------------------------------------ validity

const negativeStock: Rule = {
  id: 'negative-stock', category: 'validity', severity: 'blocking',
  description: 'stock records below zero',
  async run({ q, s }) {
    const checked = await data.countStockBefore(q, s.asOf);
    const rows = (await data.negativeStockRows(q, s.asOf)).sort((a, b) => cmp(a.sku, b.sku) || cmp(a.date, b.date) || cmp(a.loc, b.loc));
    const findings = rows.map((r) => finding('negative-stock', 'stock_levels', { sku: r.sku, location: r.loc, date: r.date, value: r.on_hand, message: `stock ${r.on_hand} is below zero: correct the stock count` }));
    return { checked, failed: rows.length, findings };
  },
};

/** Text order by code unit, the same whatever the database's collation (stable: ties keep the query's order). */
function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const salesValues: Rule = {
  id: 'sales-values', category: 'validity', severity: 'blocking',
  description: 'sales with a negative quantity, revenue or price, or a malformed date',
  async run({ q, s }) {
    const checked = await data.countSalesBefore(q, s.asOf);
    const rows = (await data.invalidSales(q)).sort((a, b) => cmp(a.sku, b.sku) || cmp(a.date, b.date) || cmp(a.loc, b.loc));
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
  async run({ q, s }) {
    const checked = await data.countOrders(q, false);
    const rows = await data.suspectOrderDates(q, addDays(s.asOf, -30));
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
  async run({ q }) {
    const findings: Finding[] = [];
    const { suppliers: sup, products: sp } = await data.supplierTermRows(q);
    for (const r of sup)
      if (!(r.lead_time_days >= 0) || !(r.lead_time_sd_days >= 0) || !(r.order_cost >= 0))
        findings.push(finding('supplier-terms', 'suppliers', { id: r.id, message: `supplier ${r.code}: lead time ${r.lead_time_days} d, sd ${r.lead_time_sd_days} d and order cost ${r.order_cost} must be >= 0` }));
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
function seriesResiduals(r: SeriesRow, data: SeriesData, s: CheckSettings, o: SeriesPass['residuals']): void {
  const byDay = (rows: [number, number][]) => {
    const m = new Map<number, number>();
    for (const [d, q] of rows) m.set(d, (m.get(d) ?? 0) + q);
    return m;
  };
  const sold = byDay(data.sales.map((x, i) => [data.saleT[i], x[3]]));
  const rec = byDay(data.receipts);
  const lost = byDay(data.losses);
  const stock = data.stock;
  for (let k = 1; k < stock.length; k++) {
    const d1 = stock[k - 1][0];
    const d2 = stock[k][0];
    let inflow = 0;
    let outflow = 0;
    for (let d = d1 + 1; d <= d2; d++) {
      inflow += rec.get(d) ?? 0;
      outflow += (sold.get(d) ?? 0) + (lost.get(d) ?? 0);
    }
    o.intervals++;
    const expected = stock[k - 1][1] + inflow - outflow;
    const residual = stock[k][1] - expected;
    if (Math.abs(residual) > s.stockTolerance) o.out.push({ r, from: data.stockDates[k - 1], to: data.stockDates[k], residual, received: inflow, expected, actual: stock[k][1] });
  }
}

const stockBalance: Rule = {
  id: 'stock-balance', category: 'consistency', severity: 'warning',
  description: 'stock moves not explained by sales, receipts and recorded losses',
  async run(c) {
    const { intervals, out } = (await c.series()).residuals;
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
  async run(c) {
    const { intervals, out } = (await c.series()).residuals;
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
function seriesPrices(r: SeriesRow, data: SeriesData, s: CheckSettings, o: RuleOutcome): void {
  const rows = data.sales
    .filter((x) => !x[6] && x[3] > 0)
    .map((x) => [x[2], x[4] ?? (x[5] !== null ? x[5] / x[3] : NaN)] as [string, number])
    .filter(([, p]) => Number.isFinite(p));
  if (rows.length < 10) return;
  const { median: med, scale } = robustScale(rows.map(([, p]) => p));
  let hit = false;
  for (const [d, p] of rows) {
    const rel = med > 0 ? Math.abs(p / med - 1) : Infinity;
    if (rel > s.priceDeviation && (scale === 0 || Math.abs(p - med) / scale > 6)) {
      hit = true;
      o.findings.push(finding('price-outliers', 'sales', { sku: r.sku, location: r.loc, date: d, value: p, message: `unit price ${p} is ${Math.round(rel * 100)} % away from the usual ${Math.round(med * 100) / 100}: check the price or the revenue` }));
    }
  }
  if (hit) o.failed++;
}

const priceOutliers: Rule = {
  id: 'price-outliers', category: 'consistency', severity: 'warning',
  description: 'sale prices far from the series\' usual price (promotions excluded)',
  async run(c) {
    return (await c.series()).prices;
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
function seriesAnomalies(r: SeriesRow, data: SeriesData, s: CheckSettings, from: number, events: data.EventScope[], cat: Map<number, string | null>, o: RuleOutcome): void {
  const to = dayNumber(s.asOf);
  const y = new Float64Array(to - from).fill(0);
  const explained = new Uint8Array(to - from);
  const stock = stockByDay(data.stock, from, to);
  let firstSale = to - from;
  for (let i = 0; i < data.sales.length; i++) {
    const x = data.sales[i];
    if (data.saleT[i] < from) continue;
    const t = data.saleT[i] - from;
    y[t] = x[3];
    if (x[6]) explained[t] = 1;
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
  if (use.length < 28) return;
  const vals = use.map((t) => y[t]);
  if (vals.filter((v) => v === 0).length > vals.length / 2) return;
  const { median: med, scale } = robustScale(vals);
  if (!(scale > 0)) return;
  let hit = false;
  for (const t of use) {
    const z = (y[t] - med) / scale;
    if (Math.abs(z) > s.anomalyZ) {
      hit = true;
      o.findings.push(finding('demand-anomalies', 'sales', { sku: r.sku, location: r.loc, date: fromDayNumber(from + t), value: y[t], message: `demand ${y[t]} against a usual ${Math.round(med * 10) / 10} (robust z ${z.toFixed(1)}): a one-off? tag it as an event so models do not learn it` }));
    }
  }
  if (hit) o.failed++;
}

const demandAnomalies: Rule = {
  id: 'demand-anomalies', category: 'anomalies', severity: 'info',
  description: 'days of unusual demand (robust z-score), promotions and events excluded',
  async run(c) {
    return (await c.series()).anomalies;
  },
};

export const RULES: Rule[] = [
  missingDays, salesGaps, missingStock, productMaster,
  duplicateOrders, duplicateCodes,
  negativeStock, salesValues, orderDates, supplierTerms,
  stockBalance, receiptsWithoutOrders, priceOutliers,
  demandAnomalies,
];
