/**
 * What a planner reads: calibrated quality risk, order quantities with shelf
 * life, order cost and cover, orders per supplier, an honest simulation,
 * overrides, learned lead times, new products, ranking and number formatting.
 */
import { join } from 'node:path';
import { addDays, dayNumber, weekday } from '../src/dates.js';
import { assessQuality, calibrationTable } from '../src/jobs/quality.js';
import { optimizePolicies } from '../src/jobs/planning.js';
import { knownOn, simulatePolicies } from '../src/jobs/simulate.js';
import { savingsJob, rankUrgent } from '../src/jobs/dashboard.js';
import { addOverride, listOverrides, overrideAudit, removeOverride, osUser } from '../src/jobs/overrides.js';
import { predictJob } from '../src/jobs/forecasting.js';
import { draftOrders } from '../src/jobs/orders.js';
import { evaluateAlerts, type AlertThresholds } from '../src/inventory/alert-rules.js';
import { coverCapDays } from '../src/inventory/order.js';
import { suggestQuantity, type SuggestInput } from '../src/inventory/suggestion.js';
import { buildDraft, type DraftCandidate } from '../src/inventory/purchase-order.js';
import { policyTotals, StockSim } from '../src/inventory/simulation.js';
import { planningLeadTime, receiptStats, statsFromSums } from '../src/inventory/lead-times.js';
import { applyOverride } from '../src/inventory/overrides.js';
import { borrowedForecast, borrowsForecast, MIN_OWN_DAYS } from '../src/inventory/new-products.js';
import { isReviewDay, longestReviewGap, parseReviewDays, reviewGap } from '../src/inventory/review.js';
import { formatNumber, table } from '../src/commands/render.js';
import type { SeriesState } from '../src/db/state.js';
import type { EngineSeries } from '../src/ml/engine.js';
import { jobCtx, newDb, sampleDb, tempDir } from './helpers.js';

const TODAY = '2026-06-01';

// ---------------------------------------------------------------- quality risk

describe('quality risk on sample data', () => {
  let ctx: ReturnType<typeof jobCtx>;
  beforeAll(async () => {
    const { db } = await sampleDb({ today: TODAY, products: 120, days: 730, seed: 11 });
    ctx = jobCtx(db, TODAY);
  });
  afterAll(async () => ctx.db.close());

  test('the learned risk keeps the base rate: no series rated critical, predicted and observed agree within 2x in every decile with 20+ series', async () => {
    const q = await assessQuality(ctx);
    expect(q.summary.method).toMatch(/^logistic/);
    const rows = q.rows as { risk: number; level: string }[];
    // Against a base rate of a few percent, nothing is "more likely than not".
    expect(rows.filter((r) => r.level === 'critical')).toHaveLength(0);
    const mean = rows.reduce((s, r) => s + r.risk, 0) / rows.length;
    expect(mean).toBeLessThan(4 * q.summary.base_rate);
    const judged = q.calibration.filter((b) => b.series >= 20);
    expect(judged.length).toBeGreaterThan(0);
    for (const b of judged) {
      expect(b.observed).toBeGreaterThanOrEqual(b.predicted_mean / 2);
      expect(b.observed).toBeLessThanOrEqual(b.predicted_mean * 2);
    }
    // An alert level is either stated with its precision, or absent with the reason.
    if (q.summary.alert_threshold === null) expect(q.summary.alert_rule).toMatch(/^no quality alerts: /);
    else expect(q.summary.alert_precision).toBeGreaterThanOrEqual(0.2);
  });

  test('shelf_life_days = 0 on an out-of-stock product: skipped and named, every other risk finite', async () => {
    const p = ctx.db.sqlite!.prepare(`select id, sku from products where shelf_life_days is not null order by id limit 1`).get() as { id: number; sku: string };
    ctx.db.sqlite!.prepare('update products set shelf_life_days = 0 where id = ?').run(p.id);
    ctx.db.sqlite!.prepare('insert or replace into stock_levels (product_id, location_id, date, on_hand) values (?, 1, ?, 0)').run(p.id, addDays(TODAY, -1));
    const q = await assessQuality(ctx);
    expect(q.skipped.map((s) => s.sku)).toEqual([p.sku]);
    expect(q.skipped[0].reason).toMatch(/shelf_life_days is 0/);
    const rows = q.rows as { sku: string; risk: number }[];
    expect(rows.find((r) => r.sku === p.sku)).toBeUndefined();
    for (const r of rows) expect(Number.isFinite(r.risk)).toBe(true);
  });
});

