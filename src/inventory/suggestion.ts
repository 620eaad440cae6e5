/**
 * The order quantity (pure): the one computation behind `suggest`, the
 * suggested quantity of `alerts`, `optimize`'s order quantity, the lines of
 * `orders` and the optiflow policy of `simulate`.
 *
 *   need = sum(demand[0 .. target)) x (1 + safety margin) + safety stock
 *          - on hand - open receipts due before target            (units)
 *   q0   = need rounded up to the pack size, at least the MOQ       (units)
 *
 * Caps (an order never exceeds them unless the MOQ forces it, see below):
 * - shelf life: an order arriving on day L can only sell during
 *   [L, L + shelf life); the quantity never exceeds what forecast demand takes
 *   in that window after the stock already there (rounded down to the pack).
 *   When that is below the MOQ, the MOQ is ordered only if it pays:
 *   unit price x sellable units > unit cost x MOQ (the units that expire are
 *   paid for); otherwise nothing is ordered, and the reason says so.
 * - cover: the position after the order never exceeds `maxCoverDays` of
 *   demand (default: the overstock threshold of `alerts`), so an order never
 *   creates the overstock it would be warned about.
 *
 * Candidates: q0; the economic order quantity rounded up to the pack,
 *   EOQ = sqrt(2 x K x 365 r / (h x c))     (units; K order cost per order, currency;
 *                                            r mean daily demand, units/day; h holding rate
 *                                            per year; c unit cost, currency/unit)
 * and each price-break quantity (rounded up to the pack), all within the caps.
 * Total cost of q units bought at c(q):
 *
 *   TC(q) = q c(q) + K + h c(q) q^2 / (2 r 365)               (currency)
 *
 * (purchase, one order, and holding at annual rate h on the average q/2 units
 * carried for q/r days). The candidate with the lowest cost per unit TC(q)/q
 * wins: a bigger lot is taken only when its lower price and its share of the
 * order cost outweigh the extra holding.
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
  /** Cost of placing one order line (currency); 0 = no economic lot size. */
  orderCost?: number;
  /** The position after ordering never exceeds this many days of demand (none = no cap). */
  maxCoverDays?: number;
  /** Selling price per unit (currency), to judge an MOQ larger than what sells before expiry. */
  unitPrice?: number;
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

export function unitCostAt(q: number, list: number, breaks: PriceBreak[]): number {
  let c = list;
  for (const b of breaks) if (q >= b.minQty && b.unitCost < c) c = b.unitCost;
  return c;
}

function demandAt(demand: ArrayLike<number>, d: number): number {
  if (d < demand.length) return demand[d];
  // Beyond the forecast: its mean rate.
  return demand.length ? sum(demand) / demand.length : 0;
}

/** TC(q) = q c + K + h c q^2 / (2 r 365); with no demand, one year of holding. */
export function totalCost(q: number, c: number, rate: number, h: number, orderCost = 0): number {
  if (q <= 0) return 0;
  const holding = rate > 0 ? (h * c * q * q) / (2 * rate * 365) : h * c * q;
  return q * c + orderCost + holding;
}

/** EOQ = sqrt(2 K 365 r / (h c)) in units; 0 when any input is missing. */
export function economicOrderQuantity(orderCost: number, ratePerDay: number, holdingRatePerYear: number, unitCost: number): number {
  if (!(orderCost > 0 && ratePerDay > 0 && holdingRatePerYear > 0 && unitCost > 0)) return 0;
  return Math.sqrt((2 * orderCost * 365 * ratePerDay) / (holdingRatePerYear * unitCost));
}

/** Quantities are multiples of the pack: the one rounding rule. */
export function packRounding(packSize: number) {
  const pack = packSize > 0 && Number.isFinite(packSize) ? packSize : 1;
  return { pack, up: (q: number) => Math.ceil(q / pack - 1e-9) * pack, down: (q: number) => Math.floor(q / pack + 1e-9) * pack };
}

