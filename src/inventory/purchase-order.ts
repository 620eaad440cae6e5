/**
 * One supplier's draft purchase order (pure): the lines due on its review
 * day joined into one order, topped up to the supplier's minimum order value
 * when that is cheaper than a second order. `orders` and the simulation both
 * build their orders here.
 *
 * Top-up: while the order value is below the minimum, add one pack (or the
 * MOQ, for a product not yet on the order) to the line whose extra holding
 * cost per currency added is lowest,
 *   extra holding of a line going from q to q' units = h c (q'^2 - q^2) / (2 r 365)   (currency)
 * never past the line's cap (shelf life, cover). The added units would have
 * been bought on a later order anyway, so the top-up costs only that holding.
 * It is done when its total extra holding is below the order cost K of the
 * second order it saves; otherwise the draft stays below the minimum and says
 * why.
 */
import { packRounding, unitCostAt, type PriceBreak } from './suggestion.js';

export interface DraftCandidate {
  key: string;
  sku: string;
  /** Quantity the series needs now (0 = not due; may still take a top-up). */
  quantity: number;
  reason: string;
  listUnitCost: number;
  priceBreaks: PriceBreak[];
  packSize: number;
  moq: number;
  /** Mean forecast demand, units/day. */
  rate: number;
  /** Most units this line may hold (shelf life, cover); Infinity = no cap. */
  maxQuantity: number;
}

export interface DraftLine {
  key: string;
  sku: string;
  quantity: number;
  unitCost: number;
  value: number;
  reason: string;
}

export interface Draft {
  lines: DraftLine[];
  total: number;
  minOrderValue: number;
  status: 'ok' | 'below_minimum' | 'empty';
  note: string | null;
  topUpHoldingCost: number;
}

export function buildDraft(cands: DraftCandidate[], terms: { minOrderValue: number; orderCost: number; holdingRatePerYear: number }): Draft {
  const q = new Map(cands.map((c) => [c.key, c.quantity]));
  const value = () => cands.reduce((s, c) => s + (q.get(c.key) ?? 0) * unitCostAt(q.get(c.key) ?? 0, c.listUnitCost, c.priceBreaks), 0);
  const due = cands.filter((c) => c.quantity > 0);
  if (!due.length) return { lines: [], total: 0, minOrderValue: terms.minOrderValue, status: 'empty', note: null, topUpHoldingCost: 0 };
  const h = terms.holdingRatePerYear;
  const added = new Map<string, number>();
  let extra = 0;
  let total = value();
  let note: string | null = null;
  if (terms.minOrderValue > 0 && total < terms.minOrderValue - 1e-9) {
    const before = total;
    const saved = new Map(q);
    while (total < terms.minOrderValue - 1e-9) {
      let best: { c: DraftCandidate; to: number; cost: number; per: number } | null = null;
      for (const c of cands) {
        if (!(c.rate > 0)) continue;
        const { pack, up } = packRounding(c.packSize);
        const cur = q.get(c.key) ?? 0;
        const to = cur > 0 ? cur + pack : Math.max(up(c.moq), pack);
        if (to > c.maxQuantity + 1e-9) continue;
        const unit = unitCostAt(to, c.listUnitCost, c.priceBreaks);
        const cost = (h * unit * (to * to - cur * cur)) / (2 * c.rate * 365);
        const dv = to * unit - cur * unitCostAt(cur, c.listUnitCost, c.priceBreaks);
        const per = cost / Math.max(1e-9, dv);
        if (!best || per < best.per) best = { c, to, cost, per };
      }
      if (!best) break;
      q.set(best.c.key, best.to);
      added.set(best.c.key, (added.get(best.c.key) ?? 0) + 1);
      extra += best.cost;
      total = value();
    }
    if (total < terms.minOrderValue - 1e-9 || extra >= terms.orderCost) {
      const why = total < terms.minOrderValue - 1e-9
        ? 'no product of this supplier can take more without passing its shelf life or cover cap'
        : `topping up would add ${extra.toFixed(2)} of holding cost, more than the ${terms.orderCost.toFixed(2)} of a second order`;
      for (const [k, v] of saved) q.set(k, v);
      added.clear();
      extra = 0;
      total = before;
      note = `below the minimum order value ${terms.minOrderValue.toFixed(2)} (order ${before.toFixed(2)}): ${why}; ask the supplier or wait for the next review day`;
    } else note = `topped up from ${before.toFixed(2)} to the minimum order value ${terms.minOrderValue.toFixed(2)} (extra holding ${extra.toFixed(2)} < order cost ${terms.orderCost.toFixed(2)})`;
  }
  const lines: DraftLine[] = [];
  for (const c of cands) {
    const n = q.get(c.key) ?? 0;
    if (n <= 0) continue;
    const unit = unitCostAt(n, c.listUnitCost, c.priceBreaks);
    const reason = c.quantity > 0 ? c.reason + (n > c.quantity ? `; +${n - c.quantity} to reach the minimum order value` : '') : `added to reach the minimum order value (${(n / c.rate).toFixed(1)} days of demand)`;
    lines.push({ key: c.key, sku: c.sku, quantity: n, unitCost: unit, value: n * unit, reason });
  }
  return {
    lines, total, minOrderValue: terms.minOrderValue, status: terms.minOrderValue > 0 && total < terms.minOrderValue - 1e-9 ? 'below_minimum' : 'ok', note, topUpHoldingCost: extra,
  };
}
