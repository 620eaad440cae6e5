/**
 * `models explain`: why a series has its model (the backtest of every
 * candidate, as stored when it was trained) and what each forecast day is
 * made of.
 *
 * For a model with the regression (alone or in an ensemble), the regression
 * fit of the run is reproduced and each day's forecast split into level/trend,
 * weekday, yearly, events (holiday regressors), promotion, price and the
 * never-negative floor (src/ml/regression-explain.ts); an ensemble adds its
 * other model's half and halves the regression's parts. Then the planner
 * override in force that day (which `predict` applies on top of the model,
 * src/inventory/overrides.ts), the event factor applied by `events-impact`
 * (stored yhat - base), and the storage rounding (4 decimals, and float32
 * values in the history cache). The components sum to the stored forecast.
 * When the reproduction is off by more than the rounding (the data before the
 * run changed since), the explanation says so and the gap is shown as
 * `unexplained`.
 */
import { productRef } from '../db/state.js';
import { loadHistory, seriesKey } from '../db/history.js';
import { MissingInputError, UsageError } from '../errors.js';
import { fallbackOf, parseAlgorithm } from '../ml/engine.js';
import { explainRegression, REGRESSION_COMPONENTS } from '../ml/regression-explain.js';
import { regressionFitAt, settingForecastOf } from '../watch/engine-adapter.js';
import { activeOverrides, latestRunOf, likeSkuOf, productIdBySku, runAlgorithms, seriesRunRows } from '../db/forecasts.js';
import { modelById, seriesModels } from '../db/models.js';
import { applyOverride, overrideOn } from '../inventory/overrides.js';
import { roundTo } from '../numbers.js';
import type { JobContext } from './types.js';

/**
 * A reproduction this close is exact: stored forecasts have 4 decimals, and the
 * nightly history cache holds demand and prices in float32 (relative 1e-7).
 */
const tolerance = (y: number) => 0.5e-4 + 1e-5 * Math.max(1, Math.abs(y));

export interface ExplainOptions {
  sku: string;
  location?: string;
  date?: string;
  /** Shared by several explanations of the same run (the report): history and regression fits. */
  memo?: Map<string, unknown>;
}

export interface ExplainedDay {
  date: string;
  stored: number;
  components: Record<string, number>;
  sum: number;
  /** The forecast after the planner override in force that day (null: none). */
  override: number | null;
}

