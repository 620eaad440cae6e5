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
import type BetterSqlite3 from 'better-sqlite3';
import { addDays } from '../dates.js';
import { readRange, seriesKey } from '../db/history.js';
import { forecastRuns, runCovering } from '../db/forecast-runs.js';
import { roundTo } from '../numbers.js';
import type { Job, JobContext } from '../jobs/types.js';
import { forecastSettings, parseSetting } from './engine-adapter.js';

/** Series to forecast in shadow tonight: role -> ("p:l" -> setting). */
export function shadowPlan(ctx: JobContext): Map<string, Map<string, string>> {
  const plan = new Map<string, Map<string, string>>();
  const challenger = ctx.config.watch.challenger.trim();
  if (challenger) {
    parseSetting(challenger, 'config watch.challenger');
    const m = new Map<string, string>();
    for (const r of ctx.sqlite.prepare(`select product_id, location_id from models where status in ('active','fallback') and train_end < ?`).all(ctx.asOf) as { product_id: number; location_id: number }[])
      m.set(seriesKey(r.product_id, r.location_id), challenger);
    plan.set('challenger', m);
  }
  const canary = ctx.sqlite
    .prepare(`select t.product_id, t.location_id, p.algorithm from model_trials t join models p on p.id = t.previous_model_id where t.kind = 'canary' and t.status = 'running' and t.started_on <= ?`)
    .all(ctx.asOf) as { product_id: number; location_id: number; algorithm: string }[];
  if (canary.length) plan.set('baseline', new Map(canary.map((c) => [seriesKey(c.product_id, c.location_id), c.algorithm])));
  return plan;
}

export const shadowJob: Job = {
  name: 'shadow',
  description: 'forecast in shadow: the challenger engine setting, and the previous setting of series under a canary',
  dependsOn: [],
  async run(ctx) {
    const plan = shadowPlan(ctx);
    const H = ctx.config.watch.shadowHorizon;
    const summary: Record<string, number | string | null> = { challenger: ctx.config.watch.challenger || null, challenger_series: 0, baseline_series: 0, forecasts: 0 };
    if (!plan.size) return { summary };
    const del = ctx.sqlite.prepare('delete from shadow_forecasts where role = ? and run_date = ?');
    const ins = ctx.sqlite.prepare('insert into shadow_forecasts (product_id, location_id, run_date, date, role, setting, yhat) values (?, ?, ?, ?, ?, ?, ?)');
    const dates = Array.from({ length: H }, (_, h) => addDays(ctx.asOf, h));
    const written: [string, { refs: { productId: number; locationId: number; id: string }[]; settings: Map<string, string>; f: Float64Array[] }][] = [];
    for (const [role, only] of plan) {
      if (!only.size) continue;
      const { history, forecasts } = await forecastSettings(ctx, only, H);
      written.push([role, { refs: history.refs.map((r, i) => ({ ...r, id: history.series[i].id })), settings: only, f: forecasts }]);
    }
    ctx.sqlite.transaction(() => {
      for (const [role, w] of written) {
        del.run(role, ctx.asOf);
        w.refs.forEach((r, i) => {
          for (let h = 0; h < H; h++) ins.run(r.productId, r.locationId, ctx.asOf, dates[h], role, w.settings.get(r.id)!, roundTo(w.f[i][h], 4));
        });
        summary[`${role}_series`] = w.refs.length;
        summary.forecasts = Number(summary.forecasts) + w.refs.length * H;
      }
    })();
    ctx.log.info(`shadow: ${summary.forecasts} forecasts (challenger ${summary.challenger_series} series, canary baseline ${summary.baseline_series})`);
    return { summary };
  },
};

/** Latest shadow run of a role on or before d that covers d. */
function shadowRunCovering(sqlite: BetterSqlite3.Database, role: string, d: string): string | null {
  const r = sqlite.prepare('select max(run_date) as r from shadow_forecasts where role = ? and run_date <= ? and date = ?').get(role, d, d) as { r: string | null };
  return r.r;
}

/** Scores the last `days` days for every role (upsert into model_scores); returns rows written. */
export async function scoreRoles(ctx: JobContext, days: number): Promise<number> {
  const { sqlite, asOf } = ctx;
  const from = addDays(asOf, -days);
  const runs = await forecastRuns(ctx.db, addDays(from, -120), addDays(asOf, -1));
  const roles = (sqlite.prepare('select distinct role from shadow_forecasts where run_date >= ? and run_date < ?').all(addDays(from, -120), asOf) as { role: string }[]).map((r) => r.role);
  // Without a challenger or a canary in shadow there is nothing to compare the champion with: no night pays for it.
  if (!roles.length) return 0;
  // Actual demand for every series that has a forecast in the window.
  const keys = new Map<string, { productId: number; locationId: number }>();
  const live = sqlite.prepare('select f.product_id, f.location_id, f.base_yhat as yhat, coalesce(m.algorithm, ?) as setting from forecasts f left join models m on m.id = f.model_id where f.run_date = ? and f.date = ?');
  const shadow = sqlite.prepare('select product_id, location_id, yhat, setting from shadow_forecasts where role = ? and run_date = ? and date = ?');
  type Row = { product_id: number; location_id: number; yhat: number; setting: string };
  const byDay: { d: string; t: number; role: string; rows: Row[] }[] = [];
  for (let t = 0; t < days; t++) {
    const d = addDays(from, t);
    const run = await runCovering(ctx.db, runs, d);
    if (run) byDay.push({ d, t, role: 'champion', rows: live.all('fallback:snaive', run, d) as Row[] });
    for (const role of roles) {
      const sr = shadowRunCovering(sqlite, role, d);
      if (sr) byDay.push({ d, t, role, rows: shadow.all(role, sr, d) as Row[] });
    }
  }
  for (const b of byDay) for (const r of b.rows) keys.set(seriesKey(r.product_id, r.location_id), { productId: r.product_id, locationId: r.location_id });
  const refs = [...keys.values()];
  const idx = new Map(refs.map((r, i) => [seriesKey(r.productId, r.locationId), i]));
  const actual = await readRange(ctx.db, refs, from, asOf);
  const up = sqlite.prepare('insert or replace into model_scores (product_id, location_id, date, role, setting, forecast, actual) values (?, ?, ?, ?, ?, ?, ?)');
  let n = 0;
  sqlite.transaction(() => {
    for (const b of byDay)
      for (const r of b.rows) {
        const a = actual[idx.get(seriesKey(r.product_id, r.location_id))!].y[b.t];
        if (Number.isNaN(a)) continue;
        up.run(r.product_id, r.location_id, b.d, b.role, r.setting, r.yhat, a);
        n++;
      }
  })();
  return n;
}

/** Paired absolute errors of two roles for one series on the days both were scored, oldest first. */
export function pairedErrors(sqlite: BetterSqlite3.Database, p: number, l: number, a: string, b: string, from: string, to: string): { date: string; ea: number; eb: number; actual: number }[] {
  return (sqlite
    .prepare(
      `select x.date, abs(x.forecast - x.actual) as ea, abs(y.forecast - y.actual) as eb, x.actual from model_scores x
       join model_scores y on y.product_id = x.product_id and y.location_id = x.location_id and y.date = x.date and y.role = ?
       where x.product_id = ? and x.location_id = ? and x.role = ? and x.date >= ? and x.date < ? order by x.date`,
    )
    .all(b, p, l, a, from, to) as { date: string; ea: number; eb: number; actual: number }[]);
}
