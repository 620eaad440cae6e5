/**
 * The one place the watched-models code calls the forecasting engine: an
 * engine setting (an algorithm, or an ensemble such as
 * "ensemble(regression+ets)", as the models table names them) forecasts the
 * given series from their history, without a backtest.
 */
import { historyFor, filterHistory, type History } from '../db/history.js';
import { forecastWith, parseAlgorithm, type Algorithm, type EngineOptions } from '../ml/engine.js';
import { initBackend } from '../ml/backend.js';
import { UsageError } from '../errors.js';
import type { JobContext } from '../jobs/types.js';

const KNOWN: Algorithm[] = ['regression', 'ets', 'snaive', 'ma28', 'croston', 'sba', 'tsb'];

/** Parses and checks an engine setting; a bad one is a usage error naming where it came from. */
export function parseSetting(setting: string, where: string): Algorithm[] {
  const algos = parseAlgorithm(setting.trim());
  const bad = algos.filter((a) => !KNOWN.includes(a));
  if (!algos.length || bad.length || algos.length > 2)
    throw new UsageError(`${where}: "${setting}" is not an engine setting; use one of ${KNOWN.join(', ')} or ensemble(a+b)`);
  return algos;
}

export interface SettingForecasts {
  history: History;
  /** Per series of `history`, the forecast from today (units/day). */
  forecasts: Float64Array[];
}

/** Forecasts the series in `only` ("productId:locationId" -> setting) for H days from today. */
export async function forecastSettings(ctx: JobContext, only: Map<string, string>, H: number): Promise<SettingForecasts> {
  await initBackend(ctx.log);
  const full = historyFor(ctx, ctx.config.train.historyDays, H);
  const history = filterHistory(full, new Set(only.keys()));
  const o: EngineOptions = { startDay: history.startDay, horizon: H, holidays: history.holidays, nHolidays: history.holidayNames.length, interval: ctx.config.interval };
  const algos = history.series.map((s) => parseSetting(only.get(s.id)!, 'engine setting'));
  const f = await forecastWith(history.series, algos, H, o);
  return { history, forecasts: f.map((x) => x.map((v) => Math.max(0, v))) };
}
