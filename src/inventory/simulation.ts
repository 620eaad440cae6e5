/**
 * Replenishment simulation (pure): stock per series, advanced day by day.
 *
 * Each day: receipts due arrive; perishable units older than their shelf life
 * are thrown away (expired); demand is served from stock, oldest first, what
 * cannot be served is lost (lost sales, not backorders); then the policy may order; an
 * order placed on day t arrives on day t + lead time (before that day's demand).
 * Orders are placed per supplier: the lines of one supplier on one day make one
 * purchase order, which costs the supplier's order cost once.
 *
 * Reported per policy (over the simulated days; currency unless stated):
 *   fill rate           = units served / units demanded
 *   stock-out days      = series-days with unserved demand (count)
 *   average stock value = mean end-of-day on hand x unit cost
 *   turns               = cost of units served, annualised / average stock value (1/year)
 *   orders              = purchase orders placed (supplier-days with at least one line; count)
 *   order lines         = series-days with an order (count)
 *   purchase cost       = units ordered x unit cost paid
 *   expired value       = units thrown away x unit cost
 *   holding cost        = average stock value x holding rate per year x days / 365
 *   ordering cost       = orders x the supplier's order cost
 *   lost margin         = units not served x (unit price - unit cost)
 *   total cost          = purchase cost of the demand + holding + ordering + lost margin, where
 *   purchase cost of the demand = purchase cost + opening stock value - closing stock value
 *                                 + units not served x unit cost
 * i.e. what the window's demand cost to buy: the stock bought and used (sold or
 * expired), plus the units that could not be sold valued at the cost they
 * would have been bought at. Both policies then answer the same demand, and
 * the difference in total cost is the difference in profit: a policy is not
 * rewarded for the purchases it avoided by not selling, nor charged for the
 * stock it still holds at the end (its holding cost is counted).
 */
export interface SimResult {
  purchased: number;
  purchaseCost: number;
  demanded: number;
  served: number;
  stockoutDays: number;
  stockUnitsDays: number;
  expired: number;
  lines: number;
  days: number;
  openingStock: number;
  closingStock: number;
}

/** One series' stock, advanced one day at a time. */
export class StockSim {
  onHand: number;
  pipeline: { arrive: number; qty: number }[];
  /** Stock by arrival, oldest first, with the day it expires (Infinity = never). */
  private batches: { qty: number; expires: number }[];
  readonly result: SimResult;

  /** The opening stock's age is unknown: it is taken as fresh on day 0. */
  constructor(startOnHand: number, startPipeline: { arrive: number; qty: number }[], readonly leadTime: number, readonly shelfLifeDays: number | null = null) {
    this.onHand = Math.max(0, startOnHand);
    this.pipeline = startPipeline.map((p) => ({ ...p }));
    this.batches = this.onHand > 0 ? [{ qty: this.onHand, expires: this.expiry(0) }] : [];
    this.result = { purchased: 0, purchaseCost: 0, demanded: 0, served: 0, stockoutDays: 0, stockUnitsDays: 0, expired: 0, lines: 0, days: 0, openingStock: this.onHand, closingStock: this.onHand };
  }

  private expiry(arrival: number): number {
    return this.shelfLifeDays !== null && this.shelfLifeDays > 0 ? arrival + this.shelfLifeDays : Infinity;
  }

  /** Day t: receipts due arrive, expired units go, then demand is served oldest first (the rest is lost). */
  serve(t: number, demand: number): void {
    const r = this.result;
    for (let k = 0; k < this.pipeline.length; k++) if (this.pipeline[k].arrive <= t) {
      this.batches.push({ qty: this.pipeline[k].qty, expires: this.expiry(t) });
      this.pipeline.splice(k--, 1);
    }
    this.batches.sort((a, b) => a.expires - b.expires);
    while (this.batches.length && this.batches[0].expires <= t) r.expired += this.batches.shift()!.qty;
    const d = Math.max(0, demand);
    let left = d;
    while (left > 1e-12 && this.batches.length) {
      const b = this.batches[0];
      const take = Math.min(b.qty, left);
      b.qty -= take;
      left -= take;
      if (b.qty <= 1e-12) this.batches.shift();
    }
    const served = d - left;
    r.demanded += d;
    r.served += served;
    if (served < d - 1e-9) r.stockoutDays++;
    this.onHand = this.batches.reduce((s, b) => s + b.qty, 0);
    r.stockUnitsDays += this.onHand;
    r.closingStock = this.onHand;
    r.days++;
  }