test('calibration table: deciles of risk, observed frequency per decile (hand-worked)', () => {
  // 10 rows at 5 % with 1 incident, 10 rows at 35 % with 4 incidents.
  const pred = [...Array(10).fill(0.05), ...Array(10).fill(0.35)];
  const y = [1, ...Array(9).fill(0), 1, 1, 1, 1, ...Array(6).fill(0)];
  const t = calibrationTable(pred, y, pred.map((_, i) => `S${i}`));
  expect(t.map((b) => [b.decile, b.rows, b.predicted_mean, b.observed])).toEqual([['0-10 %', 10, 0.05, 0.1], ['30-40 %', 10, 0.35, 0.4]]);
});

// ---------------------------------------------------------------- order quantity

function input(over: Partial<SuggestInput>): SuggestInput {
  return {
    onHand: 0, receipts: [], demand: new Float64Array(60).fill(2), leadTimeDays: 5, targetDays: 18, safetyStock: 1, safetyMargin: 0, packSize: 1, moq: 0,
    listUnitCost: 1, priceBreaks: [], holdingRatePerYear: 0.25, shelfLifeDays: null, orderCost: 0, maxCoverDays: 180, ...over,
  };
}

describe('order quantity: shelf life, order cost, cover', () => {
  test('a 3 % price break does not turn a need of 37 into 480 when holding outweighs it', () => {
    // 2/day: need = 2 x 18 + 1 = 37; 480 units are 240 days of demand, past the cover cap, and 8 % of holding.
    const s = suggestQuantity(input({ priceBreaks: [{ minQty: 480, unitCost: 0.97 }] }));
    expect(s.need).toBeCloseTo(37, 9);
    expect(s.quantity).toBe(37);
  });
  test('a need of 37 at 8/day: a 3 % break at 480 (60 days) is past what the forecast covers, so not taken', () => {
    // need = 8 x 4 + 5 = 37; cap = horizon 30 + L 2 + R 2 = 34 days x 8 = 272 < 480.
    const s = suggestQuantity(input({ demand: new Float64Array(30).fill(8), leadTimeDays: 2, targetDays: 4, safetyStock: 5, maxCoverDays: 34, priceBreaks: [{ minQty: 480, unitCost: 0.97 }] }));
    expect(s.need).toBeCloseTo(37, 9);
    expect(s.quantity).toBe(37);
  });
  test('... and takes it when the total cost says so (40/day: 480 units are 12 days)', () => {
    const s = suggestQuantity(input({ demand: new Float64Array(60).fill(40), targetDays: 1, safetyStock: 0, priceBreaks: [{ minQty: 480, unitCost: 0.97 }] }));
    // 40 at 1.00 + holding vs 480 at 0.97 + holding 0.25 x 0.97 x 480^2 / (2 x 40 x 365): 0.9739 < 1.0003 per unit.
    expect(s.quantity).toBe(480);
  });
  test('EOQ with the order cost: sqrt(2 K 365 r / (h c)) = sqrt(2 x 20 x 365 x 2 / 0.25) = 341.6 -> 342', () => {
    const s = suggestQuantity(input({ orderCost: 20 }));
    expect(s.quantity).toBe(342);
    expect(s.alternatives.map((a) => a.note)).toContain('economic lot (order cost 20)');
  });
  test('never past the shelf life: 4-day shelf life, 2.2/day, order cost 50 -> at most 8.8 units', () => {
    const s = suggestQuantity(input({ demand: new Float64Array(60).fill(2.2), shelfLifeDays: 4, orderCost: 50, leadTimeDays: 1, targetDays: 2 }));
    expect(s.quantity).toBeGreaterThan(0);
    expect(s.quantity).toBeLessThanOrEqual(8.8);
  });
  test('an MOQ above what sells before expiry: ordered only when the units sold pay for the ones that expire', () => {
    const base = input({ demand: new Float64Array(60).fill(2), shelfLifeDays: 3, moq: 30, leadTimeDays: 1, targetDays: 2, listUnitCost: 1 });
    // 6 sell, 30 bought: 6 x price vs 30 x 1.
    expect(suggestQuantity({ ...base, unitPrice: 4 }).quantity).toBe(0);
    expect(suggestQuantity({ ...base, unitPrice: 6 }).quantity).toBe(30);
  });
});

