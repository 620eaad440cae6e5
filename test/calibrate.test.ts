/**
 * Intervals from out-of-sample errors (src/ml/calibrate.ts): coverage on fresh
 * draws of series with a known distribution, the discrete interval of counts,
 * the bound at 0, and the error runs safety stock reads.
 */
import { applyInterval, calibrate, dayInterval, MID_P, effectiveDf, errorSumQuantile, widening, type CalibrationErrors } from '../src/ml/calibrate.js';
import { normalQuantile } from '../src/ml/metrics.js';
import { Rng } from '../src/io/random.js';
import { initBackend } from '../src/ml/backend.js';

const F = (xs: number[]) => Float64Array.from(xs);

/** Gamma-Poisson demand with mean m and variance m + phi m^2 (phi = 0: Poisson). */
function draw(rng: Rng, m: number, phi: number): number {
  return rng.poisson(phi > 0 ? (rng.gamma(1 / phi) * m * phi) : m);
}

/** Backtest errors of a forecast equal to the true mean, one 28-day window per level. */
function windowsAt(rng: Rng, levels: number[], phi: number): CalibrationErrors {
  return {
    counts: true,
    windows: levels.map((m) => ({ level: m, floor: 0, forecast: Array(28).fill(m), errors: Array.from({ length: 28 }, () => draw(rng, m, phi) - m) })),
  };
}

/** Share of fresh draws at levels around mNow that fall in the interval calibrated from `errs`. */
function freshCoverage(rng: Rng, errs: CalibrationErrors, level: number, mNow: number, phi: number): number {
  const cal = calibrate(errs, level, mNow)!;
  let inside = 0;
  let n = 0;
  for (let k = 0; k < 200; k++) {
    // The day's true mean wanders +-20 % around mNow, so the bounds fall at every position between two counts.
    const f = F(Array.from({ length: 28 }, () => mNow * rng.uniform(0.8, 1.2)));
    const { lo, hi } = applyInterval(f, cal.spec);
    for (let h = 0; h < 28; h++) {
      const y = draw(rng, f[h], phi);
      n++;
      if (y >= lo[h] && y <= hi[h]) inside++;
    }
  }
  return inside / n;
}

describe('coverage on fresh draws of a known distribution', () => {
  // 5,600 fresh days: the sampling error of a share near 0.8 is 0.5 point; 3 points is the tolerance of the acceptance.
  const TOL = 0.03;
  test('Poisson demand calibrated in a high season, forecast in a low one: coverage within 3 points at 80 % and 95 %', () => {
    for (const level of [0.8, 0.95]) {
      const rng = new Rng(11);
      const errs = windowsAt(rng, [40, 42, 30, 38, 45, 40], 0);
      // Errors scaled by the level (not its square root) would give the low season a third of its spread.
      expect(Math.abs(freshCoverage(rng, errs, level, 8, 0) - level)).toBeLessThan(TOL);
    }
  });
  test('over-dispersed demand (variance m + 0.1 m^2) calibrated at a low level, forecast at a high one', () => {
    for (const level of [0.8, 0.95]) {
      const rng = new Rng(5);
      const errs = windowsAt(rng, [15, 20, 18, 22, 20, 16], 0.1);
      // A Poisson spread alone (phi = 0) would put 60 units/day at 2/3 of its spread.
      expect(Math.abs(freshCoverage(rng, errs, level, 60, 0.1) - level)).toBeLessThan(TOL);
    }
  });
  test('slow movers (mean 0.6 units/day): the interval of counts stays near the level, not at the next count above it', () => {
    const rng = new Rng(3);
    const errs = windowsAt(rng, [0.6, 0.6, 0.6, 0.6, 0.6, 0.6], 0);
    // Poisson(0.6): P(0) = 0.55, P(<= 1) = 0.88, P(<= 2) = 0.977. An equal-tailed interval [q 0.1, q 0.9] = [0, 2] covers 97.7 %.
    const c = freshCoverage(rng, errs, 0.8, 0.6, 0);
    expect(c).toBeGreaterThan(0.8);
    expect(c).toBeLessThan(0.92);
  });
});

