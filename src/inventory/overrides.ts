/**
 * Planner overrides of the forecast (pure). An override covers the days
 * [from, to] of one series and either scales the model's forecast
 * (factor F: yhat' = F x yhat, interval bounds alike) or replaces it
 * (quantity Q: yhat' = Q units/day, interval bounds scaled by Q / yhat, or
 * Q itself when the model said 0). When several overlap a day, the latest
 * (highest id) wins.
 */
export interface Override {
  id: number;
  fromDate: string;
  toDate: string;
  factor: number | null;
  quantity: number | null;
  reason: string;
}

export interface ForecastDay {
  date: string;
  yhat: number;
  lo: number;
  hi: number;
}

/** The override in force on a date, if any. */
export function overrideOn(list: Override[], date: string): Override | null {
  let best: Override | null = null;
  for (const o of list) if (o.fromDate <= date && date <= o.toDate && (!best || o.id > best.id)) best = o;
  return best;
}

export function applyOverride(day: ForecastDay, o: Override | null): ForecastDay {
  if (!o) return day;
  if (o.factor !== null) return { ...day, yhat: day.yhat * o.factor, lo: day.lo * o.factor, hi: day.hi * o.factor };
  const q = Math.max(0, o.quantity ?? 0);
  if (day.yhat > 0) {
    const k = q / day.yhat;
    return { ...day, yhat: q, lo: day.lo * k, hi: day.hi * k };
  }
  return { ...day, yhat: q, lo: q, hi: q };
}

/** What a planner reads next to a figure: "override #3: x1.5 until 2026-12-24 (promo display)". */
export function describeOverride(o: Override): string {
  const what = o.factor !== null ? `x${o.factor}` : `${o.quantity}/day`;
  return `override #${o.id}: ${what} ${o.fromDate} .. ${o.toDate} (${o.reason})`;
}