test('optimize: a bakery product with a 4-day shelf life selling 2.2 a day gets at most what sells in 4 days', async () => {
  const db = await newDb(join(tempDir(), 'o.db'));
  const s = db.sqlite!;
  s.exec(`insert into locations (id, code) values (1, 'MAIN');
          insert into products (id, sku, category, unit_cost, unit_price, shelf_life_days, storage, active) values (1, 'BREAD', 'bakery', 0.4, 1, 4, 'ambient', 1);
          insert into suppliers (id, code, lead_time_days, lead_time_sd_days, order_cost) values (1, 'S', 1, 0, 50);
          insert into supplier_products (supplier_id, product_id, pack_size, min_order_qty, unit_cost, is_primary) values (1, 1, 1, 1, 0.4, 1)`);
  const sale = s.prepare('insert into sales (product_id, location_id, date, quantity) values (1, 1, ?, ?)');
  const stock = s.prepare('insert into stock_levels (product_id, location_id, date, on_hand) values (1, 1, ?, 20)');
  for (let d = 1; d <= 364; d++) {
    sale.run(addDays(TODAY, -d), d % 5 === 0 ? 3 : 2); // 2.2 a day
    stock.run(addDays(TODAY, -d));
  }
  const r = await optimizePolicies(jobCtx(db, TODAY));
  const row = r.rows[0] as { order_qty: number };
  expect(row.order_qty).toBeGreaterThan(0);
  expect(row.order_qty).toBeLessThanOrEqual(2.2 * 4 + 1e-9);
  await db.close();
});

// ---------------------------------------------------------------- orders per supplier

function cand(key: string, q: number, over: Partial<DraftCandidate> = {}): DraftCandidate {
  return { key, sku: key, quantity: q, reason: 'due', listUnitCost: 10, priceBreaks: [], packSize: 1, moq: 0, rate: 10, maxQuantity: Infinity, ...over };
}

describe('draft purchase order', () => {
  test('topped up to the minimum order value when cheaper than a second order', () => {
    // 8 units of A at 10 = 80 < 100. Extra holding h c (q'^2 - q^2) / (2 r 365) per 10 added:
    // A 8 -> 9 (r 10): 2.5 x 17 / 7300 = 0.0058; B 0 -> 1 (r 1): 2.5 x 1 / 730 = 0.0034 -> B first;
    // then A 8 -> 9 (0.0058) beats B 1 -> 2 (2.5 x 3 / 730 = 0.0103). Total 0.0092, below K = 30.
    const d = buildDraft([cand('A', 8), cand('B', 0, { rate: 1 })], { minOrderValue: 100, orderCost: 30, holdingRatePerYear: 0.25 });
    expect(d.status).toBe('ok');
    expect(d.total).toBeCloseTo(100, 9);
    expect(d.topUpHoldingCost).toBeCloseTo((2.5 * 17) / 7300 + 2.5 / 730, 9);
    expect(d.lines.map((l) => [l.sku, l.quantity])).toEqual([['A', 9], ['B', 1]]);
    expect(d.note).toMatch(/topped up from 80.00 to the minimum order value 100.00/);
  });
  test('left below the minimum, and says why, when topping up costs more than the order it saves', () => {
    // 1,000 to add of a product selling 0.1 a day: a year of holding, far more than K = 5.
    const d = buildDraft([cand('A', 1, { rate: 0.1 })], { minOrderValue: 1000, orderCost: 5, holdingRatePerYear: 0.25 });
    expect(d.status).toBe('below_minimum');
    expect(d.total).toBe(10);
    expect(d.note).toMatch(/more than the 5.00 of a second order/);
  });
  test('every line a multiple of its pack and at least its MOQ after the top-up', () => {
    const d = buildDraft([cand('A', 12, { packSize: 6, moq: 12 }), cand('B', 0, { packSize: 4, moq: 8, rate: 5 })], { minOrderValue: 500, orderCost: 100, holdingRatePerYear: 0.25 });
    for (const l of d.lines) {
      const c = l.sku === 'A' ? { pack: 6, moq: 12 } : { pack: 4, moq: 8 };
      expect(l.quantity % c.pack).toBe(0);
      expect(l.quantity).toBeGreaterThanOrEqual(c.moq);
    }
    expect(d.total).toBeGreaterThanOrEqual(500);
  });
});