describe('the interval of one day', () => {
  test('counts: the tails are cut at the mass nearest the level (hand-worked)', () => {
    // 19 values (each 1/20, plus 1/20 above them all): P(0) = 15/20, P(1) = 3/20, P(2) = 1/20.
    const v = F([...Array(15).fill(0), 1, 1, 1, 2]);
    // 80 %: 0 cannot be dropped below (half of 15/20 > 0.1), so the upper tail takes all of 0.2: the point above
    // (0.05) and 2 (0.05) go; 1 goes too, as half of it keeps the dropped mass under 0.2 (0.1 + 0.075): [0, 0], 75 %.
    expect(dayInterval(v, 0.8, true)).toEqual([0, 0]);
    // 95 %: the upper tail takes 0.05: only the point above; 2 stays ([0, 2], 95 %).
    expect(dayInterval(v, 0.95, true)).toEqual([0, 2]);
  });
  test('not counts: conformal ranks, and a lower tail stuck at 0 hands its share to the upper bound', () => {
    const v = F(Array.from({ length: 19 }, (_, i) => i + 1));
    // No zero: the 2nd and 18th smallest (floor(20 x 0.1) = 2, ceil(20 x 0.9) = 18).
    expect(dayInterval(v, 0.8, false)).toEqual([2, 18]);
    // Six values at the bound 0: the lower bound is 0 and the upper one is the 80 % quantile, ceil(20 x 0.8) = 16th.
    const z = F([0, 0, 0, 0, 0, 0, ...Array.from({ length: 13 }, (_, i) => i + 1)]);
    expect(dayInterval(z, 0.8, false)).toEqual([0, 10]);
  });
  test('few windows widen the errors by t_nu / z (Welch-Satterthwaite nu)', () => {
    // Two windows with means +1 and -1 and no spread inside: nu = (1 + 0)^2 / (1 / 2) = 2.
    expect(effectiveDf([[1, 1], [-1, -1]])).toBeCloseTo(2, 9);
    // t_5(0.9) = 1.475884, z(0.9) = 1.281552.
    expect(widening(0.8, 5)).toBeCloseTo(1.475884 / normalQuantile(0.9), 5);
    expect(widening(0.8, Infinity)).toBe(1);
  });
});

describe('the error runs safety stock reads', () => {
  test('are at today\'s spread and give the same one-day quantile as the interval', () => {
    // Demand in kilograms (not counts): spread proportional to the level; one window at level 10, one at 20.
    const errs: CalibrationErrors = {
      counts: false,
      windows: [
        { level: 10, floor: 0, forecast: Array(28).fill(10), errors: Array.from({ length: 28 }, (_, t) => ((t * 7) % 11) - 5) },
        { level: 20, floor: 0, forecast: Array(28).fill(20), errors: Array.from({ length: 28 }, (_, t) => (t % 3 === 2 ? null : 2 * (((t * 5) % 9) - 4))) },
      ],
    };
    const cal = calibrate(errs, 0.8, 40)!;
    // Today's level is 40: the first window's errors count four times, the second's twice (times the widening).
    const k = cal.spec.widen!;
    expect(Math.abs(cal.runs[0][3]! - errs.windows[0].errors[3]! * 4 * k)).toBeLessThan(0.01);
    expect(cal.runs[1][2]).toBeNull();
    // A day forecast at today's level: the upper bound minus the forecast is the one-day error quantile at (1 + L) / 2.
    const { hi } = applyInterval(F([40]), cal.spec);
    expect(Math.abs(hi[0] - 40 - errorSumQuantile(cal.runs, 1, 0.9).value)).toBeLessThan(0.02);
  });
});

