/**
 * Families of the sample generator: the default mix, and two that stress what
 * real data does and the default mix hides.
 *
 * - `intermittent`: a shop of slow movers. 60 % intermittent series (a sale on
 *   3..35 % of days, lumpy sizes), 40 % slow (0.3..1.5 units/day), and 45 % of
 *   series on a thin replenishment policy, so stock-outs (censored days) are
 *   frequent. One year of history by default.
 * - `yearly`: strong yearly cycles (amplitude 40..80 %, a peak anywhere in the
 *   year, drawn per product: cold medicines in winter, sun cream in summer)
 *   with a short history: 548 days (1.5 years) by default, so each season has
 *   been seen once before the last one.
 *
 * A family changes only the draws named here; everything else (calendar,
 * promotions, prices, suppliers, orders, stock) is the default generator's.
 * The default family makes exactly the draws the generator always made, so
 * its data for a seed is unchanged.
 */
import type { Rng } from './random.js';
import type { DemandClass } from './sample.js';
export const FAMILY_NAMES = ['default', 'intermittent', 'yearly'] as const;
export type FamilyName = (typeof FAMILY_NAMES)[number];

export interface SampleFamily {
  name: FamilyName;
  /** Days of history when --days is not given. */
  days: number;
  /** Demand class of product index p (0-based) from a uniform draw r. */
  demandClass(r: number, p: number, products: number): DemandClass;
  /** Base level (units/day; for intermittent series the probability of a sale day). */
  baseLevel(cls: DemandClass, rng: Rng): number;
  /** Whether this series runs a thin replenishment policy (stocks out). */
  poorPolicy(rng: Rng): boolean;
  /** Yearly amplitude and peak day of year of a product. */
  yearly(category: { yearlyAmplitude: number; yearlyPeakDoy: number }, rng: Rng): { amplitude: number; peakDoy: number };
  /** Demand of an intermittent series on a day with expected sale probability mu. */
  intermittentDemand(mu: number, rng: Rng): number;
}

const DEFAULT: SampleFamily = {
  name: 'default',
  days: 730,
  demandClass: (r, p, products) => (p === 7 || (products > 100 && r < 0.015) ? 'dormant' : r < 0.6 ? 'fast' : r < 0.85 ? 'slow' : 'intermittent'),
  baseLevel: (cls, rng) => (cls === 'fast' ? rng.uniform(8, 60) : cls === 'slow' ? rng.uniform(1, 4) : cls === 'dormant' ? rng.uniform(1, 5) : rng.uniform(0.15, 0.5)),
  poorPolicy: (rng) => rng.next() < 0.12,
  yearly: (c) => ({ amplitude: c.yearlyAmplitude, peakDoy: c.yearlyPeakDoy }),
  intermittentDemand: (mu, rng) => (rng.next() < mu ? 1 + rng.poisson(1.5) : 0),
};

const INTERMITTENT: SampleFamily = {
  ...DEFAULT,
  name: 'intermittent',
  days: 365,
  demandClass: (r) => (r < 0.6 ? 'intermittent' : 'slow'),
  baseLevel: (cls, rng) => (cls === 'intermittent' ? rng.uniform(0.03, 0.35) : rng.uniform(0.3, 1.5)),
  // Slow movers are often stocked thin: a shelf holds a few units and runs out between deliveries.
  poorPolicy: (rng) => rng.next() < 0.45,
  // Lumpy sizes: mostly single units, now and then a customer takes several.
  intermittentDemand: (mu, rng) => (rng.next() < Math.min(1, mu) ? 1 + (rng.next() < 0.2 ? rng.poisson(3) : rng.poisson(0.3)) : 0),
};

const YEARLY: SampleFamily = {
  ...DEFAULT,
  name: 'yearly',
  days: 548,
  demandClass: (r, p) => (p === 7 ? 'slow' : r < 0.7 ? 'fast' : 'slow'),
  yearly: (_c, rng) => ({ amplitude: rng.uniform(0.4, 0.8), peakDoy: rng.int(0, 364) }),
};

export const FAMILIES: Record<FamilyName, SampleFamily> = { default: DEFAULT, intermittent: INTERMITTENT, yearly: YEARLY };

/** The family of a name, or an error message naming the valid ones. */
export function sampleFamily(name: string | undefined): SampleFamily {
  const f = FAMILIES[(name ?? 'default') as FamilyName];
  if (!f) throw new Error(`unknown sample family "${name}" (expected one of: ${FAMILY_NAMES.join(', ')})`);
  return f;
}