test('orders on sample data: one draft per supplier with something due, lines in packs >= MOQ, each at the minimum order value or saying why not', async () => {
  const { db } = await sampleDb({ today: TODAY, products: 40, days: 400, seed: 9 });
  const ctx = jobCtx(db, TODAY);
  await predictJob.run(ctx, { horizon: 30 });
  const r = await draftOrders(ctx, { allSuppliers: true });
  expect(r.drafts.length).toBeGreaterThan(0);
  expect(new Set(r.drafts.map((d) => `${d.supplier}@${d.location}`)).size).toBe(r.drafts.length);
  for (const d of r.drafts) {
    expect(d.lines.length).toBeGreaterThan(0);
    for (const l of d.lines) {
      expect(Math.abs(l.quantity / l.pack_size - Math.round(l.quantity / l.pack_size))).toBeLessThan(1e-9);
      expect(l.quantity).toBeGreaterThanOrEqual(l.moq);
      expect(l.reason.length).toBeGreaterThan(0);
    }
    expect(d.total).toBeCloseTo(d.lines.reduce((s, l) => s + l.value, 0), 1);
    if (d.total < d.min_order_value) expect(d.status === 'below_minimum' && /below the minimum order value/.test(d.note ?? '')).toBe(true);
  }
  await db.close();
});

describe('review days', () => {
  test('"mon,thu": Monday -> next review in 3 days, Thursday -> 4; longest gap 4', () => {
    const days = parseReviewDays('mon,thu');
    expect(days).toEqual([0, 3]);
    const monday = dayNumber('2026-06-01');
    expect(weekday(monday)).toBe(0);
    expect(reviewGap(days, monday)).toBe(3);
    expect(reviewGap(days, monday + 3)).toBe(4);
    expect(isReviewDay(days, monday + 1)).toBe(false);
    expect(longestReviewGap(days)).toBe(4);
    expect(() => parseReviewDays('mon,funday')).toThrow(/"funday" is not a weekday/);
  });
});

// ---------------------------------------------------------------- simulation

