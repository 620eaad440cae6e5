/**
 * Shadow forecasts and the daily scores of every forecast role.
 *
 * Roles: `champion` is what `predict` stored (the live forecast, before event
 * factors: `base_yhat`, so engine settings are compared with each other, not
 * with the event adjustment); `challenger` is the configured challenger
 * setting (`watch.challenger`) forecast in shadow for every series with a
 * model; `baseline` is the previous setting of each series under a running
 * canary, forecast in shadow so the canary's live error has a reference on the
 * same days.
 *
 * Scoring day d uses, for each role, the latest run on or before d that
 * covers d (as `monitor` does); days with unknown demand (stock-out) are not
 * scored. Each scored day is stored once per series and role in
 * `model_scores` (forecast, actual), re-scoring the same day replaces it.
 */
import { addDays } from '../dates.js';
import { readRange, seriesKey } from '../db/history.js';
import { forecastRuns, runCovering } from '../db/forecast-runs.js';
import * as w from '../db/watch.js';
import { roundTo } from '../numbers.js';
import type { Job, JobContext } from '../jobs/types.js';
import { forecastSettings, parseSetting } from './engine-adapter.js';

/** Series to forecast in shadow tonight: role -> ("p:l" -> setting). */
export async function shadowPlan(ctx: JobContext): Promise<Map<string, Map<string, string>>> {
  const plan = new Map<string, Map<string, string>>();
  const q = ctx.db.kysely;
  const challenger = ctx.config.watch.challenger.trim();
  if (challenger) {
    parseSetting(challenger, 'config watch.challenger');
    const m = new Map<string, string>();
    for (const r of await w.modelledSeries(q, ctx.asOf)) m.set(seriesKey(r.product_id, r.location_id), challenger);
    plan.set('challenger', m);
  }
  const canary = await w.canaryBaselines(q, ctx.asOf);
  if (canary.length) plan.set('baseline', new Map(canary.map((c) => [seriesKey(c.product_id, c.location_id), c.algorithm])));
  return plan;
}

export const shadowJob: Job = {
  name: 'shadow',
  readsHistory: true,
  description: 'forecast in shadow: the challenger engine setting, and the previous setting of series under a canary',
  dependsOn: [],
  async run(ctx) {
    const plan = await shadowPlan(ctx);
    const H = ctx.config.watch.shadowHorizon;
    const summary: Record<string, number | string | null> = { challenger: ctx.config.watch.challenger || null, challenger_series: 0, baseline_series: 0, forecasts: 0 };
    if (!plan.size) return { summary };
    const dates = Array.from({ length: H }, (_, h) => addDays(ctx.asOf, h));
    const byRole = new Map<string, w.ShadowRow[]>();
    for (const [role, only] of plan) {
      if (!only.size) continue;
      const { history, forecasts } = await forecastSettings(ctx, only, H);
      const rows: w.ShadowRow[] = [];
      history.refs.forEach((r, i) => {
        const setting = only.get(history.series[i].id)!;
        for (let h = 0; h < H; h++) rows.push({ product_id: r.productId, location_id: r.locationId, run_date: ctx.asOf, date: dates[h], role, setting, yhat: roundTo(forecasts[i][h], 4) });
      });
      byRole.set(role, rows);
      summary[`${role}_series`] = history.refs.length;
      summary.forecasts = Number(summary.forecasts) + history.refs.length * H;
    }
    await w.replaceShadowForecasts(ctx.db.kysely, ctx.asOf, byRole);
    ctx.log.info(`shadow: ${summary.forecasts} forecasts (challenger ${summary.challenger_series} series, canary baseline ${summary.baseline_series})`);
    return { summary };
  },
};

/** Scores the last `days` days for every role (upsert into model_scores); returns rows written. */
export async function scoreRoles(ctx: JobContext, days: number): Promise<number> {
  const { asOf } = ctx;
  const q = ctx.db.kysely;
  const from = addDays(asOf, -days);
  const runs = await forecastRuns(ctx.db, addDays(from, -120), addDays(asOf, -1));
  const roles = await w.shadowRoles(q, addDays(from, -120), asOf);
  // Without a challenger or a canary in shadow there is nothing to compare the champion with: no night pays for it.
  if (!roles.length) return 0;
  const shadowRuns = await w.shadowRunsCovering(q, roles, from, addDays(from, days));
  // Actual demand for every series that has a forecast in the window.
  const keys = new Map<string, { productId: number; locationId: number }>();
  const byDay: { d: string; t: number; role: string; rows: w.ScoredForecast[] }[] = [];
  for (let t = 0; t < days; t++) {
    const d = addDays(from, t);
    const run = await runCovering(ctx.db, runs, d);
    if (run) byDay.push({ d, t, role: 'champion', rows: await w.liveForecasts(q, run, d, 'fallback:snaive') });
    for (const role of roles) {
      const sr = shadowRuns.get(`${role}|${d}`);
      if (sr) byDay.push({ d, t, role, rows: await w.shadowForecastsOf(q, role, sr, d) });
    }
  }
  for (const b of byDay) for (const r of b.rows) keys.set(seriesKey(r.product_id, r.location_id), { productId: r.product_id, locationId: r.location_id });
  const refs = [...keys.values()];
  const idx = new Map(refs.map((r, i) => [seriesKey(r.productId, r.locationId), i]));
  const actual = await readRange(ctx.db, refs, from, asOf);
  const out: w.ScoreRow[] = [];
  for (const b of byDay)
    for (const r of b.rows) {
      const a = actual[idx.get(seriesKey(r.product_id, r.location_id))!].y[b.t];
      if (Number.isNaN(a)) continue;
      out.push({ product_id: r.product_id, location_id: r.location_id, date: b.d, role: b.role, setting: r.setting, forecast: r.yhat, actual: a });
    }
  await w.upsertScores(q, out);
  return out.length;
}
