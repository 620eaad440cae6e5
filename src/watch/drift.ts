/**
 * Drift of each series' demand against the window its model was trained on.
 *
 * Population stability index over demand levels: bins are the quantiles of
 * the training window's daily demand (`watch.psiBins`, 5; equal edges merged,
 * so an intermittent series gets fewer bins), t_i and r_i the shares of
 * training and recent days in bin i (floored at 1e-4 so an empty bin stays
 * finite):
 *
 *   PSI = sum_i (r_i - t_i) x ln(r_i / t_i)      (dimensionless)
 *
 * On a few weeks of days PSI is far from 0 even when nothing moved: sampling
 * alone gives about (k - 1)(1/n_recent + 1/n_train) for k bins (0.32 for 10
 * bins and 28 days). The flag therefore uses the excess over that noise:
 * PSI - noise > `watch.psiThreshold` (0.25, the usual "shifted" level).
 *
 * Recent window: the last `watch.driftDays` (56) days before today. Training
 * window: the 364 days ending at the model's training end, or just before the
 * recent window when the model is newer (the two never overlap). Stock-out
 * days are unknown demand and left out of both.
 *
 * Error ratio: the series' live RMSSE over the monitor's lookback (its RMSE
 * from `forecast_metrics`, scaled by the training window's seasonal-naive RMSE)
 * divided by its backtest RMSSE. Drift is flagged when the excess PSI > `watch.psiThreshold`
 * or the error ratio > `monitor.backtestRatio`; a flagged series is also
 * flagged for retraining.
 */
import { addDays, dayNumber } from '../dates.js';
import { historyFor } from '../db/history.js';
import { naiveScale } from '../ml/metrics.js';
import { roundOrNull } from '../numbers.js';
import * as w from '../db/watch.js';
import type { JobContext } from '../jobs/types.js';

const FLOOR = 1e-4;

/**
 * PSI of `recent` against `train` with quantile bins of `train` (NaN values
 * ignored), and the value it takes on average from sampling alone when
 * nothing changed, (k - 1) x (1/n_recent + 1/n_train) for k bins (the
 * chi-square approximation of PSI); null when either side has under 14 values.
 */
export function psi(train: ArrayLike<number>, recent: ArrayLike<number>, bins = 5): { psi: number; noise: number } | null {
  const t = Array.from(train).filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  const r = Array.from(recent).filter((v) => !Number.isNaN(v));
  if (t.length < 14 || r.length < 14) return null;
  const edges: number[] = [];
  for (let k = 1; k < bins; k++) {
    const e = t[Math.min(t.length - 1, Math.floor((k * t.length) / bins))];
    if (!edges.length || e > edges[edges.length - 1]) edges.push(e);
  }
  // Bin i holds values in (edges[i-1], edges[i]]; the last bin everything above.
  const bin = (v: number) => {
    let i = 0;
    while (i < edges.length && v > edges[i]) i++;
    return i;
  };
  const ct = new Array(edges.length + 1).fill(0);
  const cr = new Array(edges.length + 1).fill(0);
  for (const v of t) ct[bin(v)]++;
  for (const v of r) cr[bin(v)]++;
  let s = 0;
  for (let i = 0; i < ct.length; i++) {
    const pt = Math.max(FLOOR, ct[i] / t.length);
    const pr = Math.max(FLOOR, cr[i] / r.length);
    s += (pr - pt) * Math.log(pr / pt);
  }
  return { psi: s, noise: (ct.length - 1) * (1 / r.length + 1 / t.length) };
}

export interface DriftRow {
  sku: string;
  location: string;
  psi: number | null;
  error_ratio: number | null;
  flagged: string;
}

export async function measureDrift(ctx: JobContext): Promise<{ rows: DriftRow[]; flagged: number }> {
  const { asOf, config } = ctx;
  const q = ctx.db.kysely;
  const D = config.watch.driftDays;
  const recentFrom = addDays(asOf, -D);
  const models = await w.watchedModels(q, asOf);
  const latest = new Map(models.map((m) => [`${m.product_id}:${m.location_id}`, m]));
  const live = await w.liveRmse(q, asOf);
  const rows: DriftRow[] = [];
  const out: w.DriftWrite[] = [];
  // Demand through the run's shared history (the nightly cache), not a database read per series:
  // the year before the training end and the last D days, both inside its window.
  const hist = await historyFor(ctx, Math.max(ctx.config.train.historyDays, 364 + D), 0, { demandOnly: true });
  const index = new Map(hist.series.map((s, i) => [s.id, i]));
  const day0 = hist.startDay;
  const at = (d: string) => Math.max(0, Math.min(hist.T, dayNumber(d) - day0));
  for (const m of latest.values()) {
    const i = index.get(`${m.product_id}:${m.location_id}`);
    if (i === undefined) continue;
    const y = hist.series[i].y;
    const trainEnd = m.train_end < recentFrom ? addDays(m.train_end, 1) : recentFrom;
    const train = { y: y.subarray(at(addDays(trainEnd, -364)), at(trainEnd)) };
    const recent = { y: y.subarray(at(recentFrom), at(asOf)) };
    const ps = psi(train.y, recent.y, config.watch.psiBins);
    const p = ps ? ps.psi : null;
    let ratio: number | null = null;
    const rmse = live.get(`${m.product_id}:${m.location_id}`);
    const bt = (JSON.parse(m.metrics) as Record<string, { rmsse?: number }>)[m.algorithm.replace(/^fallback:/, '')]?.rmsse;
    const scale = naiveScale(train.y, true);
    if (rmse != null && bt && bt > 0 && scale > 0) ratio = rmse / scale / bt;
    const why: string[] = [];
    if (ps && ps.psi - ps.noise > config.watch.psiThreshold) why.push(`PSI ${ps.psi.toFixed(2)} (${(ps.psi - ps.noise).toFixed(2)} above sampling noise > ${config.watch.psiThreshold}; last ${D} days against the training window)`);
    if (ratio !== null && ratio > config.monitor.backtestRatio) why.push(`live RMSSE ${ratio.toFixed(2)} x its backtest > ${config.monitor.backtestRatio}`);
    const reason = why.length ? 'drift: ' + why.join('; ') : null;
    out.push({ product_id: m.product_id, location_id: m.location_id, psi: roundOrNull(p, 6), error_ratio: roundOrNull(ratio, 6), reason });
    rows.push({ sku: m.sku, location: m.location, psi: roundOrNull(p, 4), error_ratio: roundOrNull(ratio, 3), flagged: reason ?? '' });
  }
  // A series the monitor already flagged keeps its reason.
  await w.writeDrift(q, asOf, out);
  return { rows, flagged: out.filter((o) => o.reason).length };
}
