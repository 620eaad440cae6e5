/**
 * The sample data generator. Deterministic for a seed. The generating process
 * is documented in docs/sample-data.md; the constants below are the ground
 * truth that tests check the models against.
 */
import { WEEKDAYS } from '../inventory/review.js';
import { Rng } from './random.js';
import { eventRef } from './entities.js';
import type { Db } from '../db/connection.js';
import { SAMPLE_TABLES, writeSample, writeSampleSqlite, type SampleSink, type SampleTable, type SqliteHandle } from '../db/sample-writer.js';
import { sampleFamily, type FamilyName } from './sample-families.js';
import { addDays, dayNumber, dayOfYear, fromDayNumber, weekday } from '../dates.js';

export interface CategorySpec {
  name: string;
  /** Demand multiplier Monday..Sunday, mean 1. */
  weekly: number[];
  /** Yearly amplitude A and peak day of year: factor 1 + A cos(2 pi (doy - peak) / 365.25). */
  yearlyAmplitude: number;
  yearlyPeakDoy: number;
  /** Promotion demand multiplier (1.5 = +50 %). */
  promoUplift: number;
  perishable: null | { storage: 'chilled' | 'frozen' | 'ambient'; shelfLife: [number, number] };
  unitCost: [number, number];
}

const W = (xs: number[]) => {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return xs.map((x) => x / m);
};

export const CATEGORIES: CategorySpec[] = [
  { name: 'grocery', weekly: W([0.9, 0.85, 0.9, 0.95, 1.15, 1.35, 0.9]), yearlyAmplitude: 0.1, yearlyPeakDoy: 355, promoUplift: 1.5, perishable: null, unitCost: [0.5, 6] },
  { name: 'beverages', weekly: W([0.85, 0.85, 0.9, 1.0, 1.2, 1.4, 0.8]), yearlyAmplitude: 0.3, yearlyPeakDoy: 196, promoUplift: 1.7, perishable: null, unitCost: [0.4, 4] },
  { name: 'dairy', weekly: W([1.0, 0.95, 0.95, 1.0, 1.1, 1.2, 0.8]), yearlyAmplitude: 0.05, yearlyPeakDoy: 30, promoUplift: 1.4, perishable: { storage: 'chilled', shelfLife: [7, 21] }, unitCost: [0.6, 3] },
  { name: 'bakery', weekly: W([0.95, 0.9, 0.9, 0.95, 1.05, 1.3, 0.95]), yearlyAmplitude: 0.05, yearlyPeakDoy: 355, promoUplift: 1.3, perishable: { storage: 'ambient', shelfLife: [3, 6] }, unitCost: [0.3, 2] },
  { name: 'frozen', weekly: W([0.9, 0.9, 0.95, 1.0, 1.1, 1.3, 0.85]), yearlyAmplitude: 0.2, yearlyPeakDoy: 200, promoUplift: 1.5, perishable: { storage: 'frozen', shelfLife: [120, 365] }, unitCost: [1, 8] },
  { name: 'household', weekly: W([1.0, 0.95, 0.95, 1.0, 1.05, 1.25, 0.8]), yearlyAmplitude: 0.08, yearlyPeakDoy: 100, promoUplift: 1.4, perishable: null, unitCost: [1, 12] },
  { name: 'pharmacy', weekly: W([1.15, 1.05, 1.0, 1.0, 1.05, 1.0, 0.75]), yearlyAmplitude: 0.25, yearlyPeakDoy: 15, promoUplift: 1.2, perishable: null, unitCost: [2, 20] },
];

/** Holidays: fixed calendar days with a demand multiplier for every product. */
export const HOLIDAYS: { name: string; month: number; day: number; uplift: number }[] = [
  { name: "New Year's Eve", month: 12, day: 31, uplift: 1.3 },
  { name: 'Christmas Eve', month: 12, day: 24, uplift: 1.4 },
  { name: 'National Day', month: 7, day: 14, uplift: 1.2 },
];

