import { evaluateAlerts, type AlertThresholds } from '../src/inventory/alert-rules.js';
import { daysOfCover, projectStock } from '../src/inventory/projection.js';
import { normalQuantile, safetyStock } from '../src/inventory/safety-stock.js';
import { suggestQuantity, totalCost, type SuggestInput } from '../src/inventory/suggestion.js';
import type { SeriesState } from '../src/db/state.js';
import { Rng } from '../src/io/random.js';

const T: AlertThresholds = { reviewPeriodDays: 1, safetyDays: 3, overstockDays: 180, expiryMinUnits: 1, defaultLeadTimeDays: 7, serviceLevel: 0.95, holdingRatePerYear: 0.25 };

function state(over: Partial<SeriesState> & { demand?: number; days?: number; lead?: number }): SeriesState {
  const H = over.days ?? 30;
  const d = over.demand ?? 3;
  const yhat = over.yhat ?? new Float64Array(H).fill(d);
  return {
    productId: 1, locationId: 1, sku: 'SKU-0042', location: 'MAIN', category: 'grocery', unitCost: 2, unitPrice: 3, shelfLifeDays: null, storage: null,
    onHand: 10, stockDate: '2026-11-22', stockKnown: true, receipts: new Float64Array(H + 400), openOrders: [], yhat, lo: yhat.map((v) => v * 0.8), hi: over.hi ?? yhat.map((v) => v * 1.2),
    supplier: { supplierId: 1, code: 'S1', name: 'Supplier', leadTimeDays: over.lead ?? 5, leadTimeSdDays: 0, orderCost: 0, packSize: 1, moq: 0, unitCost: 2, priceBreaks: [], reviewDays: null, lineOrderCost: 0, minOrderValue: 0, leadTimeSource: 'stated', statedLeadTimeDays: over.lead ?? 5, receipts: 0 },
    errorRuns: [], carriesEvents: [], policy: null,
    ...over,
  };
}

describe('stock projection (hand-worked)', () => {
  test('on hand 10, demand 3/day: runs out on day 3, 3.33 days of cover', () => {
    const p = projectStock(10, [], [3, 3, 3, 3, 3]);
    expect(p.stockoutDay).toBe(3);
    expect(Array.from(p.stock)).toEqual([7, 4, 1, -2, -5]);
    expect(daysOfCover(10, [], [3, 3, 3, 3, 3])).toBeCloseTo(3 + 1 / 3, 6);
  });
  test('a receipt tomorrow postpones the stock-out', () => {
    const r = new Float64Array(30);
    r[1] = 30;
    expect(projectStock(10, r, new Float64Array(30).fill(3)).stockoutDay).toBe(13);
  });
});

describe('alert scenarios (hand-worked)', () => {
  const asOf = '2026-11-23';
  test('on hand 10, demand 3/day, lead time 5 -> CRITIQUE, stock-out today+3', () => {
    const a = evaluateAlerts(state({}), asOf, T);
    expect(a).toHaveLength(1);
    expect(a[0]).toMatchObject({ severity: 'CRITIQUE', kind: 'stockout', stockoutDate: '2026-11-26' });
    expect(a[0].message).toMatch(/SKU-0042 runs out on 2026-11-26, in 3 days; supplier lead time 5 days: order \d+ now/);
    // Cover until lead 5 + review 1 = 6 days of 3 plus safety stock, minus 10 on hand.
    expect(a[0].suggestedQty).toBeGreaterThanOrEqual(6 * 3 - 10);
  });
  test('the same with an open order of 30 arriving tomorrow -> no stock-out alert', () => {
    const receipts = new Float64Array(430);
    receipts[1] = 30;
    expect(evaluateAlerts(state({ receipts }), asOf, T).filter((x) => x.kind === 'stockout')).toEqual([]);
  });
  test('stock 0 -> CRITIQUE', () => {
    const a = evaluateAlerts(state({ onHand: 0 }), asOf, T);
    expect(a[0]).toMatchObject({ severity: 'CRITIQUE', kind: 'stockout', stockoutDate: asOf });
  });
  test('400 days of cover -> overstock', () => {
    const a = evaluateAlerts(state({ onHand: 1200 }), asOf, T);
    expect(a.map((x) => x.kind)).toEqual(['overstock']);
    expect(a[0].daysOfCover).toBeCloseTo(400, 0);
  });
  test('perishable, shelf life 5 days, 10 days of stock -> expiry', () => {
    const a = evaluateAlerts(state({ onHand: 30, shelfLifeDays: 5 }), asOf, T);
    const e = a.find((x) => x.kind === 'expiry');
    expect(e).toBeDefined();
    expect(e!.message).toMatch(/15 of 30 units will not sell within the 5-day shelf life/);
  });
  test('lead time + review + safety window -> ATTENTION, not CRITIQUE', () => {
    // 20 on hand at 3/day runs out on day 6: after lead 5, before 5 + 1 + 3.
    const a = evaluateAlerts(state({ onHand: 20 }), asOf, T);
    expect(a[0]).toMatchObject({ severity: 'ATTENTION', kind: 'stockout', stockoutDate: '2026-11-29' });
  });
});

