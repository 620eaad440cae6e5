/**
 * A day's interval is counted as it is returned, widened to hold its point
 * forecast. When the forecast sits at or above the count at the upper edge,
 * the widened interval holds that count whether it is left out or not: the
 * day has nothing to give up, and counting its mass as given up would stop
 * the series' other days from giving up theirs (the series would hold more
 * than the level).
 */
import { applyInterval } from '../src/ml/calibrate.js';

const F = (xs: number[]) => Float64Array.from(xs);
const spec = (scaled: number[]) => ({ level: 0.8, lo: [0], hi: [0], error_lo: 0, error_hi: 0, n_errors: scaled.length, scale: 1, counts: true, floor: 0, dispersion: 0, scaled: [scaled] });

describe('the intervals of a count series and the bound widened to the forecast', () => {
  // Scaled errors -1.5 (x7) and 0 (x3). Day A: forecast 1.2, spread sqrt(1.2) = 1.095: the predictive
  // values 0 (x7) and round(1.2) = 1 (x3). Day X: forecast 0.6, spread 0.775: the same values. At 80 %
  // the upper tail may take 0.2 with 1/11 already taken by the conformal point: [0, 1] holds 10/11, and
  // without the 1s [0, 0] holds 7/11. Day A's interval widened to 1.2 holds the 1 in both cases; day X's
  // widened to 0.6 does not.
  const errors = [-1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5, 0, 0, 0];
  const forecast = F([1.2, 0.6, 1.2, 0.6, 1.2, 0.6, 1.2, 0.6, 1.2, 0.6]);

  test('day A holds the 1 whatever happens', () => {
    const { lo, hi } = applyInterval(forecast, spec(errors));
    for (let h = 0; h < 10; h += 2) {
      expect(lo[h]).toBe(0);
      expect(Math.floor(hi[h])).toBe(1);
    }
  });

  test('so the series balances on its X days: 4 of the 5 give up their 1s', () => {
    // m X days at [0, 0.6]: (10 x 10/11 - m x 3/11) / 10 = 0.909 - 0.0273 m, nearest 0.8 at m = 4 (0.800).
    const { hi } = applyInterval(forecast, spec(errors));
    const xs = [1, 3, 5, 7, 9].map((h) => hi[h]);
    expect(xs.filter((x) => x < 1).length).toBe(4);
  });
});