describe('honest simulation', () => {
  test('expired stock goes, ordering cost counts, total cost = purchase of demand + holding + ordering + lost margin (hand-worked)', () => {
    // Shelf life 2: 10 on hand on day 0, demand 3/day; 4 left expire on day 2.
    const sim = new StockSim(10, [], 1, 2);
    sim.serve(0, 3);
    sim.serve(1, 3);
    sim.serve(2, 3);
    expect(sim.result.expired).toBe(4);
    expect(sim.result.served).toBe(6);
    sim.order(2, 5, 1);
    sim.serve(3, 3);
    const t = policyTotals([sim.result], [{ unitCost: 1, unitPrice: 3 }], 1, 40, 4, 0.25);
    // stock units x days: 7 + 4 + 0 + 2 = 13 -> average value 13 / 4; lost 3 units x margin 2.
    expect(t.fill_rate).toBeCloseTo(9 / 12, 9);
    expect(t.ordering_cost).toBe(40);
    expect(t.lost_margin).toBe(6);
    expect(t.holding_cost).toBeCloseTo(((13 / 4) * 0.25 * 4) / 365, 9);
    // purchase 5 + opening 10 - closing 2 + lost 3 at cost = 16.
    expect(t.purchase_cost_of_demand).toBe(16);
    expect(t.total_cost).toBeCloseTo(16 + t.holding_cost + 40 + 6, 9);
  });

  test('each morning sees planned promotions only and the last regular price', () => {
    const T = 5;
    const H = 3;
    const s: EngineSeries = {
      id: '1:1', group: 'g', y: Float64Array.from([1, 1, 1, 1, 1, 9, 9, 9]),
      promo: Uint8Array.from([0, 0, 1, 0, 0, 1, 1, 0]), // the sales' own flags: a promotion after day T that nobody planned
      logPrice: Float32Array.from([0, 0, -0.2, 0.1, 0.1, -0.3, -0.3, 0.2]),
    };
    const planned = Uint8Array.from([0, 0, 1, 0, 0, 0, 0, 1]);
    const [k] = knownOn([s], [planned], T, H);
    expect(Array.from(k.promo!)).toEqual([0, 0, 1, 0, 0, 0, 0, 1]);
    expect(Array.from(k.logPrice!).map((v) => Math.round(v * 10) / 10)).toEqual([0, 0, -0.2, 0.1, 0.1, 0.1, 0.1, 0.1]);
  });

  test('optiflow orders per supplier on its review days only, and pays each order', async () => {
    const { db } = await sampleDb({ today: TODAY, products: 12, days: 500, seed: 5 });
    const ctx = jobCtx(db, TODAY);
    const r = await simulatePolicies(ctx, { policy: 'both', from: addDays(TODAY, -28), to: addDays(TODAY, -1) });
    const sup = db.sqlite!.prepare('select review_days, order_cost from suppliers where id in (select supplier_id from supplier_products)').all() as { review_days: string; order_cost: number }[];
    let reviewDays = 0;
    for (const s of sup) for (let t = 0; t < 28; t++) if (isReviewDay(parseReviewDays(s.review_days), dayNumber(TODAY) - 28 + t)) reviewDays++;
    const opti = r.rows.find((x) => x.policy === 'optiflow')!;
    expect(opti.orders).toBeGreaterThan(0);
    expect(opti.orders).toBeLessThanOrEqual(reviewDays);
    expect(opti.ordering_cost).toBeGreaterThanOrEqual(opti.orders * Math.min(...sup.map((s) => s.order_cost)) - 1e-9);
    for (const row of r.rows) expect(row.total_cost).toBeCloseTo(row.purchase_cost_of_demand + row.holding_cost + row.ordering_cost + row.lost_margin, 1);
    await db.close();
  });
});

// ---------------------------------------------------------------- alerts, ranking, output

const T: AlertThresholds = { reviewPeriodDays: 1, safetyDays: 3, overstockDays: 180, expiryMinUnits: 1, defaultLeadTimeDays: 7, serviceLevel: 0.95, holdingRatePerYear: 0.25 };

function state(over: Partial<SeriesState>): SeriesState {
  const yhat = new Float64Array(30).fill(0.2);
  return {
    productId: 1, locationId: 1, sku: 'GONE', location: 'MAIN', category: 'g', unitCost: 2, unitPrice: 3, shelfLifeDays: null, storage: null,
    onHand: 0, stockDate: '2026-01-01', stockKnown: true, receipts: new Float64Array(60), openOrders: [], yhat, lo: yhat, hi: yhat,
    supplier: { supplierId: 1, code: 'S', name: 'S', leadTimeDays: 5, leadTimeSdDays: 0, orderCost: 0, packSize: 1, moq: 0, unitCost: 2, priceBreaks: [], reviewDays: null, lineOrderCost: 0, minOrderValue: 0, leadTimeSource: 'stated', statedLeadTimeDays: 5, receipts: 0 },
    errorRuns: [], carriesEvents: [], policy: null, ...over,
  };
}

test('the cover cap: the forecast horizon plus L + R, never past the overstock threshold', () => {
  expect(coverCapDays({ overstockDays: 180, horizonDays: 30 }, 5, 7)).toBe(42);
  expect(coverCapDays({ overstockDays: 20, horizonDays: 30 }, 5, 7)).toBe(20);
});

