/**
 * Replenishment simulation (pure): one series, day by day.
 *
 * Each day: receipts due arrive; demand is served from stock, what cannot be
 * served is lost (lost sales, not backorders); then the policy looks at the
 * end-of-day position (on hand + on order) and may order; an order placed on
 * day t arrives on day t + lead time (before that day's demand).
 *
 * Reported (over the simulated days):
 *   fill rate          = units served / units demanded
 *   stock-out days     = days with unserved demand
 *   average stock value = mean end-of-day on hand x unit cost      (currency)
 *   turns              = cost of units served, annualised / average stock value
 *   orders             = orders placed
 *   purchase cost      = units ordered x unit cost paid
 */
export interface PolicyDecision {
  /** Quantity to order today (0 = none). */
  order: number;
  /** Unit cost paid (for the purchase cost); default: the list cost given to the simulation. */
  unitCost?: number;
}

export type Policy = (day: number, onHand: number, onOrder: number, pipeline: { arrive: number; qty: number }[]) => PolicyDecision;

export interface SimResult {
  purchased: number;
  purchaseCost: number;
  demanded: number;
  served: number;
  stockoutDays: number;
  stockUnitsDays: number;
  orders: number;
  days: number;
}

/** One series' stock, advanced one day at a time. */
export class StockSim {
  onHand: number;
  pipeline: { arrive: number; qty: number }[];
  readonly result: SimResult = { purchased: 0, purchaseCost: 0, demanded: 0, served: 0, stockoutDays: 0, stockUnitsDays: 0, orders: 0, days: 0 };

  constructor(startOnHand: number, startPipeline: { arrive: number; qty: number }[], readonly leadTime: number, readonly listUnitCost = 0) {
    this.onHand = startOnHand;
    this.pipeline = startPipeline.map((p) => ({ ...p }));
  }

  /** Day t: receipts due arrive, demand is served (the rest is lost), then the policy may order. */
  step(t: number, demand: number, policy: Policy): void {
    const r = this.result;
    for (let k = this.pipeline.length - 1; k >= 0; k--) if (this.pipeline[k].arrive <= t) {
      this.onHand += this.pipeline[k].qty;
      this.pipeline.splice(k, 1);
    }
    const d = Math.max(0, demand);
    const served = Math.min(this.onHand, d);
    r.demanded += d;
    r.served += served;
    if (served < d - 1e-9) r.stockoutDays++;
    this.onHand -= served;
    r.stockUnitsDays += this.onHand;
    r.days++;
    const onOrder = this.pipeline.reduce((s, p) => s + p.qty, 0);
    const dec = policy(t, this.onHand, onOrder, this.pipeline);
    const q = dec.order;
    if (q > 0) {
      this.pipeline.push({ arrive: t + Math.max(1, this.leadTime), qty: q });
      r.orders++;
      r.purchased += q;
      r.purchaseCost += q * (dec.unitCost ?? this.listUnitCost);
    }
  }
}

export function simulateSeries(demand: ArrayLike<number>, startOnHand: number, startPipeline: { arrive: number; qty: number }[], leadTime: number, policy: Policy, listUnitCost = 0): SimResult {
  const sim = new StockSim(startOnHand, startPipeline, leadTime, listUnitCost);
  for (let t = 0; t < demand.length; t++) sim.step(t, demand[t], policy);
  return sim.result;
}

/**
 * The static min/max rule common ERPs ship, set from history:
 *   min = average daily demand x lead time
 *   max = min + average daily demand x review cycle (days)
 * When the position falls to min or below, order max - position (rounded up
 * to the pack, at least the MOQ).
 */
export function minMaxPolicy(avgDemand: number, leadTime: number, reviewCycle: number, pack: number, moq: number): Policy {
  const min = avgDemand * leadTime;
  const max = min + avgDemand * reviewCycle;
  return (_t, onHand, onOrder) => {
    const pos = onHand + onOrder;
    if (pos > min || avgDemand <= 0) return { order: 0 };
    let q = Math.max(max - pos, moq);
    q = Math.ceil(q / pack - 1e-9) * pack;
    return { order: q };
  };
}
