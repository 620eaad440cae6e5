/**
 * balanceCuts (src/ml/calibrate.ts) counts a day's predictive probability from
 * the values between the cut bounds, but applyInterval then widens the bounds
 * to hold the point forecast. When the forecast sits at or above a count the
 * cut would leave out, the widened interval holds that count again: the cut
 * changes nothing on that day, yet balanceCuts counted its mass as left out and
 * moves the run's cut for it (a cut that then narrows other products).
 */
import { applyInterval, balanceCuts, MID_P } from '../src/ml/calibrate.js';

const F = (xs: number[]) => Float64Array.from(xs);
const spec = (scaled: number[]) => ({ level: 0.8, lo: [0], hi: [0], error_lo: 0, error_hi: 0, n_errors: scaled.length, scale: 1, counts: true, floor: 0, dispersion: 0, scaled: [scaled] });

describe('the run cut and the bound widened to the forecast', () => {
  // Day A: forecast 1.2, spread sqrt(1.2) = 1.095. Scaled errors -1.5 (x7) and 0 (x3) give the predictive
  // values 0 (x7) and round(1.2) = 1 (x3). At 80 % the upper tail may take 0.2 with 1/11 already taken by the
  // conformal point: the three 1s (3/11) are left out for any cut under 0.4, which gives [0, 0] before the
  // widening and [0, 1.2] after it, the same set of counts {0, 1} as at mid-p.
  const a = { forecast: F([1.2]), spec: spec([-1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5, 0, 0, 0]) };
  // Day B: ten 0 values, [0, 0] at every cut (10/11).
  const b = { forecast: F([0]), spec: spec(Array(10).fill(0)) };

  test('the widened interval of day A holds the same counts at every cut', () => {
    for (const cut of [0, 0.2, 0.35, MID_P, 1]) {
      const { lo, hi } = applyInterval(a.forecast, { ...a.spec, cut });
      expect(lo[0]).toBe(0);
      expect(Math.floor(hi[0])).toBe(1);
    }
  });

  test('so no cut changes what the run holds, and the cut stays at mid-p (ties go to mid-p)', () => {
    expect(balanceCuts([a, b], 0.8).cut).toBe(MID_P);
    expect(balanceCuts([a, b], 0.8).bands.every((c) => c === MID_P)).toBe(true);
  });
});