describe('the cut of a count at the edge of a tail', () => {
  // 10 predictive values (n + 1 = 11): seven 0, two 1, one 2. At 80 % the upper tail may take 0.2; the
  // conformal point above all values already takes 1/11. The 2 (1/11) fits whole; the two 1 (2/11) would
  // make 3/11 = 0.27: mid-p keeps them (half of them does not fit), a cut of 0.05 drops them (0.18 + 0.009 < 0.2).
  const v = [0, 0, 0, 0, 0, 0, 0, 1, 1, 2];
  test('mid-p keeps a count when less than half of its mass fits into the tail', () => {
    expect(dayInterval(v, 0.8, true)).toEqual([0, 1]);
    expect(dayInterval(v, 0.8, true, MID_P)).toEqual([0, 1]);
  });
  test('a lower cut drops it', () => {
    expect(dayInterval(v, 0.8, true, 0.05)).toEqual([0, 0]);
  });
  const spec = (scaled: number[]) => ({ level: 0.8, lo: [0], hi: [0], error_lo: 0, error_hi: 0, n_errors: scaled.length, scale: 1, counts: true, floor: 0, dispersion: 0, scaled: [scaled] });
  // With f = 0 and spread sqrt(max(0, 1e-6)) = 0.001, values are round(0.001 r): scaled errors of 1000 x the counts.
  const at0 = (counts: number[]) => spec(counts.map((x) => 1000 * x));
  test('a series of equal days holds the level as near as whole counts allow: 3 of 10 days give up their 1s', () => {
    // Nine values, six 0 and three 1 (n + 1 = 10). At 80 % the upper tail may take 0.2 and the conformal
    // point already takes 0.1: [0, 1] holds 0.9, [0, 0] 0.6. Over 10 days, m days at [0, 0] give
    // 0.9 - 0.03 m: m = 3 gives 0.81, m = 4 gives 0.78; 0.81 is nearer 0.8.
    const { lo, hi } = applyInterval(F(Array(10).fill(0)), at0([0, 0, 0, 0, 0, 0, 1, 1, 1]));
    expect(Array.from(lo)).toEqual(Array(10).fill(0));
    expect(Array.from(hi).filter((x) => x === 0).length).toBe(3);
    expect(Array.from(hi).filter((x) => x === 1).length).toBe(7);
    // The three [0, 0] days are spread over the horizon, not the first three.
    expect(Array.from(hi).slice(0, 3)).not.toEqual([0, 0, 0]);
  });
  test('with an error set per horizon week, the days that give up their 1s are spread over the weeks, not whole weeks', () => {
    // Four weeks whose errors differ only by noise: 30, 31, 29 and 30 zeros, the rest of 44 ones (n + 1 = 45).
    // [0, 1] holds 44/45 and [0, 0] about 2/3: about 16 of the 28 days give up their 1s. Ordered by how much of
    // the 1s fits into the tail (which differs between weeks by the noise alone), week 2 gave up all of its days
    // and week 3 none.
    const week = (zeros: number) => [...Array(zeros).fill(0), ...Array(44 - zeros).fill(1000)];
    const s4 = { ...spec([]), scaled: [week(30), week(31), week(29), week(30)] };
    const { hi } = applyInterval(F(Array(28).fill(0)), s4);
    const perWeek = [0, 1, 2, 3].map((w) => Array.from(hi.subarray(7 * w, 7 * w + 7)).filter((x) => x === 0).length);
    const total = perWeek.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThanOrEqual(14);
    expect(total).toBeLessThanOrEqual(18);
    for (const k of perWeek) {
      expect(k).toBeGreaterThanOrEqual(2);
      expect(k).toBeLessThanOrEqual(6);
    }
  });
  test('a day whose [0, 0] holds more than the level stays [0, 0], and no other series pays for it', () => {
    const b = at0(Array(10).fill(0));
    expect(Array.from(applyInterval(F([0, 0, 0]), b).hi)).toEqual([0, 0, 0]);
    // The day type A of above holds 9/11 at mid-p and 7/11 without its 1s: alone, 9/11 is nearer 0.8.
    expect(Array.from(applyInterval(F([0]), at0(v)).hi)).toEqual([1]);
  });
});