/** Category promotions: 7 days every PROMO_EVERY_DAYS, staggered by category. */
export const PROMO_EVERY_DAYS = 56;
export const PROMO_LENGTH_DAYS = 7;
/** Shelf price during a promotion, as a fraction of the regular price. */
export const PROMO_PRICE_FACTOR = 0.85;
/** Demand elasticity to regular price changes (demand ~ price^-1.5). */
export const PRICE_ELASTICITY = -1.5;

export type DemandClass = 'fast' | 'slow' | 'intermittent' | 'dormant';

export interface SampleOptions {
  products: number;
  locations: number;
  days: number;
  seed: number;
  /** "today": history ends the day before. */
  today: string;
  /** Which mix of series to draw (sample-families.ts); default: the mixed shop below. */
  family?: FamilyName;
  onProgress?: (done: number, total: number) => void;
}

export interface SampleSummary {
  products: number;
  locations: number;
  series: number;
  days: number;
  firstDate: string;
  lastDate: string;
  rows: Record<string, number>;
}

/** Ground truth of one series, returned for tests and documentation. */
export interface SeriesTruth {
  sku: string;
  location: string;
  category: string;
  demandClass: DemandClass;
  baseLevel: number;
  growthPerYear: number;
}

function promoWindows(catIndex: number, firstDay: number, lastDay: number): [number, number][] {
  const out: [number, number][] = [];
  const offset = 10 + catIndex * 8;
  for (let s = firstDay + offset; s <= lastDay; s += PROMO_EVERY_DAYS) out.push([s, s + PROMO_LENGTH_DAYS - 1]);
  return out;
}

function holidayOn(dn: number): number {
  const iso = fromDayNumber(dn);
  const m = +iso.slice(5, 7);
  const d = +iso.slice(8, 10);
  for (let i = 0; i < HOLIDAYS.length; i++) if (HOLIDAYS[i].month === m && HOLIDAYS[i].day === d) return i;
  return -1;
}

export interface SampleResult {
  summary: SampleSummary;
  truth: SeriesTruth[];
}

/**
 * Writes the sample data set into an empty, migrated database. Given a `Db`
 * (SQLite or PostgreSQL) it returns a promise; given a raw SQLite handle it
 * writes synchronously. Products are generated in chunks, so memory stays flat
 * with --products 30000; how the rows reach the database is src/db/sample-writer.ts.
 */
export function generateSample(target: SqliteHandle, opts: SampleOptions): SampleResult;
export function generateSample(target: Db, opts: SampleOptions): Promise<SampleResult>;
export function generateSample(target: Db | SqliteHandle, opts: SampleOptions): SampleResult | Promise<SampleResult> {
  const steps = (sink: SampleSink) => sampleSteps(sink, opts);
  return 'kysely' in target ? writeSample(target, steps) : writeSampleSqlite(target, steps);
}