describe('safety stock (hand-worked)', () => {
  test('normal quantile', () => {
    expect(normalQuantile(0.5)).toBeCloseTo(0, 6);
    expect(normalQuantile(0.95)).toBeCloseTo(1.644854, 5);
    expect(normalQuantile(0.1)).toBeCloseTo(-1.281552, 5);
  });
  test('empirical: quantile of error sums over lead time + review', () => {
    // One run of 28 errors alternating +1/-1 then a +10 at the end: 2-day sums are 0 except the last (1+10=11 or -1+10=9).
    const run: number[] = Array.from({ length: 27 }, (_, i) => (i % 2 ? -1 : 1));
    run.push(10);
    const ss = safetyStock({ errorRuns: [run], leadTimeDays: 1, reviewDays: 1, leadTimeSdDays: 0, meanDailyDemand: 5, serviceLevel: 0.5 });
    expect(ss.method).toBe('empirical');
    expect(ss.windows).toBe(27);
    expect(ss.units).toBeCloseTo(0, 6); // median of the 2-day sums is 0
    const hi = safetyStock({ errorRuns: [run], leadTimeDays: 1, reviewDays: 1, leadTimeSdDays: 0, meanDailyDemand: 5, serviceLevel: 0.99 });
    expect(hi.units).toBeGreaterThan(5);
  });
  test('normal fallback with lead-time variability: sqrt((z s sqrt(W))^2 + (z d sL)^2)', () => {
    // 80 % interval error bounds -2.563 .. +2.563 -> sigma_d = 2; W = 4; z(0.95) = 1.6449; d = 10, sL = 1.
    const ss = safetyStock({ errorRuns: [], errorLo: -2.563, errorHi: 2.563, leadTimeDays: 3, reviewDays: 1, leadTimeSdDays: 1, meanDailyDemand: 10, serviceLevel: 0.95 });
    const z = 1.6448536;
    expect(ss.method).toBe('normal');
    expect(ss.units).toBeCloseTo(Math.sqrt((z * 2 * 2) ** 2 + (z * 10) ** 2), 3);
  });
});

describe('reorder point by hand', () => {
  test('reorder point = demand over lead time + safety stock', () => {
    // Demand 4/day, lead 3 + review 1, normal safety stock with sigma_d = 1 at 90 %.
    const ss = safetyStock({ errorRuns: [], errorLo: -1.2816, errorHi: 1.2816, leadTimeDays: 3, reviewDays: 1, leadTimeSdDays: 0, meanDailyDemand: 4, serviceLevel: 0.9 });
    expect(ss.units).toBeCloseTo(1.2816 * 1 * 2, 2); // z sigma sqrt(4)
    const rop = 4 * 4 + ss.units;
    expect(rop).toBeCloseTo(18.56, 1);
  });
});

describe('order quantity properties', () => {
  const rng = new Rng(123);
  const cases = Array.from({ length: 500 }, () => {
    const H = 60;
    const level = rng.uniform(0, 20);
    const demand = Float64Array.from({ length: H }, () => Math.max(0, level + rng.normal() * level * 0.3));
    const receipts = new Float64Array(H);
    if (rng.next() < 0.4) receipts[rng.int(0, 20)] = rng.int(0, 200);
    const pack = rng.pick([1, 6, 12, 24]);
    const listCost = rng.uniform(1, 10);
    const input: SuggestInput = {
      onHand: rng.int(0, 300), receipts, demand, leadTimeDays: rng.int(1, 14), targetDays: rng.int(2, 30), safetyStock: rng.uniform(0, 50), safetyMargin: rng.uniform(0, 0.3),
      packSize: pack, moq: pack * rng.int(1, 5), listUnitCost: listCost,
      priceBreaks: [{ minQty: pack * 10, unitCost: listCost * 0.97 }, { minQty: pack * 40, unitCost: listCost * 0.9 }],
      holdingRatePerYear: 0.25, shelfLifeDays: rng.next() < 0.3 ? rng.int(2, 20) : null,
    };
    return { input, out: suggestQuantity(input) };
  });
  test('always a multiple of the pack size, at least the MOQ when positive', () => {
    for (const { input, out } of cases) {
      expect(Math.abs(out.quantity / input.packSize - Math.round(out.quantity / input.packSize))).toBeLessThan(1e-9);
      if (out.quantity > 0) expect(out.quantity).toBeGreaterThanOrEqual(input.moq - 1e-9);
    }
  });
  test('zero when stock and open orders already cover the target', () => {
    for (const { input, out } of cases) {
      let dem = 0;
      for (let d = 0; d < input.targetDays; d++) dem += input.demand[d];
      let rec = 0;
      for (let d = 0; d < input.targetDays; d++) rec += input.receipts[d];
      if (input.onHand + rec >= dem * (1 + input.safetyMargin) + input.safetyStock) expect(out.quantity).toBe(0);
    }
  });
  test('never more than sells before the shelf life ends', () => {
    for (const { input, out } of cases) if (input.shelfLifeDays !== null && out.quantity > 0) expect(out.quantity).toBeLessThanOrEqual(out.maxSellable! + 1e-9);
  });
  test('a price break is taken only when it lowers the cost per unit', () => {
    let taken = 0;
    for (const { out } of cases) {
      if (!out.alternatives.length || out.quantity === out.alternatives[0].quantity) continue;
      taken++;
      const base = out.alternatives[0];
      const chosen = out.alternatives.find((a) => a.quantity === out.quantity)!;
      expect(chosen.costPerUnit).toBeLessThan(base.costPerUnit);
    }
    expect(taken).toBeGreaterThan(0);
  });
  test('total cost = purchase + holding', () => {
    // 100 units at 2.0, 10/day, 25 %/year: holding 0.25 x 2 x 100^2 / (2 x 10 x 365).
    expect(totalCost(100, 2, 10, 0.25)).toBeCloseTo(200 + (0.25 * 2 * 10000) / 7300, 6);
  });
});