export function suggestQuantity(i: SuggestInput): Suggestion {
  const { pack, up: roundUp, down: roundDown } = packRounding(i.packSize);
  const target = Math.max(1, Math.round(i.targetDays));
  let demandToTarget = 0;
  for (let d = 0; d < target; d++) demandToTarget += demandAt(i.demand, d);
  const receiptsToTarget = sum(i.receipts, 0, target);
  const need = demandToTarget * (1 + i.safetyMargin) + i.safetyStock - i.onHand - receiptsToTarget;
  const rate = Math.max(1e-9, i.demand.length ? sum(i.demand) / i.demand.length : 0);
  const L = Math.max(0, Math.round(i.leadTimeDays));
  const K = Math.max(0, i.orderCost ?? 0);

  let maxSellable: number | null = null;
  if (i.shelfLifeDays !== null && Number.isFinite(i.shelfLifeDays)) {
    // Stock still there when the order arrives, then demand in its shelf-life window.
    let s = i.onHand;
    for (let d = 0; d < L; d++) s = s + (i.receipts[d] ?? 0) - demandAt(i.demand, d);
    let window = 0;
    for (let d = L; d < L + i.shelfLifeDays; d++) window += demandAt(i.demand, d);
    for (let d = L; d < L + i.shelfLifeDays; d++) window -= i.receipts[d] ?? 0;
    maxSellable = Math.max(0, window - Math.max(0, s));
  }
  // Units the cover cap allows: maxCover days of demand minus the position.
  const position = i.onHand + sum(i.receipts);
  const coverCap = i.maxCoverDays !== undefined && rate > 1e-9 ? Math.max(0, i.maxCoverDays * rate - position) : Infinity;
  const none = (why: string): Suggestion => ({ quantity: 0, need: Math.max(0, need), unitCost: i.listUnitCost, totalCost: 0, maxSellable, alternatives: [], why });
  if (need <= 1e-9) return none(`stock ${fmt(i.onHand)} and open orders ${fmt(receiptsToTarget)} already cover forecast demand ${fmt(demandToTarget)} + safety stock ${fmt(i.safetyStock)} until day ${target}`);

  let q0 = Math.max(roundUp(need), roundUp(i.moq));
  let capNote = '';
  if (maxSellable !== null && q0 > maxSellable) {
    const capped = roundDown(maxSellable);
    if (capped < i.moq || capped <= 0) {
      const moq = Math.max(roundUp(i.moq), pack);
      const pays = i.unitPrice !== undefined && i.unitPrice * Math.min(maxSellable, moq) > i.listUnitCost * moq;
      if (!pays || maxSellable <= 0)
        return none(`the MOQ of ${fmt(i.moq)} (pack ${fmt(pack)}) exceeds the ${fmt(maxSellable)} units that can sell within the ${i.shelfLifeDays}-day shelf life${i.unitPrice !== undefined ? ', and the units sold would not pay for the ones that expire' : ''}`);
      const c = unitCostAt(moq, i.listUnitCost, i.priceBreaks);
      const tc = totalCost(moq, c, rate, i.holdingRatePerYear, K);
      return {
        quantity: moq, need, unitCost: c, totalCost: roundTo(tc, 2), maxSellable, alternatives: [{ quantity: moq, unitCost: c, totalCost: roundTo(tc, 2), costPerUnit: tc / moq, note: 'the MOQ' }],
        why: `need ${fmt(need)}; only ${fmt(maxSellable)} can sell within the ${i.shelfLifeDays}-day shelf life, below the MOQ ${fmt(moq)}: ${fmt(moq - Math.min(moq, maxSellable))} will expire, still cheaper than the margin lost without them`,
      };
    }
    q0 = capped;
    capNote = `, capped at ${fmt(capped)} that sell within the ${i.shelfLifeDays}-day shelf life`;
  }
  const cap = Math.min(maxSellable ?? Infinity, coverCap);
  const h = i.holdingRatePerYear;
  const mk = (q: number, note: string): Alternative => {
    const c = unitCostAt(q, i.listUnitCost, i.priceBreaks);
    const tc = totalCost(q, c, rate, h, K);
    return { quantity: q, unitCost: c, totalCost: roundTo(tc, 2), costPerUnit: tc / q, note };
  };
  const alternatives: Alternative[] = [mk(q0, 'covers the need')];
  const eoq = roundUp(economicOrderQuantity(K, rate, h, i.listUnitCost));
  const bigger: [number, string][] = [[eoq, `economic lot (order cost ${fmt(K)})`]];
  for (const b of [...i.priceBreaks].sort((a, b) => a.minQty - b.minQty)) bigger.push([Math.max(roundUp(b.minQty), roundUp(i.moq)), `price break from ${fmt(b.minQty)}`]);
  for (const [q, note] of bigger) {
    if (q <= q0 || q > cap + 1e-9 || alternatives.some((a) => a.quantity === q)) continue;
    alternatives.push(mk(q, note));
  }
  let best = alternatives[0];
  for (const a of alternatives.slice(1)) if (a.costPerUnit < best.costPerUnit - 1e-12) best = a;
  const why =
    `need ${fmt(need)} = demand ${fmt(demandToTarget)} over ${target} days${i.safetyMargin ? ` x ${1 + i.safetyMargin}` : ''} + safety stock ${fmt(i.safetyStock)} - on hand ${fmt(i.onHand)} - open orders ${fmt(receiptsToTarget)}` +
    `; rounded to pack ${fmt(pack)}${i.moq > pack ? `, MOQ ${fmt(i.moq)}` : ''}${capNote}` +
    (best !== alternatives[0] ? `; ${best.note.startsWith('price') ? 'the ' + best.note : 'the ' + best.note} at ${fmt(best.quantity)} lowers the cost per unit (purchase + order + holding) from ${alternatives[0].costPerUnit.toFixed(3)} to ${best.costPerUnit.toFixed(3)}` : '');
  return { quantity: best.quantity, need, unitCost: best.unitCost, totalCost: best.totalCost, maxSellable, alternatives, why };
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(1);
}