test('out of stock since long ago: not a tiny order from a forecast that saw no sale, but the rate before, and says since when', () => {
  // The forecast fell to 0.2/day during the stock-out; it sold 5/day before. L 5 + R 1 = 6 days x 5 = 30.
  const [a] = evaluateAlerts(state({}), '2026-06-01', T, null, { since: '2025-12-10', days: 173, lastRate: 5 });
  expect(a.suggestedQty).toBe(30);
  expect(a.message).toMatch(/out of stock since 2025-12-10 \(173 days\)/);
  expect(a.message).toMatch(/5\/day it sold before, order 30/);
});

test('top-urgent: real alerts before "watch it" ones, then slack against lead time, then revenue at risk', () => {
  const rows = [
    { id: 1, severity: 'ATTENTION', kind: 'stockout', suggested_qty: 0, slack_days: -3, revenue_at_risk: 0 }, // watch it
    { id: 2, severity: 'ATTENTION', kind: 'stockout', suggested_qty: 40, slack_days: 6, revenue_at_risk: 10 },
    { id: 3, severity: 'ATTENTION', kind: 'stockout', suggested_qty: 12, slack_days: 2, revenue_at_risk: 5 },
    { id: 4, severity: 'CRITIQUE', kind: 'stockout', suggested_qty: 5, slack_days: null, revenue_at_risk: 1 },
    { id: 5, severity: 'ATTENTION', kind: 'stockout', suggested_qty: 7, slack_days: 2, revenue_at_risk: 50 },
  ];
  expect(rankUrgent(rows).map((r) => r.id)).toEqual([4, 5, 3, 2, 1]);
});

test('tables: money with 2 decimals and separators, days with 1 decimal, long messages wrapped, never cut', () => {
  expect(formatNumber(216772.4, 'total_cost')).toBe('216,772.40');
  expect(formatNumber(10.22, 'avg_stock_value')).toBe('10.22');
  expect(formatNumber(4.1234, 'days_of_cover')).toBe('4.1');
  expect(formatNumber(26779, 'orders')).toBe('26,779');
  expect(formatNumber(0.97224, 'fill_rate')).toBe('0.9722');
  const msg = 'SKU-00042 runs out on 2026-06-04, in 3 days; supplier lead time 5 days: order 240 now, the rest of this sentence is long';
  const out = table([{ sku: 'SKU-00042', message: msg }]);
  expect(out).not.toMatch(/…/);
  expect(out.replace(/\s+/g, ' ')).toContain(msg);
  expect(out).toMatch(/order 240 now/);
});

test('savings: no overstock reduction claimed before optiflow changed anything', async () => {
  const db = await newDb(join(tempDir(), 's.db'));
  const s = db.sqlite!;
  s.exec(`insert into locations (id, code) values (1, 'MAIN'); insert into products (id, sku, unit_cost, unit_price) values (1, 'A', 1, 2)`);
  for (let d = 1; d <= 200; d++) {
    s.prepare('insert into sales (product_id, location_id, date, quantity) values (1, 1, ?, 1)').run(addDays(TODAY, -d));
    s.prepare('insert into stock_levels (product_id, location_id, date, on_hand) values (1, 1, ?, 5)').run(addDays(TODAY, -d));
  }
  // First run: today's alerts are optiflow's first.
  s.prepare(`insert into alerts (product_id, location_id, created_on, severity, kind, message, active) values (1, 1, ?, 'INFO', 'overstock', 'x', 1)`).run(TODAY);
  const r = await savingsJob.run(jobCtx(db, TODAY));
  expect(r.summary.reduced_overstock).toBeNull();
  expect(String(r.summary.reduced_overstock_note)).toMatch(/no baseline yet/);
  await db.close();
});

// ---------------------------------------------------------------- lead times, overrides, new products

