/**
 * The sample data generator. Deterministic for a seed. The generating process
 * is documented in docs/sample-data.md; the constants below are the ground
 * truth that tests check the models against.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { WEEKDAYS } from '../inventory/review.js';
import { Rng } from './random.js';
import { eventRef } from './entities.js';
import { BulkInsert } from '../db/bulk.js';
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

/**
 * Writes the sample data set into an empty, migrated SQLite database. Bulk
 * inserts run in transactions with prepared statements, products in chunks,
 * so memory stays flat with --products 30000.
 */
export function generateSample(sqlite: BetterSqlite3.Database, opts: SampleOptions): { summary: SampleSummary; truth: SeriesTruth[] } {
  const rng = new Rng(opts.seed);
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
  const rows: Record<string, number> = {};
  const count = (t: string, n = 1) => (rows[t] = (rows[t] ?? 0) + n);

  const ins = {
    location: sqlite.prepare('insert into locations (id, code, name) values (?, ?, ?)'),
    product: sqlite.prepare('insert into products (id, sku, name, category, unit_cost, unit_price, shelf_life_days, storage, active) values (?, ?, ?, ?, ?, ?, ?, ?, 1)'),
    supplier: sqlite.prepare('insert into suppliers (id, code, name, lead_time_days, lead_time_sd_days, order_cost) values (?, ?, ?, ?, ?, ?)'),
    sp: sqlite.prepare('insert into supplier_products (supplier_id, product_id, pack_size, min_order_qty, unit_cost, is_primary) values (?, ?, ?, ?, ?, 1)'),
    pb: sqlite.prepare('insert into price_breaks (supplier_id, product_id, min_qty, unit_cost) values (?, ?, ?, ?)'),
    sale: new BulkInsert(sqlite, 'sales', ['product_id', 'location_id', 'date', 'quantity', 'revenue', 'unit_price', 'on_promo']),
    stock: new BulkInsert(sqlite, 'stock_levels', ['product_id', 'location_id', 'date', 'on_hand']),
    po: new BulkInsert(sqlite, 'purchase_orders', ['supplier_id', 'product_id', 'location_id', 'quantity', 'unit_cost', 'ordered_on', 'expected_on', 'received_on', 'status'], 32),
    event: sqlite.prepare('insert into events (name, kind, start_date, end_date, product_id, category, location_id, planned_uplift, ref) values (?, ?, ?, ?, null, ?, null, ?, ?)'),
    weather: sqlite.prepare('insert into weather (location_id, date, temp_max_c, precipitation_mm) values (?, ?, ?, ?)'),
    sensor: sqlite.prepare('insert into sensor_readings (location_id, zone, ts, temperature_c, humidity_pct) values (?, ?, ?, ?, ?)'),
    incident: sqlite.prepare('insert or ignore into quality_incidents (product_id, location_id, date, quantity_lost, cause) values (?, ?, ?, ?, ?)'),
  };

  // Locations, weather, sensors.
  const excursionDays: Set<number>[] = [];
  const setup = sqlite.transaction(() => {
    for (let l = 1; l <= opts.locations; l++) {
      ins.location.run(l, l === 1 ? 'MAIN' : `LOC-${String(l).padStart(2, '0')}`, l === 1 ? 'Main store' : `Store ${l}`);
      count('locations');
      for (let d = 0; d < nDays; d++) {
        const doy = doyOf[d];
        const t = 15 + 10 * Math.cos((2 * Math.PI * (doy - 196)) / 365.25) + 3 * rng.normal();
        const rain = rng.next() < 0.3 ? Math.round(rng.gamma(1.5) * 40) / 10 : 0;
        ins.weather.run(l, isoOf[d], Math.round(t * 10) / 10, rain);
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
            ins.sensor.run(l, zone, `${isoOf[d]}T${String(h).padStart(2, '0')}:00:00Z`, Math.round(temp * 10) / 10, Math.round((hum + 5 * rng.normal()) * 10) / 10);
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
        ins.event.run(HOLIDAYS[h].name, 'holiday', fromDayNumber(dn), fromDayNumber(dn), null, dn > lastDay ? HOLIDAYS[h].uplift - 1 : null, eventRef('holiday', HOLIDAYS[h].name, fromDayNumber(dn), '', ''));
        count('events');
      }
    }
    CATEGORIES.forEach((c, ci) => {
      for (const [s, e] of promoWindows(ci, firstDay, horizonEnd)) {
        ins.event.run(`Promo ${c.name}`, 'promotion', fromDayNumber(s), fromDayNumber(e), c.name, s > lastDay ? c.promoUplift - 1 : null, eventRef('promotion', `Promo ${c.name}`, fromDayNumber(s), c.name, ''));
        count('events');
      }
    });
  });
  setup();

  // Suppliers: one per ~25 products, at least 3.
  const nSuppliers = Math.max(3, Math.ceil(opts.products / 25));
  const suppliers: { lead: number; sd: number }[] = [];
  sqlite.transaction(() => {
    for (let s = 1; s <= nSuppliers; s++) {
      const lead = rng.int(2, 12);
      const sd = Math.round(rng.uniform(0, lead * 0.25) * 10) / 10;
      suppliers.push({ lead, sd });
      ins.supplier.run(s, `SUP-${String(s).padStart(3, '0')}`, `Supplier ${s}`, lead, sd, Math.round(rng.uniform(10, 60)));
      count('suppliers');
    }
    // Ordering terms from their own stream, so the rest of the data set does not move:
    // 1 to 3 review weekdays, a minimum order value of 100..1,500.
    const terms = new Rng((opts.seed ^ 0x5eed) >>> 0);
    const setTerms = sqlite.prepare('update suppliers set review_days = ?, min_order_value = ? where id = ?');
    for (let s = 1; s <= nSuppliers; s++) {
      const n = terms.int(1, 3);
      const first = terms.int(0, 6);
      const days = [...new Set(Array.from({ length: n }, (_, k) => (first + Math.round((k * 7) / n)) % 7))].sort((a, b) => a - b);
      setTerms.run(days.map((d) => WEEKDAYS[d]).join(','), Math.round(terms.uniform(100, 1500) / 50) * 50, s);
    }
  })();

  const truth: SeriesTruth[] = [];
  const demand = new Float64Array(nDays);
  const CHUNK = 200;
  const writeChunk = sqlite.transaction((from: number, to: number) => {
    for (let p = from; p < to; p++) {
      const pid = p + 1;
      const ci = p % CATEGORIES.length;
      const cat = CATEGORIES[ci];
      const sku = `SKU-${String(pid).padStart(5, '0')}`;
      const r = rng.next();
      const cls: DemandClass = p === 7 || (opts.products > 100 && r < 0.015) ? 'dormant' : r < 0.6 ? 'fast' : r < 0.85 ? 'slow' : 'intermittent';
      const unitCost = Math.round(rng.uniform(cat.unitCost[0], cat.unitCost[1]) * 100) / 100;
      const regularPrice0 = Math.round(unitCost * rng.uniform(1.3, 1.8) * 100) / 100;
      const shelf = cat.perishable ? rng.int(cat.perishable.shelfLife[0], cat.perishable.shelfLife[1]) : null;
      ins.product.run(pid, sku, `${cat.name} item ${pid}`, cat.name, unitCost, regularPrice0, shelf, cat.perishable?.storage ?? 'ambient');
      count('products');
      const supIdx = rng.int(0, nSuppliers - 1);
      const sup = suppliers[supIdx];
      const pack = rng.pick([1, 1, 6, 12, 24]);
      const moq = pack * rng.pick([1, 1, 2, 5]);
      ins.sp.run(supIdx + 1, pid, pack, moq, unitCost);
      ins.pb.run(supIdx + 1, pid, pack * 10, Math.round(unitCost * 0.97 * 100) / 100);
      ins.pb.run(supIdx + 1, pid, pack * 40, Math.round(unitCost * 0.93 * 100) / 100);
      count('supplier_products');
      count('price_breaks', 2);
      // Regular price change: 40 % of products get one increase of 5-15 % somewhere in the history.
      const priceChangeDay = rng.next() < 0.4 ? rng.int(Math.floor(nDays * 0.3), nDays - 30) : -1;
      const priceStep = 1 + rng.uniform(0.05, 0.15);
      const growth = rng.uniform(-0.15, 0.25);
      const base = cls === 'fast' ? rng.uniform(8, 60) : cls === 'slow' ? rng.uniform(1, 4) : cls === 'dormant' ? rng.uniform(1, 5) : rng.uniform(0.15, 0.5);
      const poorPolicy = rng.next() < 0.12;
      const promos = promoWindows(ci, firstDay, lastDay);
      const promoDay = new Uint8Array(nDays);
      for (const [ps, pe] of promos) for (let dn = ps; dn <= pe; dn++) if (dn - firstDay < nDays) promoDay[dn - firstDay] = 1;
      const yearly = new Float64Array(nDays);
      for (let d = 0; d < nDays; d++) yearly[d] = 1 + cat.yearlyAmplitude * Math.cos((2 * Math.PI * (doyOf[d] - cat.yearlyPeakDoy)) / 365.25);
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
          if (cls === 'intermittent') demand[d] = rng.next() < mu ? 1 + rng.poisson(1.5) : 0;
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
              ins.po.push(...pipeline[k].row, isoOf[d], 'received');
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
            ins.sale.push(pid, l, isoOf[d], sold, Math.round(sold * price * 100) / 100, price, promo ? 1 : 0);
            count('sales');
          }
          // Perishable waste: the occasional spoilage after a chilled-zone excursion.
          if (cat.perishable?.storage === 'chilled' && excursionDays[l - 1].has(d) && onHand > 0) {
            const lost = Math.min(onHand, Math.ceil(onHand * rng.uniform(0.2, 0.5)));
            onHand -= lost;
            ins.incident.run(pid, l, isoOf[d], lost, 'temperature excursion');
            count('quality_incidents');
          }
          if (onHand !== lastStock || d === nDays - 1) {
            ins.stock.push(pid, l, isoOf[d], onHand);
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
          ins.po.push(...o.row, null, 'open');
          count('purchase_orders');
        }
      }
    }
    ins.sale.flush();
    ins.stock.flush();
    ins.po.flush();
  });
  for (let from = 0; from < opts.products; from += CHUNK) {
    writeChunk(from, Math.min(opts.products, from + CHUNK));
    opts.onProgress?.(Math.min(opts.products, from + CHUNK), opts.products);
  }
  for (const entity of ['sales', 'stock'])
    sqlite.prepare('insert into data_changes (entity, min_date, max_date, rows, changed_at) values (?, ?, ?, ?, ?)').run(entity, isoOf[0], isoOf[nDays - 1], rows[entity === 'sales' ? 'sales' : 'stock_levels'] ?? 0, new Date().toISOString());
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
