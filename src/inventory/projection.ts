/**
 * Stock projection: the one implementation alerts, suggest and simulate use.
 *
 * Day 0 is today. Each day: stock += receipts arriving that day; stock -= demand.
 * The stock-out day is the first day whose demand cannot be fully served
 * (stock before demand < demand). Units: the product's unit of sale.
 */
export interface Projection {
  /** End-of-day stock (may go negative: unserved demand). */
  stock: Float64Array;
  /** First day (0 = today) demand exceeds available stock; null if none within the horizon. */
  stockoutDay: number | null;
  /** Days the position (on hand + receipts) covers at the forecast rate; Infinity when there is no demand. */
  daysOfCover: number;
}

export function projectStock(onHand: number, receipts: ArrayLike<number>, demand: ArrayLike<number>): Projection {
  const H = demand.length;
  const stock = new Float64Array(H);
  let s = onHand;
  let stockoutDay: number | null = onHand <= 0 && H > 0 && demand[0] > 0 ? 0 : null;
  for (let d = 0; d < H; d++) {
    s += receipts[d] ?? 0;
    if (stockoutDay === null && s < demand[d] - 1e-9) stockoutDay = d;
    s -= demand[d];
    stock[d] = s;
  }
  return { stock, stockoutDay, daysOfCover: daysOfCover(onHand, receipts, demand) };
}

/**
 * Days of cover: how many days on hand + scheduled receipts last at the
 * forecast rate, walking the forecast day by day, then extrapolating at its
 * mean rate beyond the horizon. Fractional days.
 */
export function daysOfCover(onHand: number, receipts: ArrayLike<number>, demand: ArrayLike<number>): number {
  let s = onHand;
  let total = 0;
  for (let d = 0; d < demand.length; d++) {
    s += receipts[d] ?? 0;
    total += demand[d];
    if (demand[d] > 0 && s < demand[d]) return d + Math.max(0, s) / demand[d];
    s -= demand[d];
  }
  const rate = demand.length ? total / demand.length : 0;
  if (rate <= 0) return Infinity;
  return demand.length + s / rate;
}

export function sum(xs: ArrayLike<number>, from = 0, to = xs.length): number {
  let s = 0;
  for (let i = Math.max(0, from); i < Math.min(to, xs.length); i++) s += xs[i];
  return s;
}
