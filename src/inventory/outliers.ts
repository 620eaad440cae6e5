/**
 * Guards against absurd daily quantities in money figures (savings, rotation).
 *
 * A day whose quantity exceeds `factor` x the series' typical sale day (the
 * lower median of its days with a positive quantity in the window) is taken
 * as a data error, not demand, and counted at that cap. Non-finite quantities
 * are left out. Promotions and bulk orders lift a day a few times to a few
 * tens of times; key-entry slips and unit mix-ups (grams for kilograms) are a
 * thousand times and more: the default factor (100) sits between the two.
 */
export const DEFAULT_OUTLIER_FACTOR = 100;

/** The cap of a plausible day for one series (Infinity when it has no positive day). */
export function plausibleDayCap(quantities: ArrayLike<number>, factor = DEFAULT_OUTLIER_FACTOR): number {
  const pos: number[] = [];
  for (let i = 0; i < quantities.length; i++) if (quantities[i] > 0 && Number.isFinite(quantities[i])) pos.push(quantities[i]);
  if (!pos.length) return Infinity;
  pos.sort((a, b) => a - b);
  return factor * pos[Math.floor((pos.length - 1) / 2)];
}

/** Sum of the quantities with each day capped; `capped` counts the days above the cap or not finite. */
export function cappedSum(quantities: ArrayLike<number>, factor = DEFAULT_OUTLIER_FACTOR): { sum: number; capped: number } {
  const cap = plausibleDayCap(quantities, factor);
  let sum = 0;
  let capped = 0;
  for (let i = 0; i < quantities.length; i++) {
    const q = quantities[i];
    if (!Number.isFinite(q)) capped++;
    else if (q > cap) {
      sum += cap;
      capped++;
    } else sum += q;
  }
  return { sum, capped };
}
