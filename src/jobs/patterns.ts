/**
 * patterns: seasonality, trend, anomalies and correlations, from the last 2 years.
 *
 * - weekly shape: mean demand per weekday / overall mean (1 = average day);
 *   strength = share of the variance explained by weekday means (0..1).
 * - yearly shape: mean demand per month / overall mean; strength likewise.
 * - trend: 28-day growth, year-on-year growth, slope (src/inventory/trend-stats.ts).
 * - anomalies: days whose demand departs from the same weekday's median of the
 *   surrounding 8 weeks by more than 4 robust standard deviations
 *   (1.4826 x MAD, at least 1 unit), dated, with the expected value.
 * - correlations: Pearson correlation of weekly demand (last 52 weeks) between
 *   series; a pair needs at least MIN_OVERLAP_WEEKS = 26 weeks both known. The
 *   strongest positive and negative pairs (for one SKU: its partners). With
 *   more than 500 series, only the 500 largest by volume are paired.
 */
import { addDays, weekday } from '../dates.js';
import { loadHistory } from '../db/history.js';
import { productIdBySku } from '../db/forecasts.js';
import { UsageError, MissingInputError } from '../errors.js';
import { trendStats } from '../inventory/trend-stats.js';
import type { JobContext } from './types.js';

export const MIN_OVERLAP_WEEKS = 26;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export async function analysePatterns(ctx: JobContext, o: { sku?: string; location?: string; top?: number } = {}) {
  const { asOf } = ctx;
  const hist = await loadHistory(ctx.db, { asOf, days: 730, horizon: 0 });
  if (!hist.series.length) throw new MissingInputError('sales history', 'optiflow import sales FILE');
  let focus = -1;
  if (o.sku) {
    focus = hist.refs.findIndex((r) => r.sku === o.sku && r.location === (o.location ?? 'MAIN'));
    if (focus < 0) {
      if ((await productIdBySku(ctx.db.kysely, o.sku)) === undefined) throw new UsageError(`unknown SKU "${o.sku}"`);
      throw new UsageError(`${o.sku} has no sales at location ${o.location ?? 'MAIN'}`);
    }
  }
  const wd = (t: number) => weekday(hist.startDay + t);
  const mo = (t: number) => new Date((hist.startDay + t) * 86_400_000).getUTCMonth();
  const T = hist.T;
  const describe = (i: number) => {
    const y = hist.series[i].y;
    const ws = new Float64Array(7);
    const wn = new Float64Array(7);
    const ms = new Float64Array(12);
    const mn = new Float64Array(12);
    let tot = 0;
    let n = 0;
    for (let t = 0; t < T; t++) if (!Number.isNaN(y[t])) {
      ws[wd(t)] += y[t];
      wn[wd(t)]++;
      ms[mo(t)] += y[t];
      mn[mo(t)]++;
      tot += y[t];
      n++;
    }
    const m = n ? tot / n : 0;
    const weekly = Array.from(ws, (v, k) => (wn[k] && m > 0 ? Math.round((v / wn[k] / m) * 1000) / 1000 : null));
    const yearly = Array.from(ms, (v, k) => (mn[k] && m > 0 ? Math.round((v / mn[k] / m) * 1000) / 1000 : null));
    const tr = trendStats(y, wd, mo);
    // Anomalies.
    const anomalies: { date: string; actual: number; expected: number; score: number }[] = [];
    for (let t = 28; t < T; t++) {
      if (Number.isNaN(y[t])) continue;
      const peers: number[] = [];
      for (let w = -4; w <= 4; w++) {
        const u = t + 7 * w;
        if (w !== 0 && u >= 0 && u < T && !Number.isNaN(y[u])) peers.push(y[u]);
      }
      if (peers.length < 5) continue;
      const med = median(peers);
      const mad = Math.max(1, 1.4826 * median(peers.map((p) => Math.abs(p - med))));
      const z = (y[t] - med) / mad;
      if (Math.abs(z) > 4) anomalies.push({ date: addDays(asOf, t - T), actual: y[t], expected: med, score: Math.round(z * 10) / 10 });
    }
    anomalies.sort((a, b) => Math.abs(b.score) - Math.abs(a.score));
    const r = hist.refs[i];
    return {
      sku: r.sku, location: r.location, category: r.category, mean_daily: Math.round(m * 100) / 100,
      weekly_shape: { Mon: weekly[0], Tue: weekly[1], Wed: weekly[2], Thu: weekly[3], Fri: weekly[4], Sat: weekly[5], Sun: weekly[6] }, weekly_strength: tr.weeklyStrength,
      yearly_shape: yearly, yearly_strength: tr.yearlyStrength,
      trend: { growth_28d: tr.growth28d, growth_yoy: tr.growthYoy, slope: tr.slope, label: tr.label },
      anomalies: anomalies.slice(0, 20),
    };
  };
  // Weekly totals for correlations.
  const W = Math.min(52, Math.floor(T / 7));
  const weeklyTotals = hist.series.map((s) => {
    const out = new Float64Array(W).fill(NaN);
    for (let w = 0; w < W; w++) {
      let a = 0;
      let n = 0;
      for (let k = T - 7 * (W - w); k < T - 7 * (W - w - 1); k++) if (!Number.isNaN(s.y[k])) {
        a += s.y[k];
        n++;
      }
      if (n >= 5) out[w] = (a * 7) / n;
    }
    return out;
  });
  const volume = weeklyTotals.map((x) => x.reduce((a, b) => a + (Number.isNaN(b) ? 0 : b), 0));
  let pool = hist.series.map((_, i) => i);
  if (pool.length > 500) pool = pool.sort((a, b) => volume[b] - volume[a]).slice(0, 500);
  if (focus >= 0 && !pool.includes(focus)) pool.push(focus);
  const corr = (a: Float64Array, b: Float64Array): { r: number; n: number } | null => {
    let n = 0, sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
    for (let k = 0; k < a.length; k++) if (!Number.isNaN(a[k]) && !Number.isNaN(b[k])) {
      n++; sa += a[k]; sb += b[k]; saa += a[k] * a[k]; sbb += b[k] * b[k]; sab += a[k] * b[k];
    }
    if (n < MIN_OVERLAP_WEEKS) return null;
    const va = saa - (sa * sa) / n;
    const vb = sbb - (sb * sb) / n;
    if (va <= 1e-9 || vb <= 1e-9) return null;
    return { r: (sab - (sa * sb) / n) / Math.sqrt(va * vb), n };
  };
  const pairs: { a: string; b: string; r: number; weeks: number }[] = [];
  const name = (i: number) => `${hist.refs[i].sku}@${hist.refs[i].location}`;
  const left = focus >= 0 ? [focus] : pool;
  for (const i of left) for (const j of pool) {
    if (j === i || (focus < 0 && j < i)) continue;
    const c = corr(weeklyTotals[i], weeklyTotals[j]);
    if (c) pairs.push({ a: name(i), b: name(j), r: Math.round(c.r * 1000) / 1000, weeks: c.n });
  }
  const top = o.top ?? 5;
  pairs.sort((x, y) => y.r - x.r);
  const positive = pairs.slice(0, top);
  const negative = pairs.slice(-top).reverse().filter((p) => p.r < 0);
  const series = focus >= 0 ? [describe(focus)] : hist.series.map((_, i) => describe(i));
  return { as_of: asOf, min_overlap_weeks: MIN_OVERLAP_WEEKS, series, correlations: { positive, negative } };
}