export async function explainForecast(ctx: JobContext, o: ExplainOptions) {
  const { asOf } = ctx;
  const q = ctx.db.kysely;
  const location = o.location ?? 'MAIN';
  const ref = await productRef(ctx.db, o.sku, location);
  if (!ref) throw new UsageError((await productIdBySku(q, o.sku)) !== undefined ? `--location: unknown location "${location}"` : `unknown SKU "${o.sku}"`);
  // The run that forecast the day: the latest on or before it (and never after today).
  const upTo = o.date && o.date < asOf ? o.date : asOf;
  const run = await latestRunOf(q, ref.productId, ref.locationId, upTo);
  if (!run) throw new MissingInputError(`a forecast for ${o.sku}@${location} issued on or before ${upTo}`, `optiflow predict --as-of ${upTo}`);
  const rows = await seriesRunRows(q, ref.productId, ref.locationId, run);
  if (o.date && !rows.some((r) => r.date === o.date)) throw new UsageError(`--date: ${o.date} is not a forecast day of the run of ${run} (${rows[0].date} to ${rows[rows.length - 1].date})`);
  const modelId = rows[0].model_id;
  const model = modelId === null ? null : ((await modelById(q, modelId)) ?? null);
  const key = seriesKey(ref.productId, ref.locationId);
  // The fallback level model predict gives a series without a model in force (fallbackOf its history at the run).
  const fallbackAt = async (): Promise<string> => {
    const h = await loadHistory(ctx.db, { asOf: run, days: ctx.config.train.historyDays, horizon: 1, only: new Set([key]) });
    return h.series.length ? fallbackOf(h.series[0].y) : 'ma28';
  };
  const algorithm = model?.algorithm ?? `fallback:${await fallbackAt()}`;
  // No model in force at the run: the newest one trained before it says why (e.g. the gate rejected it for the level model).
  const before = model ? null : ((await seriesModels(q, ref.productId, ref.locationId)).find((m) => m.train_end < run) ?? null);
  const shown = model ?? before;
  const candidates = shown
    ? Object.entries(JSON.parse(shown.metrics) as Record<string, { rmsse?: number; mase?: number; wape?: number | null; mape?: number | null; bias?: number }>)
        .filter(([, m]) => typeof m === 'object' && m !== null && 'rmsse' in m)
        .map(([name, m]) => ({ candidate: name, rmsse: m.rmsse ?? null, mase: m.mase ?? null, wape: m.wape ?? null, mape: m.mape ?? null, bias: m.bias ?? null, chosen: !!model && name === model.algorithm }))
        .sort((a, b) => (a.rmsse ?? Infinity) - (b.rmsse ?? Infinity))
    : [];

  // The base forecast's parts, from the reproduced model.
  const H = rows.length;
  const algos = parseAlgorithm(algorithm);
  const parts: Record<string, number>[] = rows.map(() => ({}));
  let computed: Float64Array | null = null;
  // Models learned across all series (the pooled seasonal model, the global model) are not reproduced for one series: shown whole.
  const crossSeries = algos.filter((a) => a === 'pooled' || a === 'global');
  if (algos.includes('regression') && !crossSeries.length) {
    const algorithmOf = new Map((await runAlgorithms(q, run))
      .map((r) => [seriesKey(r.product_id, r.location_id), r.algorithm ?? 'snaive']));
    const runCtx = { ...ctx, asOf: run };
    const fit = await regressionFitAt(runCtx, key, algorithmOf, H, o.memo);
    if (fit) {
      const e = explainRegression(fit.fit, fit.index, fit.T, H, fit.series.promo, fit.series.logPrice);
      const w = algos.length === 2 ? 0.5 : 1;
      computed = new Float64Array(H);
      e.components.forEach((c, h) => {
        for (const n of REGRESSION_COMPONENTS) parts[h][n] = w * c[n];
        computed![h] = w * e.forecast[h];
      });
      if (algos.length === 2) {
        const other = algos.find((a) => a !== 'regression') ?? 'regression';
        const of = await settingForecastOf(runCtx, fit.history, key, other, H);
        of.forEach((v, h) => {
          parts[h][`${other} (other half of the ensemble)`] = 0.5 * v;
          computed![h] += 0.5 * v;
        });
      }
    }
  }
  // Planner overrides in force on each day (those active now; `predict` applied them on top of the model).
  const overrides = (await activeOverrides(q, rows[0].date, rows[rows.length - 1].date)).get(key) ?? [];
  let maxGap = 0;
  const days: ExplainedDay[] = rows.map((r, h) => {
    const c = { ...parts[h] };
    if (!computed) c[`model (${algorithm})`] = r.base_yhat;
    let base = computed ? computed[h] : r.base_yhat;
    const o = computed ? overrideOn(overrides, r.date) : null;
    let override: number | null = null;
    if (o) {
      const after = applyOverride({ date: r.date, yhat: base, lo: base, hi: base }, o).yhat;
      c[`override #${o.id}`] = after - base;
      override = after;
      base = after;
    }
    const gap = r.base_yhat - base;
    const exact = Math.abs(gap) <= tolerance(r.base_yhat);
    if (!exact) maxGap = Math.max(maxGap, Math.abs(gap));
    c[exact ? 'rounding' : 'unexplained'] = gap;
    c['event factor'] = r.yhat - r.base_yhat;
    const sum = Object.values(c).reduce((a, b) => a + b, 0);
    return { date: r.date, stored: r.yhat, components: c, sum, override };
  });
  const like = await likeSkuOf(q, ref.productId);
  const note = crossSeries.length
    ? `the model includes the ${crossSeries.join(' and ')} model, learned across all series at once: the forecast is shown whole, not in parts`
    : !computed && algos.includes('regression')
    ? `the regression had under 56 known days, so the model used its fallback level model (${await fallbackAt()}): no components`
    : maxGap > 0 && like ? `the forecast may be borrowed from the like product ${like} (a new product): its own model's components do not add up to it`
    : maxGap > 0 ? `the stored forecast of ${run} is not reproduced (largest gap ${roundTo(maxGap, 6)} units/day): the history before ${run} changed since the run; re-run \`optiflow predict --as-of ${run}\` to explain a current forecast` : null;
  return {
    sku: ref.sku, location: ref.location, run_date: run,
    model: model ? { id: model.id, version: model.version, algorithm: model.algorithm, status: model.status, trained_at: model.trained_at, train_end: model.train_end, reason: model.reason } : { algorithm, reason: before ? `no model in force at the run, so predict used a fallback level model; its newest trained model, v${before.version} ${before.algorithm}, is ${before.status}: ${before.reason ?? '-'}` : `no trained model at the run: the fallback level model (${algorithm.replace('fallback:', '')})` },
    candidates,
    days: o.date ? days.filter((d) => d.date === o.date) : days,
    note,
  };
}
