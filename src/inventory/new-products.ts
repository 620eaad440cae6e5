/**
 * New products (pure): a product may name a `like_sku`, an existing product it
 * is expected to sell like. Until it has MIN_OWN_DAYS days of known sales of
 * its own, its forecast is the like product's forecast at the same location
 * (its level and weekly profile), times `like_factor` (default 1):
 *   yhat_new[d] = like_factor x yhat_like[d]      (units/day; bounds alike)
 * From MIN_OWN_DAYS on, its own model takes over.
 */
export const MIN_OWN_DAYS = 56; // 8 weeks: 8 observations of each weekday, what the weekly profile needs

export function knownDays(y: ArrayLike<number>): number {
  let n = 0;
  for (let t = 0; t < y.length; t++) if (y[t] === y[t]) n++;
  return n;
}

/** Whether a series should borrow its like product's forecast. */
export function borrowsForecast(ownHistory: ArrayLike<number>, likeAvailable: boolean): boolean {
  return likeAvailable && knownDays(ownHistory) < MIN_OWN_DAYS;
}

export function borrowedForecast(like: ArrayLike<number>, factor: number | null | undefined): Float64Array {
  const k = factor !== null && factor !== undefined && factor >= 0 ? factor : 1;
  return Float64Array.from(like, (v) => Math.max(0, v * k));
}
