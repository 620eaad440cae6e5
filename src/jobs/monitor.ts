/**
 * monitor: how accurate were the forecasts of the last `lookbackDays` days?
 *
 * For each day d of the lookback, the forecast used is the one of the latest
 * run on or before d (issued before the day began). Days with unknown demand
 * (stock-out) are skipped. Per series and globally:
 *   MAPE = mean(|f - a| / a) x 100 over days with sales (a > 0)   (%)
 *   WAPE = sum|f - a| / sum(a)                                      (fraction)
 *   RMSE = sqrt(mean((f - a)^2))                                    (units)
 *   bias = mean(f - a)                                              (units; > 0 = over-forecast)
 *
 * Retraining flags (config `monitor.rule`):
 *   relative (default): flag when the model's RMSE over the lookback is above
 *     naiveRatio (1.2) x the RMSE seasonal naive would have had on the same
 *     days, or its RMSSE is above backtestRatio (2) x its own backtest RMSSE.
 *     Both are scale-free, so intermittent series are judged fairly.
 *   mape: the original rule, MAPE > mapeThreshold (15 %).
 * `train` retrains flagged series.
 */
import { forecastsOfDay, saveMonitorDay } from '../db/forecasts.js';
import { modelMetricsInForce } from '../db/models.js';
import { requireCoverage } from '../db/coverage.js';
import { addDays } from '../dates.js';
import { historyFor, seriesKey } from '../db/history.js';
import { ErrorSums, naiveScale } from '../ml/metrics.js';
import { forecastRuns, runCovering } from '../db/forecast-runs.js';
import type { Job } from './types.js';
import { roundOrNull } from '../numbers.js';
import { watchModels } from '../watch/index.js';

export const monitorJob: Job = {
  name: 'monitor',
  readsHistory: true,
  description: 'score recent forecasts against sales (MAPE, WAPE, RMSE, bias); flag series for retraining',
  dependsOn: ['alerts'],
  async run(ctx) {
    // Days after the last imported sale are missing, not zero sales: scoring them would flag every series.
    await requireCoverage(ctx);
    const { asOf, config } = ctx;
    const L = config.monitor.lookbackDays;
    const hist = await historyFor(ctx, L + 365, 0, { demandOnly: true });
    const T = hist.T;
    const idx = new Map(hist.series.map((s, i) => [s.id, i]));
    const runs = await forecastRuns(ctx.db, addDays(asOf, -L - 120), addDays(asOf, -1));
    const f = hist.series.map(() => new Float64Array(L).fill(NaN));
    let daysWithForecasts = 0;
    for (let j = 0; j < L; j++) {
      const d = addDays(asOf, j - L);
      const run = await runCovering(ctx.db, runs, d);
      if (!run) continue;
      daysWithForecasts++;
      for (const r of await forecastsOfDay(ctx.db.kysely, run, d)) {
        const i = idx.get(seriesKey(r.product_id, r.location_id));
        if (i !== undefined) f[i][j] = r.yhat;
      }
    }
    const backtest = new Map<string, number>();
    for (const m of await modelMetricsInForce(ctx.db.kysely, asOf)) {
      const met = JSON.parse(m.metrics) as Record<string, { rmsse: number }>;
      const r = met[m.algorithm]?.rmsse;
      if (r !== undefined && Number.isFinite(r)) backtest.set(seriesKey(m.product_id, m.location_id), r);
    }
    const rows: Record<string, unknown>[] = [];
    const rowRefs: { productId: number; locationId: number }[] = [];
    const flags: { p: number; l: number; reason: string }[] = [];
    const total = new ErrorSums();
    hist.series.forEach((s, i) => {
      const y = s.y;
      const sums = new ErrorSums();
      let nse = 0;
      for (let j = 0; j < L; j++) {
        const t = T - L + j;
        if (!sums.add(y[t], f[i][j])) continue;
        // What seasonal naive would have said for the same day.
        const sn = y[t - 7];
        if (!Number.isNaN(sn)) nse += (sn - y[t]) ** 2;
      }
      const n = sums.n;
      if (!n) return;
      total.merge(sums);
      const ref = hist.refs[i];
      const rmse = sums.rmse;
      const mape = sums.mape;
      const row = { sku: ref.sku, location: ref.location, n, mape: roundOrNull(mape, 3), wape: roundOrNull(sums.wape, 3), rmse: roundOrNull(rmse, 3), bias: roundOrNull(sums.bias, 3), flagged: '' };
      let reason: string | null = null;
      if (config.monitor.rule === 'mape') {
        if (mape !== null && mape > config.monitor.mapeThreshold) reason = `MAPE ${mape.toFixed(1)} % > ${config.monitor.mapeThreshold} %`;
      } else {
        const naiveRmse = Math.sqrt(nse / n);
        const scale = naiveScale(y.subarray(0, T - L), true);
        const bt = backtest.get(s.id);
        if (naiveRmse > 0 && rmse > config.monitor.naiveRatio * naiveRmse && n >= 5) reason = `RMSE ${rmse.toFixed(2)} > ${config.monitor.naiveRatio} x seasonal naive ${naiveRmse.toFixed(2)}`;
        else if (bt !== undefined && scale > 0 && rmse / scale > config.monitor.backtestRatio * bt && n >= 5) reason = `RMSSE ${(rmse / scale).toFixed(2)} > ${config.monitor.backtestRatio} x backtest ${bt.toFixed(2)}`;
      }
      if (reason) {
        row.flagged = reason;
        flags.push({ p: ref.productId, l: ref.locationId, reason });
      }
      rows.push(row);
      rowRefs.push(ref);
    });
    const global = { date: asOf, lookback_days: L, days_with_forecasts: daysWithForecasts, series: rows.length, n: total.n, mape: roundOrNull(total.mape, 3), wape: roundOrNull(total.wape, 3), rmse: roundOrNull(total.n ? total.rmse : null, 3), bias: roundOrNull(total.n ? total.bias : null, 3), flagged: flags.length };
    await saveMonitorDay(
      ctx.db,
      asOf,
      rows.map((r, k) => ({ productId: rowRefs[k].productId, locationId: rowRefs[k].locationId, mape: r.mape as number | null, wape: r.wape as number | null, rmse: r.rmse as number | null, bias: r.bias as number | null, n: r.n as number })),
      flags,
      global,
    );
    if (!daysWithForecasts) ctx.log.warn(`monitor: no forecasts were issued for the ${L} days before ${asOf}; nothing to score yet`);
    ctx.log.info(`monitor: ${rows.length} series scored over ${daysWithForecasts} day(s); WAPE ${global.wape ?? 'n/a'}; ${flags.length} flagged for retraining`);
    // Watched models: shadow and canary scores on the same days, drift, canary decisions (src/watch).
    const watch = await watchModels(ctx);
    return { summary: { ...global, ...watch.summary }, rows, drift: watch.drift.filter((d) => d.flagged) };
  },
};