test('lead times from receipts: stated until 10 receipts, then the mean real lead time and its spread', () => {
  const r = (lt: number, late: number) => ({ leadTime: lt, lateness: late });
  const nine = Array.from({ length: 9 }, (_, k) => r(k % 2 ? 9 : 7, 1));
  expect(planningLeadTime({ leadTimeDays: 5, leadTimeSdDays: 0.5 }, receiptStats(nine))).toMatchObject({ leadTimeDays: 5, source: 'stated', receipts: 9 });
  const ten = [...nine, r(9, 3)];
  const st = receiptStats(ten)!;
  // Lead times 7,9,7,9,7,9,7,9,7,9: mean 8, sample sd sqrt(10 / 9).
  expect(st.meanLeadTime).toBe(8);
  expect(st.sdLeadTime).toBeCloseTo(Math.sqrt(10 / 9), 9);
  expect(st.meanLateness).toBeCloseTo(1.2, 9);
  expect(planningLeadTime({ leadTimeDays: 5, leadTimeSdDays: 0.5 }, st)).toMatchObject({ leadTimeDays: 8, source: 'receipts', receipts: 10 });
  // The SQL path aggregates sums: the same figures.
  const fromSums = statsFromSums(10, ten.reduce((a, x) => a + x.leadTime, 0), ten.reduce((a, x) => a + x.leadTime ** 2, 0), ten.reduce((a, x) => a + x.lateness, 0), ten.reduce((a, x) => a + x.lateness ** 2, 0));
  expect(fromSums.meanLeadTime).toBeCloseTo(st.meanLeadTime, 9);
  expect(fromSums.sdLeadTime).toBeCloseTo(st.sdLeadTime, 9);
  expect(fromSums.sdLateness).toBeCloseTo(st.sdLateness, 9);
});

test('overrides: factor and quantity on top of the model', () => {
  const day = { date: '2026-06-02', yhat: 10, lo: 8, hi: 12 };
  const o = { id: 1, fromDate: '2026-06-01', toDate: '2026-06-03', reason: 'display', factor: 1.5, quantity: null };
  expect(applyOverride(day, o)).toEqual({ date: '2026-06-02', yhat: 15, lo: 12, hi: 18 });
  expect(applyOverride(day, { ...o, factor: null, quantity: 20 })).toEqual({ date: '2026-06-02', yhat: 20, lo: 16, hi: 24 });
});

test('override: predict applies it, list and remove it, the audit keeps who and when', async () => {
  const { db } = await sampleDb({ today: TODAY, products: 3, days: 120, seed: 3 });
  const ctx = jobCtx(db, TODAY);
  await predictJob.run(ctx, { horizon: 7 });
  const q = db.sqlite!.prepare(`select yhat from forecasts f join products p on p.id = f.product_id where p.sku = 'SKU-00001' and run_date = ? and date = ?`);
  const before = (q.get(TODAY, addDays(TODAY, 2)) as { yhat: number }).yhat;
  const added = await addOverride(ctx, { sku: 'SKU-00001', from: addDays(TODAY, 1), to: addDays(TODAY, 3), factor: 2, reason: 'end-cap display' });
  await expect(addOverride(ctx, { sku: 'SKU-00001', from: TODAY, to: TODAY, reason: 'x' })).rejects.toThrow(/exactly one of --factor/);
  await predictJob.run(ctx, { horizon: 7 });
  expect((q.get(TODAY, addDays(TODAY, 2)) as { yhat: number }).yhat).toBeCloseTo(2 * before, 3);
  expect(await listOverrides(ctx)).toHaveLength(1);
  await removeOverride(ctx, added.id);
  expect(await listOverrides(ctx)).toHaveLength(0);
  const audit = (await overrideAudit(ctx)) as { action: string; os_user: string; at: string }[];
  expect(audit.map((a) => a.action)).toEqual(['add', 'remove']);
  for (const a of audit) {
    expect(a.os_user).toBe(osUser());
    expect(a.at).toMatch(/^\d{4}-\d{2}-\d{2}T/);
  }
  await db.close();
});

test('new product: borrows its like product forecast x factor until it has 8 weeks of its own', () => {
  const own = new Float64Array(100).fill(NaN);
  for (let t = 100 - MIN_OWN_DAYS + 1; t < 100; t++) own[t] = 3;
  expect(borrowsForecast(own, true)).toBe(true);
  own[100 - MIN_OWN_DAYS] = 3;
  expect(borrowsForecast(own, true)).toBe(false);
  expect(Array.from(borrowedForecast([10, 20, 0], 0.5))).toEqual([5, 10, 0]);
});
