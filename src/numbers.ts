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
