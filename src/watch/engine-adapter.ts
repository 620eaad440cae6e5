/**
 * The one place the watched-models and explanation code call the forecasting
 * engine (and the regression it holds). For the watched models: an
 * engine setting (an algorithm, or an ensemble such as
 * "ensemble(regression+ets)", as the models table names them) forecasts the
 * given series from their history, without a backtest.
 */
import { historyFor, filterHistory, loadHistory, type History } from '../db/history.js';
import { badInput, demandForModels, forecastWith, parseChoice, type Algorithm, type EngineOptions } from '../ml/engine.js';
import { LOCAL } from '../ml/forecasters.js';
import type { Choice } from '../ml/select.js';
import { initBackend } from '../ml/backend.js';
import { fitRegression } from '../ml/regression.js';
import { UsageError } from '../errors.js';
import type { JobContext } from '../jobs/types.js';

/** Every algorithm a setting may name: the regression and the series-by-series models (the global model needs its stored fit). */
const KNOWN: Algorithm[] = ['regression', ...(Object.keys(LOCAL) as Algorithm[])];

/** Parses and checks an engine setting; a bad one is a usage error naming where it came from. */
export function parseSetting(setting: string, where: string): Choice {
  const choice = parseChoice(setting.trim());
  const bad = choice.algos.filter((a) => !KNOWN.includes(a));
  if (!choice.algos.length || bad.length)
    throw new UsageError(`${where}: "${setting}" is not an engine setting; use one of ${KNOWN.join(', ')}, ensemble(a+b+...) or median(a+b+...)`);
  return choice;
}

export interface SettingForecasts {
  history: History;
  /** Per series of `history`, the forecast from today (units/day). */
  forecasts: Float64Array[];
}

/** Forecasts the series in `only` ("productId:locationId" -> setting) for H days from today. */
export async function forecastSettings(ctx: JobContext, only: Map<string, string>, H: number): Promise<SettingForecasts> {
  await initBackend(ctx.log);
  const full = await historyFor(ctx, ctx.config.train.historyDays, H);
  const history = filterHistory(full, new Set(only.keys()));
  const o: EngineOptions = { startDay: history.startDay, horizon: H, holidays: history.holidays, nHolidays: history.holidayNames.length, interval: ctx.config.interval };
  const algos = history.series.map((s) => parseSetting(only.get(s.id)!, 'engine setting'));
  const f = await forecastWith(history.series, algos, H, o);
  return { history, forecasts: f.map((x) => x.map((v) => Math.max(0, v))) };
}

/**
 * The regression fit `predict` made on a run date, reproduced: the same
 * history (read as of that date), the same series in the regression batch
 * (those whose model of the run includes the regression and that have 56+
 * known days), the same batches of 1000 and options as the engine's
 * regression stage. Returns the fit of the batch holding `key` and its index.
 */
export async function regressionFitAt(ctx: JobContext, key: string, algorithmOf: Map<string, string>, H: number, memo?: Map<string, unknown>) {
  await initBackend(ctx.log);
  // Read directly (not through the nightly history cache, which holds tonight's date); kept in `memo` for the next series.
  const hk = `history:${ctx.asOf}:${H}`;
  const hist = (memo?.get(hk) as History | undefined) ?? (await loadHistory(ctx.db, { asOf: ctx.asOf, days: ctx.config.train.historyDays, horizon: H }));
  memo?.set(hk, hist);
  const T = hist.T;
  const known = (y: ArrayLike<number>) => {
    let n = 0;
    for (let t = 0; t < y.length; t++) if (!Number.isNaN(y[t])) n++;
    return n;
  };
  // As forecastDetailed does: series with unusable input are left out, implausible days are unknown, censored days with known sales count as at least what sold.
  const ys = hist.series.map((s) => (badInput({ ...s, y: s.y.subarray(0, T) }) ? null : demandForModels(s)));
  const reg = hist.series.map((s, i) => i).filter((i) => ys[i] !== null && parseChoice(algorithmOf.get(hist.series[i].id) ?? 'snaive').algos.includes('regression') && known(ys[i]!.subarray(0, T)) >= 56);
  const at = reg.findIndex((i) => hist.series[i].id === key);
  if (at < 0) return null;
  const CHUNK = 1000; // the engine's default regression batch
  const part = reg.slice(Math.floor(at / CHUNK) * CHUNK, Math.floor(at / CHUNK) * CHUNK + CHUNK);
  const input = part.map((i) => ({
    y: ys[i]!.subarray(0, T),
    promo: hist.series[i].promo ? hist.series[i].promo!.subarray(0, T + H) : null,
    logPrice: hist.series[i].logPrice ? hist.series[i].logPrice!.subarray(0, T + H) : null,
    group: hist.series[i].group,
  }));
  const fk = `fit:${ctx.asOf}:${H}:${part[0]}`;
  const fit = (memo?.get(fk) as Awaited<ReturnType<typeof fitRegression>> | undefined)
    ?? (await fitRegression(input, { startDay: hist.startDay, T, H, holidays: hist.holidays, nHolidays: hist.holidayNames.length, yearlyOrder: 4, months: true }));
  memo?.set(fk, fit);
  const j = at % CHUNK;
  return { fit, index: j, T, series: input[j], history: hist };
}

/** One series' forecast by a statistical setting (the other half of an ensemble), as `predict` computes it. */
export async function settingForecastOf(ctx: JobContext, history: History, key: string, setting: string, H: number): Promise<Float64Array> {
  const i = history.series.findIndex((s) => s.id === key);
  const o: EngineOptions = { startDay: history.startDay, horizon: H, holidays: history.holidays, nHolidays: history.holidayNames.length, interval: ctx.config.interval };
  return (await forecastWith([history.series[i]], [parseSetting(setting, 'model')], H, o))[0];
}