describe('through the engine', () => {
  beforeAll(async () => {
    await initBackend();
  });
  test('Poisson series with a weekday pattern and a season: 80 % intervals of the engine cover fresh days within 4 points', async () => {
    const { forecastMany } = await import('../src/ml/engine.js');
    const rng = new Rng(21);
    const T = 500;
    const H = 28;
    // True mean per day: a level per series (2..30 units/day), weekends 1.5 x, a yearly swing of +-30 %.
    const truth = Array.from({ length: 40 }, () => {
      const base = rng.uniform(2, 30);
      const phase = rng.uniform(0, 364);
      return Float64Array.from({ length: T + H }, (_, t) => base * (t % 7 >= 5 ? 1.5 : 1) * (1 + 0.3 * Math.sin((2 * Math.PI * (t + phase)) / 364)));
    });
    const series = truth.map((m, i) => ({ id: `s${i}`, y: Float64Array.from({ length: T }, (_, t) => rng.poisson(m[t])), promo: null, logPrice: null, group: 'all' }));
    const out = await forecastMany(series, { startDay: 0, horizon: H, holidays: new Map(), nHolidays: 0, candidates: ['ets', 'ma28'], interval: 0.8 });
    let inside = 0;
    let n = 0;
    out.forEach((o, i) => {
      for (let h = 0; h < H; h++) {
        const y = rng.poisson(truth[i][T + h]);
        n++;
        if (y >= o.lo[h] && y <= o.hi[h]) inside++;
      }
    });
    // 1,120 fresh days: the sampling error of the share is 1.2 points; 4 points is over three of them.
    expect(Math.abs(inside / n - 0.8)).toBeLessThan(0.04);
  });

  test('slow movers (Poisson, 0.03 to 1.5 units a day): the products that can hold the level hold it within 3 points, the others hold what their [0, 0] holds', async () => {
    // On a product selling 0.1 a day, [0, 0] is the narrowest interval and holds 90 % of its days: no interval
    // can hold 80 %. The others are balanced over their own days and pay nothing for these.
    const { forecastMany } = await import('../src/ml/engine.js');
    const T = 400;
    const H = 28;
    for (const level of [0.8, 0.95]) {
      const rng = new Rng(33);
      const rates = Array.from({ length: 150 }, () => Math.exp(rng.uniform(Math.log(0.03), Math.log(1.5))));
      const series = rates.map((m, i) => ({ id: `p${i}`, y: Float64Array.from({ length: T }, () => rng.poisson(m)), promo: null, logPrice: null, group: 'all' }));
      const out = await forecastMany(series, { startDay: 0, horizon: H, holidays: new Map(), nHolidays: 0, interval: level });
      let inCan = 0;
      let nCan = 0;
      let inForced = 0;
      let nForced = 0;
      let zeroForced = 0;
      out.forEach((o, i) => {
        const can = Math.exp(-rates[i]) < level;
        // 5 fresh draws per day: 21,000 days, 3,000 to 18,000 of them of products that can hold the level.
        for (let h = 0; h < H; h++)
          for (let r = 0; r < 5; r++) {
            const y = rng.poisson(rates[i]);
            const inside = y >= o.lo[h] && y <= o.hi[h];
            if (can) {
              nCan++;
              if (inside) inCan++;
            } else {
              nForced++;
              if (inside) inForced++;
              zeroForced += Math.exp(-rates[i]);
            }
          }
      });
      expect(Math.abs(inCan / nCan - level)).toBeLessThan(0.03);
      // The others: about the share of days that sell nothing, the coverage of [0, 0] (not of a wider interval).
      if (nForced) expect(inForced / nForced).toBeLessThan(zeroForced / nForced + 0.02);
    }
  });
});