/** The generating process: rows into the sink, a yield after each chunk to write. */
function* sampleSteps(sink: SampleSink, opts: SampleOptions): Generator<void, SampleResult, void> {
  const rng = new Rng(opts.seed);
  const family = sampleFamily(opts.family);
  const todayN = dayNumber(opts.today);
  const lastDay = todayN - 1;
  const firstDay = todayN - opts.days;
  const nDays = opts.days;
  // Calendar of the history, computed once: ISO date, weekday, day of year, holiday index.
  const isoOf: string[] = [];
  const wdOf = new Uint8Array(nDays);
  const doyOf = new Uint16Array(nDays);
  const holOf = new Int8Array(nDays);
  for (let d = 0; d < nDays; d++) {
    isoOf.push(fromDayNumber(firstDay + d));
    wdOf[d] = weekday(firstDay + d);
    doyOf[d] = dayOfYear(firstDay + d);
    holOf[d] = holidayOn(firstDay + d);
  }
  const isoFuture = (dn: number) => (dn - firstDay < nDays ? isoOf[dn - firstDay] : fromDayNumber(dn));
  // One writer per table, looked up once: rows go straight to the database's writer.
  const w = Object.fromEntries(SAMPLE_TABLES.map((t) => [t, sink.writer(t)])) as Record<SampleTable, (...values: unknown[]) => void>;
  const rows: Record<string, number> = {};
  const count = (t: string, n = 1) => (rows[t] = (rows[t] ?? 0) + n);

  // Locations, weather, sensors.
  const excursionDays: Set<number>[] = [];
  {
    for (let l = 1; l <= opts.locations; l++) {
      w.locations(l, l === 1 ? 'MAIN' : `LOC-${String(l).padStart(2, '0')}`, l === 1 ? 'Main store' : `Store ${l}`);
      count('locations');
      for (let d = 0; d < nDays; d++) {
        const doy = doyOf[d];
        const t = 15 + 10 * Math.cos((2 * Math.PI * (doy - 196)) / 365.25) + 3 * rng.normal();
        const rain = rng.next() < 0.3 ? Math.round(rng.gamma(1.5) * 40) / 10 : 0;
        w.weather(l, isoOf[d], Math.round(t * 10) / 10, rain);
        count('weather');
      }
      // Sensors every 4 hours in three zones; a handful of multi-hour excursions in the chilled zone.
      const exc = new Set<number>();
      const nExc = 6 + rng.int(0, 4);
      for (let k = 0; k < nExc; k++) exc.add(rng.int(0, nDays - 1));
      exc.add(nDays - 3); // a recent excursion, so quality-risk has something current to find
      excursionDays.push(exc);
      const zones: [string, number, number, number][] = [
        ['ambient', 20, 1.5, 50],
        ['chilled', 4, 0.5, 85],
        ['frozen', -18, 0.8, 60],
      ];
      for (let d = 0; d < nDays; d++) {
        for (let h = 0; h < 24; h += 4) {
          for (const [zone, mean, sd, hum] of zones) {
            let temp = mean + sd * rng.normal();
            if (zone === 'chilled' && exc.has(d) && h >= 8 && h <= 20) temp = 9 + 3 * rng.next();
            w.sensor_readings(l, zone, `${isoOf[d]}T${String(h).padStart(2, '0')}:00:00Z`, Math.round(temp * 10) / 10, Math.round((hum + 5 * rng.normal()) * 10) / 10);
            count('sensor_readings');
          }
        }
      }
    }
    // Events: holidays for every year of the history and the next 60 days, category promotions likewise.
    const horizonEnd = lastDay + 60;
    for (let dn = firstDay; dn <= horizonEnd; dn++) {
      const h = holidayOn(dn);
      if (h >= 0) {
        w.events(HOLIDAYS[h].name, 'holiday', fromDayNumber(dn), fromDayNumber(dn), null, null, null, dn > lastDay ? HOLIDAYS[h].uplift - 1 : null, eventRef('holiday', HOLIDAYS[h].name, fromDayNumber(dn), '', ''));
        count('events');
      }
    }
    CATEGORIES.forEach((c, ci) => {
      for (const [s, e] of promoWindows(ci, firstDay, horizonEnd)) {
        w.events(`Promo ${c.name}`, 'promotion', fromDayNumber(s), fromDayNumber(e), null, c.name, null, s > lastDay ? c.promoUplift - 1 : null, eventRef('promotion', `Promo ${c.name}`, fromDayNumber(s), c.name, ''));
        count('events');
      }
    });
  }
  yield;

  // Suppliers: one per ~25 products, at least 3.
  const nSuppliers = Math.max(3, Math.ceil(opts.products / 25));
  const suppliers: { lead: number; sd: number }[] = [];
  {
    const supplierRows: unknown[][] = [];
    for (let s = 1; s <= nSuppliers; s++) {
      const lead = rng.int(2, 12);
      const sd = Math.round(rng.uniform(0, lead * 0.25) * 10) / 10;
      suppliers.push({ lead, sd });
      supplierRows.push([s, `SUP-${String(s).padStart(3, '0')}`, `Supplier ${s}`, lead, sd, Math.round(rng.uniform(10, 60))]);
      count('suppliers');
    }
    // Ordering terms from their own stream, so the rest of the data set does not move:
    // 1 to 3 review weekdays, a minimum order value of 100..1,500.
    const terms = new Rng((opts.seed ^ 0x5eed) >>> 0);
    for (let s = 1; s <= nSuppliers; s++) {
      const n = terms.int(1, 3);
      const first = terms.int(0, 6);
      const days = [...new Set(Array.from({ length: n }, (_, k) => (first + Math.round((k * 7) / n)) % 7))].sort((a, b) => a - b);
      w.suppliers(...supplierRows[s - 1], days.map((d) => WEEKDAYS[d]).join(','), Math.round(terms.uniform(100, 1500) / 50) * 50);
    }
  }
  yield;

  const truth: SeriesTruth[] = [];
  const demand = new Float64Array(nDays);
  const CHUNK = 200;
  for (let from = 0; from < opts.products; from += CHUNK) {
    const to = Math.min(opts.products, from + CHUNK);
    for (let p = from; p < to; p++) {
      const pid = p + 1;
      const ci = p % CATEGORIES.length;
      const cat = CATEGORIES[ci];
      const sku = `SKU-${String(pid).padStart(5, '0')}`;
      const r = rng.next();
      const cls: DemandClass = family.demandClass(r, p, opts.products);
      const unitCost = Math.round(rng.uniform(cat.unitCost[0], cat.unitCost[1]) * 100) / 100;
      const regularPrice0 = Math.round(unitCost * rng.uniform(1.3, 1.8) * 100) / 100;
      const shelf = cat.perishable ? rng.int(cat.perishable.shelfLife[0], cat.perishable.shelfLife[1]) : null;
      w.products(pid, sku, `${cat.name} item ${pid}`, cat.name, unitCost, regularPrice0, shelf, cat.perishable?.storage ?? 'ambient', 1);
      count('products');
      const supIdx = rng.int(0, nSuppliers - 1);
      const sup = suppliers[supIdx];
      const pack = rng.pick([1, 1, 6, 12, 24]);
      const moq = pack * rng.pick([1, 1, 2, 5]);
      w.supplier_products(supIdx + 1, pid, pack, moq, unitCost, 1);
      w.price_breaks(supIdx + 1, pid, pack * 10, Math.round(unitCost * 0.97 * 100) / 100);
      w.price_breaks(supIdx + 1, pid, pack * 40, Math.round(unitCost * 0.93 * 100) / 100);
      count('supplier_products');
      count('price_breaks', 2);
      // Regular price change: 40 % of products get one increase of 5-15 % somewhere in the history.
      const priceChangeDay = rng.next() < 0.4 ? rng.int(Math.floor(nDays * 0.3), nDays - 30) : -1;
      const priceStep = 1 + rng.uniform(0.05, 0.15);
      const growth = rng.uniform(-0.15, 0.25);
      const base = family.baseLevel(cls, rng);
      const poorPolicy = family.poorPolicy(rng);
      const season = family.yearly(cat, rng);
      const promos = promoWindows(ci, firstDay, lastDay);
      const promoDay = new Uint8Array(nDays);
      for (const [ps, pe] of promos) for (let dn = ps; dn <= pe; dn++) if (dn - firstDay < nDays) promoDay[dn - firstDay] = 1;
      const yearly = new Float64Array(nDays);
      for (let d = 0; d < nDays; d++) yearly[d] = 1 + season.amplitude * Math.cos((2 * Math.PI * (doyOf[d] - season.peakDoy)) / 365.25);
      for (let l = 1; l <= opts.locations; l++) {
        const locScale = l === 1 ? 1 : rng.uniform(0.4, 1.2);
        truth.push({ sku, location: l === 1 ? 'MAIN' : `LOC-${String(l).padStart(2, '0')}`, category: cat.name, demandClass: cls, baseLevel: base * locScale, growthPerYear: growth });
        // Demand
        for (let d = 0; d < nDays; d++) {
          const onPromo = promoDay[d] === 1;
          const h = holOf[d];
          let mu = base * locScale * cat.weekly[wdOf[d]] * yearly[d];
          mu *= Math.max(0.2, 1 + growth * ((d - nDays) / 365));
          if (onPromo) mu *= cat.promoUplift;
          if (h >= 0) mu *= HOLIDAYS[h].uplift;
          if (priceChangeDay >= 0 && d >= priceChangeDay) mu *= Math.pow(priceStep, PRICE_ELASTICITY);
          if (cls === 'dormant' && d >= nDays - 150) mu = 0;
          if (cls === 'intermittent') demand[d] = family.intermittentDemand(mu, rng);
          else if (cls === 'fast') demand[d] = rng.poisson(mu * (rng.gamma(20) / 20));
          else demand[d] = rng.poisson(mu);
        }
        // Replenishment: order-up-to with reorder point; 12 % of series run a too-thin policy and stock out.
        const meanDemand = Math.max(0.05, base * locScale * (cls === 'intermittent' ? 2.5 : 1));
        const cover = poorPolicy ? 0.6 : 1.6;
        // Perishables are ordered for at most ~60 % of their shelf life.
        const cycleDays = shelf !== null ? Math.max(1, Math.min(14, Math.floor(shelf * 0.6))) : 14;
        const rop = Math.ceil(meanDemand * (sup.lead + (shelf !== null ? 1 : 2)) * cover);
        const upTo = rop + Math.ceil(meanDemand * cycleDays);
        let onHand = upTo;
        // Dormant series stop selling 150 days before today; their last order arrives 160 days before, so stock remains.
        const lastOrderDay = cls === 'dormant' ? nDays - 170 : nDays;
        const pipeline: { qty: number; arrive: number; row: [number, number, number, number, number, string, string] }[] = [];
        let lastStock = -1;
        for (let d = 0; d < nDays; d++) {
          const dn = firstDay + d;
          for (let k = pipeline.length - 1; k >= 0; k--) {
            if (pipeline[k].arrive === dn) {
              onHand += pipeline[k].qty;
              w.purchase_orders(...pipeline[k].row, isoOf[d], 'received');
              count('purchase_orders');
              pipeline.splice(k, 1);
            }
          }
          const sold = Math.min(onHand, demand[d]);
          onHand -= sold;
          if (sold > 0) {
            const promo = promoDay[d] === 1;
            let price = regularPrice0 * (priceChangeDay >= 0 && d >= priceChangeDay ? priceStep : 1);
            if (promo) price *= PROMO_PRICE_FACTOR;
            price = Math.round(price * 100) / 100;
            w.sales(pid, l, isoOf[d], sold, Math.round(sold * price * 100) / 100, price, promo ? 1 : 0);
            count('sales');
          }
          // Perishable waste: the occasional spoilage after a chilled-zone excursion.
          if (cat.perishable?.storage === 'chilled' && excursionDays[l - 1].has(d) && onHand > 0) {
            const lost = Math.min(onHand, Math.ceil(onHand * rng.uniform(0.2, 0.5)));
            onHand -= lost;
            w.quality_incidents(pid, l, isoOf[d], lost, 'temperature excursion');
            count('quality_incidents');
          }
          if (onHand !== lastStock || d === nDays - 1) {
            w.stock_levels(pid, l, isoOf[d], onHand);
            count('stock_levels');
            lastStock = onHand;
          }
          const onOrder = pipeline.reduce((a, o) => a + o.qty, 0);
          if (d < lastOrderDay && onHand + onOrder <= rop) {
            let q = Math.max(upTo - onHand - onOrder, moq);
            q = Math.ceil(q / pack) * pack;
            const lt = Math.max(1, Math.round(sup.lead + sup.sd * rng.normal()));
            pipeline.push({ qty: q, arrive: dn + lt, row: [supIdx + 1, pid, l, q, unitCost, isoOf[d], isoFuture(dn + sup.lead)] });
          }
        }
        for (const o of pipeline) {
          w.purchase_orders(...o.row, null, 'open');
          count('purchase_orders');
        }
      }
    }
    yield;
    opts.onProgress?.(to, opts.products);
  }
  for (const entity of ['sales', 'stock'])
    w.data_changes(entity, isoOf[0], isoOf[nDays - 1], rows[entity === 'sales' ? 'sales' : 'stock_levels'] ?? 0, new Date().toISOString());
  return {
    summary: {
      products: opts.products,
      locations: opts.locations,
      series: opts.products * opts.locations,
      days: nDays,
      firstDate: fromDayNumber(firstDay),
      lastDate: addDays(opts.today, -1),
      rows,
    },
    truth,
  };
}
