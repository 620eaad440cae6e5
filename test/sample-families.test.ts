import { loadHistory } from '../src/db/history.js';
import { generateSample } from '../src/io/sample.js';
import { sampleFamily } from '../src/io/sample-families.js';
import { dayOfYear } from '../src/dates.js';
import { cli, newDb, tempDir } from './helpers.js';
import { join } from 'node:path';

const TODAY = '2026-06-01';

describe('sample families', () => {
  test('intermittent: slow movers, most days without a sale, frequent stock-outs', async () => {
    const db = await newDb(join(tempDir(), 'i.db'));
    const { truth, summary } = generateSample(db.sqlite!, { products: 40, locations: 1, days: 365, seed: 5, today: TODAY, family: 'intermittent' });
    expect(summary.days).toBe(365);
    const classes = new Set(truth.map((t) => t.demandClass));
    expect([...classes].sort()).toEqual(['intermittent', 'slow']);
    const h = await loadHistory(db, { asOf: TODAY, days: 365, horizon: 28 });
    let known = 0;
    let zero = 0;
    let censored = 0;
    let seriesWithStockout = 0;
    for (const s of h.series) {
      let c = 0;
      for (const v of s.y) {
        if (Number.isNaN(v)) c++;
        else {
          known++;
          if (v === 0) zero++;
        }
      }
      censored += c;
      if (c > 0) seriesWithStockout++;
    }
    // Most known days sell nothing; a real share of series stock out (thin policy on 45 % of them).
    expect(zero / known).toBeGreaterThan(0.5);
    expect(seriesWithStockout / h.series.length).toBeGreaterThan(0.2);
    expect(censored).toBeGreaterThan(0);
  });

  test('yearly: strong yearly cycles with peaks spread over the year, 1.5 years by default', async () => {
    expect(sampleFamily('yearly').days).toBe(548);
    const db = await newDb(join(tempDir(), 'y.db'));
    generateSample(db.sqlite!, { products: 30, locations: 1, days: 548, seed: 6, today: TODAY, family: 'yearly' });
    const h = await loadHistory(db, { asOf: TODAY, days: 548, horizon: 28 });
    // Per series: mean demand in the best and the worst 30-day window of the day-of-year cycle.
    const peaks: number[] = [];
    let strong = 0;
    for (const s of h.series) {
      const byMonth = new Array(12).fill(0);
      const n = new Array(12).fill(0);
      s.y.forEach((v, t) => {
        if (Number.isNaN(v)) return;
        const m = Math.min(11, Math.floor(dayOfYear(h.startDay + t) / 30.5));
        byMonth[m] += v;
        n[m]++;
      });
      const means = byMonth.map((x, m) => x / Math.max(1, n[m]));
      const hi = Math.max(...means);
      const lo = Math.min(...means);
      if (hi > 2 * lo) strong++;
      peaks.push(means.indexOf(hi));
    }
    // Amplitude 0.4..0.8 gives peak/trough ratios of 2.3..9 before noise: most series double at least.
    expect(strong / h.series.length).toBeGreaterThan(0.6);
    // Peaks are drawn per product: at least four different peak months.
    expect(new Set(peaks).size).toBeGreaterThanOrEqual(4);
  });

  test('an unknown family is a usage error naming the valid ones', () => {
    expect(() => sampleFamily('weekly')).toThrow(/default, intermittent, yearly/);
    const r = cli(['sample', '--db', join(tempDir(), 'x.db'), '--family', 'weekly', '--products', '3']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--family: unknown family "weekly"/);
  });
});