  onOrder(): number {
    return this.pipeline.reduce((s, p) => s + p.qty, 0);
  }

  /** Receipts by day from `from` on (index 0 = day `from`), `days` long. */
  receiptsFrom(from: number, days: number): Float64Array {
    const out = new Float64Array(days);
    for (const p of this.pipeline) {
      const k = p.arrive - from;
      if (k >= 0 && k < days) out[k] += p.qty;
      else if (k < 0) out[0] += p.qty;
    }
    return out;
  }

  /** Place an order at the end of day t; it arrives on day t + lead time. */
  order(t: number, qty: number, unitCost: number): void {
    if (!(qty > 0)) return;
    this.pipeline.push({ arrive: t + Math.max(1, this.leadTime), qty });
    this.result.lines++;
    this.result.purchased += qty;
    this.result.purchaseCost += qty * unitCost;
  }
}

/**
 * The static min/max rule common ERPs ship, set from history and checked
 * every day:
 *   min = average daily demand x lead time
 *   max = min + average daily demand x review cycle (days)
 * When the position (on hand + on order) falls to min or below, order
 * max - position (rounded up to the pack, at least the MOQ).
 */
export function minMaxQuantity(position: number, avgDemand: number, leadTime: number, reviewCycle: number, pack: number, moq: number): number {
  const min = avgDemand * leadTime;
  const max = min + avgDemand * reviewCycle;
  if (position > min || avgDemand <= 0) return 0;
  const p = pack > 0 ? pack : 1;
  return Math.ceil(Math.max(max - position, moq) / p - 1e-9) * p;
}

export interface SeriesEconomics {
  unitCost: number;
  unitPrice: number;
}

export interface PolicyTotals {
  fill_rate: number;
  stockout_days: number;
  avg_stock_value: number;
  turns: number | null;
  orders: number;
  order_lines: number;
  purchase_cost: number;
  expired_value: number;
  closing_stock_value: number;
  purchase_cost_of_demand: number;
  holding_cost: number;
  ordering_cost: number;
  lost_margin: number;
  total_cost: number;
  demanded: number;
  served: number;
}

/** The per-policy report from the series results and the orders placed (formulas above). */
export function policyTotals(res: SimResult[], econ: SeriesEconomics[], orders: number, orderingCost: number, days: number, holdingRatePerYear: number): PolicyTotals {
  let demanded = 0;
  let served = 0;
  let stockValue = 0;
  let cogs = 0;
  let lostMargin = 0;
  let purchase = 0;
  let stockoutDays = 0;
  let lines = 0;
  let expired = 0;
  let opening = 0;
  let closing = 0;
  let lostAtCost = 0;
  res.forEach((r, i) => {
    expired += r.expired * econ[i].unitCost;
    opening += r.openingStock * econ[i].unitCost;
    closing += r.closingStock * econ[i].unitCost;
    lostAtCost += (r.demanded - r.served) * econ[i].unitCost;
    demanded += r.demanded;
    served += r.served;
    stockValue += (r.stockUnitsDays / Math.max(1, days)) * econ[i].unitCost;
    cogs += r.served * econ[i].unitCost;
    lostMargin += (r.demanded - r.served) * Math.max(0, econ[i].unitPrice - econ[i].unitCost);
    purchase += r.purchaseCost;
    stockoutDays += r.stockoutDays;
    lines += r.lines;
  });
  const holding = (stockValue * holdingRatePerYear * days) / 365;
  const ofDemand = purchase + opening - closing + lostAtCost;
  return {
    fill_rate: demanded > 0 ? served / demanded : 1,
    stockout_days: stockoutDays,
    avg_stock_value: stockValue,
    turns: stockValue > 0 ? (cogs * 365) / Math.max(1, days) / stockValue : null,
    orders,
    order_lines: lines,
    purchase_cost: purchase,
    expired_value: expired,
    closing_stock_value: closing,
    purchase_cost_of_demand: ofDemand,
    holding_cost: holding,
    ordering_cost: orderingCost,
    lost_margin: lostMargin,
    total_cost: ofDemand + holding + orderingCost + lostMargin,
    demanded,
    served,
  };
}
