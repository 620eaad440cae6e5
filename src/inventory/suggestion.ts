/**
 * The order quantity (pure): what to order now so that stock covers forecast
 * demand until the target day with the safety stock left over.
 *
 *   need = sum(demand[0 .. target)) x (1 + safety margin) + safety stock
 *          - on hand - open receipts due before target            (units)
 *   q0   = need rounded up to the pack size, at least the MOQ       (units)
 *
 * Shelf life: an order arriving on day L can only sell during
 * [L, L + shelf life); the quantity never exceeds what forecast demand takes in
 * that window after the stock already there (rounded down to the pack); if
 * that is below the MOQ, nothing is ordered.
 *
 * Price breaks: each break quantity (rounded up to the pack) between q0 and the
 * shelf-life cap is a candidate. Total cost of q units bought at c(q):
 *
 *   TC(q) = q c(q) + h c(q) q^2 / (2 r 365)
 *
 * (purchase, plus holding at annual rate h on the average q/2 units carried
 * for q/r days, r = mean daily demand). The candidate with the lowest cost per
 * unit TC(q)/q wins, so a break is taken only when it lowers the cost of the
 * units bought.
 */
import { sum } from './projection.js';
import { roundTo } from '../numbers.js';

export interface PriceBreak {
  minQty: number;
  unitCost: number;
}

export interface SuggestInput {
  onHand: number;
  /** Scheduled receipts per day from today. */
  receipts: ArrayLike<number>;
  /** Forecast demand per day from today. */
  demand: ArrayLike<number>;
  leadTimeDays: number;
  /** Days from today the order must cover (default lead time + review period). */
  targetDays: number;
  safetyStock: number;
  safetyMargin: number;
  packSize: number;
  moq: number;
  listUnitCost: number;
  priceBreaks: PriceBreak[];
  holdingRatePerYear: number;
  shelfLifeDays: number | null;
}

export interface Alternative {
  quantity: number;
  unitCost: number;
  totalCost: number;
  costPerUnit: number;
  note: string;
}

export interface Suggestion {
  quantity: number;
  need: number;
  unitCost: number;
  totalCost: number;
  maxSellable: number | null;
  alternatives: Alternative[];
  why: string;
}

function unitCostAt(q: number, list: number, breaks: PriceBreak[]): number {
  let c = list;
  for (const b of breaks) if (q >= b.minQty && b.unitCost < c) c = b.unitCost;
  return c;
}

function demandAt(demand: ArrayLike<number>, d: number): number {
  if (d < demand.length) return demand[d];
  // Beyond the forecast: its mean rate.
  return demand.length ? sum(demand) / demand.length : 0;
}

export function totalCost(q: number, c: number, rate: number, h: number): number {
  if (q <= 0) return 0;
  const holding = rate > 0 ? (h * c * q * q) / (2 * rate * 365) : h * c * q;
  return q * c + holding;
}

export function suggestQuantity(i: SuggestInput): Suggestion {
  const pack = Math.max(1e-9, i.packSize || 1);
  const roundUp = (q: number) => Math.ceil(q / pack - 1e-9) * pack;
  const roundDown = (q: number) => Math.floor(q / pack + 1e-9) * pack;
  const target = Math.max(1, Math.round(i.targetDays));
  let demandToTarget = 0;
  for (let d = 0; d < target; d++) demandToTarget += demandAt(i.demand, d);
  const receiptsToTarget = sum(i.receipts, 0, target);
  const need = demandToTarget * (1 + i.safetyMargin) + i.safetyStock - i.onHand - receiptsToTarget;
  const rate = Math.max(1e-9, (i.demand.length ? sum(i.demand) / i.demand.length : 0));
  const L = Math.max(0, Math.round(i.leadTimeDays));

  let maxSellable: number | null = null;
  if (i.shelfLifeDays !== null) {
    // Stock still there when the order arrives, then demand in its shelf-life window.
    let s = i.onHand;
    for (let d = 0; d < L; d++) s = s + (i.receipts[d] ?? 0) - demandAt(i.demand, d);
    let window = 0;
    for (let d = L; d < L + i.shelfLifeDays; d++) window += demandAt(i.demand, d);
    for (let d = L; d < L + i.shelfLifeDays; d++) window -= i.receipts[d] ?? 0;
    maxSellable = Math.max(0, window - Math.max(0, s));
  }
  const none = (why: string): Suggestion => ({ quantity: 0, need: Math.max(0, need), unitCost: i.listUnitCost, totalCost: 0, maxSellable, alternatives: [], why });
  if (need <= 1e-9) return none(`stock ${fmt(i.onHand)} and open orders ${fmt(receiptsToTarget)} already cover forecast demand ${fmt(demandToTarget)} + safety stock ${fmt(i.safetyStock)} until day ${target}`);

  let q0 = Math.max(roundUp(need), roundUp(i.moq));
  let capNote = '';
  if (maxSellable !== null && q0 > maxSellable) {
    const capped = roundDown(maxSellable);
    if (capped < i.moq || capped <= 0) return none(`the MOQ of ${fmt(i.moq)} (pack ${fmt(pack)}) exceeds the ${fmt(maxSellable)} units that can sell within the ${i.shelfLifeDays}-day shelf life`);
    q0 = capped;
    capNote = `, capped at ${fmt(capped)} that sell within the ${i.shelfLifeDays}-day shelf life`;
  }
  const h = i.holdingRatePerYear;
  const mk = (q: number, note: string): Alternative => {
    const c = unitCostAt(q, i.listUnitCost, i.priceBreaks);
    const tc = totalCost(q, c, rate, h);
    return { quantity: q, unitCost: c, totalCost: roundTo(tc, 2), costPerUnit: tc / q, note };
  };
  const alternatives: Alternative[] = [mk(q0, 'covers the need')];
  for (const b of [...i.priceBreaks].sort((a, b) => a.minQty - b.minQty)) {
    const q = Math.max(roundUp(b.minQty), roundUp(i.moq));
    if (q <= q0) continue;
    if (maxSellable !== null && q > maxSellable) continue;
    alternatives.push(mk(q, `price break from ${fmt(b.minQty)}`));
  }
  let best = alternatives[0];
  for (const a of alternatives.slice(1)) if (a.costPerUnit < best.costPerUnit - 1e-12) best = a;
  const why =
    `need ${fmt(need)} = demand ${fmt(demandToTarget)} over ${target} days${i.safetyMargin ? ` x ${1 + i.safetyMargin}` : ''} + safety stock ${fmt(i.safetyStock)} - on hand ${fmt(i.onHand)} - open orders ${fmt(receiptsToTarget)}` +
    `; rounded to pack ${fmt(pack)}${i.moq > pack ? `, MOQ ${fmt(i.moq)}` : ''}${capNote}` +
    (best !== alternatives[0] ? `; the price break at ${fmt(best.quantity)} lowers the cost per unit (purchase + holding) from ${alternatives[0].costPerUnit.toFixed(3)} to ${best.costPerUnit.toFixed(3)}` : '');
  return { quantity: best.quantity, need, unitCost: best.unitCost, totalCost: best.totalCost, maxSellable, alternatives, why };
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(1);
}
