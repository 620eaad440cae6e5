/** Rounding for stored and printed figures. */

/** x rounded to `digits` decimals. */
export function roundTo(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Like roundTo, but a missing or non-finite figure is null (JSON and tables show it as absent). */
export function roundOrNull(x: number | null, digits: number): number | null {
  return x === null || !Number.isFinite(x) ? null : roundTo(x, digits);
}

/** Beyond this magnitude a fraction is shown in exponent form (its digits would be noise to a reader). */
export const HUGE_FRACTION = 1e6;

/** A score in a message (RMSSE, MAPE): three decimals, exponent form when it blew up (1.44e+11), n/a when missing. */
export function formatScore(x: number): string {
  return Number.isFinite(x) ? (Math.abs(x) >= HUGE_FRACTION ? x.toPrecision(3) : x.toFixed(3)) : 'n/a';
}
