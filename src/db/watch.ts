/**
 * Watched models: shadow forecasts, role scores, drift measures, champion/challenger
 * and canary trials. Every read covers all series in one query (grouped in
 * TypeScript by the caller), never one query per series.
 */
import { sql } from 'kysely';
import { nowIso } from '../jobs/types.js';
import { inTransaction, insertMany, num, type Q } from './query.js';
import type { ModelsTable } from './types.js';

export interface ModelRow { id: number; product_id: number; location_id: number; version: number; algorithm: string; params: string; train_end: string; metrics: string; status: string; reason: string | null }

/** Active models trained on data before `asOf`, by series. */
export async function activeModels(q: Q, asOf: string): Promise<ModelRow[]> {
  return q.selectFrom('models').select(['id', 'product_id', 'location_id', 'version', 'algorithm', 'params', 'train_end', 'metrics', 'status', 'reason'])
    .where('status', '=', 'active').where('train_end', '<', asOf).orderBy('product_id').orderBy('location_id').orderBy('id').execute();
}

/** Series with an active or fallback model trained before `asOf`, with the model's SKU and location code, oldest version first. */
export async function watchedModels(q: Q, asOf: string) {
  return q.selectFrom('models as m').innerJoin('products as p', 'p.id', 'm.product_id').innerJoin('locations as l', 'l.id', 'm.location_id')
    .select(['m.product_id', 'm.location_id', 'm.train_end', 'm.algorithm', 'm.metrics', 'p.sku', 'l.code as location'])
    .where('m.status', 'in', ['active', 'fallback']).where('m.train_end', '<', asOf)
    .orderBy('m.product_id').orderBy('m.location_id').orderBy('m.version').execute();
}

/** SKU and location code of every series, keyed "productId:locationId". */
export async function seriesNames(q: Q): Promise<Map<string, { sku: string; code: string }>> {
  const rows = await sql<{ p: number; l: number; sku: string; code: string }>`select p.id as p, l.id as l, p.sku, l.code from products p cross join locations l`.execute(q);
  return new Map(rows.rows.map((r) => [`${r.p}:${r.l}`, { sku: r.sku, code: r.code }]));
}

export interface TrialRow { id: number; kind: 'challenger' | 'canary'; product_id: number; location_id: number; setting: string; model_id: number | null; previous_model_id: number | null; started_on: string; decided_on: string | null; status: string; details: string | null }

export async function runningCanaries(q: Q): Promise<TrialRow[]> {
  return q.selectFrom('model_trials').selectAll().where('kind', '=', 'canary').where('status', '=', 'running').orderBy('id').execute() as Promise<TrialRow[]>;
}

/** Series under a running canary started on or before `asOf`, with the setting of their previous model. */
export async function canaryBaselines(q: Q, asOf: string): Promise<{ product_id: number; location_id: number; algorithm: string }[]> {
  return q.selectFrom('model_trials as t').innerJoin('models as p', 'p.id', 't.previous_model_id')
    .select(['t.product_id', 't.location_id', 'p.algorithm'])
    .where('t.kind', '=', 'canary').where('t.status', '=', 'running').where('t.started_on', '<=', asOf).orderBy('t.id').execute();
}

/** The latest canary trials, newest first. */
export async function canaryTrials(q: Q, limit: number): Promise<Record<string, unknown>[]> {
  return q.selectFrom('model_trials as t').innerJoin('products as p', 'p.id', 't.product_id').innerJoin('locations as l', 'l.id', 't.location_id')
    .select(['t.id', 'p.sku', 'l.code as location', 't.setting', 't.started_on', 't.decided_on', 't.status'])
    .where('t.kind', '=', 'canary').orderBy('t.id', 'desc').limit(limit).execute();
}

/** Series with an active or fallback model trained before `asOf`. */
export async function modelledSeries(q: Q, asOf: string): Promise<{ product_id: number; location_id: number }[]> {
  return q.selectFrom('models').select(['product_id', 'location_id']).where('status', 'in', ['active', 'fallback']).where('train_end', '<', asOf)
    .orderBy('product_id').orderBy('location_id').execute();
}

export interface PairedError { product_id: number; location_id: number; date: string; ea: number; eb: number; actual: number }

/**
 * Paired absolute errors of roles a and b on the days in [from, to) both were
 * scored, for every series, ordered by series then date (errors computed in
 * TypeScript from the stored forecast and actual).
 */
export async function pairedErrors(q: Q, a: string, b: string, from: string, to: string): Promise<PairedError[]> {
  const rows = await q.selectFrom('model_scores as x')
    .innerJoin('model_scores as y', (j) => j.onRef('y.product_id', '=', 'x.product_id').onRef('y.location_id', '=', 'x.location_id').onRef('y.date', '=', 'x.date').on('y.role', '=', b))
    .select(['x.product_id', 'x.location_id', 'x.date', 'x.forecast as fa', 'y.forecast as fb', 'x.actual'])
    .where('x.role', '=', a).where('x.date', '>=', from).where('x.date', '<', to)
    .orderBy('x.product_id').orderBy('x.location_id').orderBy('x.date').execute();
  return rows.map((r) => ({ product_id: r.product_id, location_id: r.location_id, date: r.date, ea: Math.abs(r.fa - r.actual), eb: Math.abs(r.fb - r.actual), actual: r.actual }));
}

/** Per series, the setting of its latest `role` score on or after `from`. */
export async function latestScoredSetting(q: Q, role: string, from: string): Promise<Map<string, string>> {
  const rows = await sql<{ product_id: number; location_id: number; setting: string }>`
    select s.product_id, s.location_id, s.setting from model_scores s
    join (select product_id, location_id, max(date) as d from model_scores where role = ${role} and date >= ${from} group by product_id, location_id) m
      on m.product_id = s.product_id and m.location_id = s.location_id and m.d = s.date
    where s.role = ${role}`.execute(q);
  return new Map(rows.rows.map((r) => [`${r.product_id}:${r.location_id}`, r.setting]));
}

/** Highest model version of every series. */
export async function maxVersions(q: Q): Promise<Map<string, number>> {
  const rows = await q.selectFrom('models').select(['product_id', 'location_id', (e) => e.fn.max('version').as('v')]).groupBy(['product_id', 'location_id']).execute();
  return new Map(rows.map((r) => [`${r.product_id}:${r.location_id}`, num(r.v)]));
}

/** Retires model `from` and inserts version `version` of its series with another setting; returns the new id. */
export async function switchModel(q: Q, from: ModelRow, version: number, setting: string, reason: string, extraMetrics: Record<string, unknown>): Promise<number> {
  await q.updateTable('models').set({ status: 'retired' }).where('id', '=', from.id).execute();
  const metrics = { ...JSON.parse(from.metrics), ...extraMetrics };
  const row = await q.insertInto('models')
    .values({ product_id: from.product_id, location_id: from.location_id, version, algorithm: setting, params: from.params, trained_at: nowIso(), train_end: from.train_end, metrics: JSON.stringify(metrics), reason, status: 'active' })
    .returning('id').executeTakeFirstOrThrow();
  return num(row.id);
}

export async function insertTrial(q: Q, t: Omit<TrialRow, 'id' | 'decided_on' | 'details'> & { decided_on?: string | null; details?: string | null }): Promise<void> {
  await q.insertInto('model_trials').values({ ...t, decided_on: t.decided_on ?? null, details: t.details ?? null }).execute();
}

export async function setModelStatus(q: Q, id: number, status: ModelsTable['status'], appendReason: string): Promise<void> {
  await q.updateTable('models').set({ status, reason: sql`coalesce(reason, '') || ${appendReason}` }).where('id', '=', id).execute();
}

export async function closeTrial(q: Q, id: number, status: string, decidedOn: string, details: string): Promise<void> {
  await q.updateTable('model_trials').set({ status, decided_on: decidedOn, details }).where('id', '=', id).execute();
}

export interface ShadowRow { product_id: number; location_id: number; run_date: string; date: string; role: string; setting: string; yhat: number }

/** Replaces the shadow forecasts of the given roles for one run date, in one transaction. */
export async function replaceShadowForecasts(q: Q, runDate: string, byRole: Map<string, ShadowRow[]>): Promise<void> {
  await inTransaction(q, async (trx) => {
    for (const [role, rows] of byRole) {
      await trx.deleteFrom('shadow_forecasts').where('role', '=', role).where('run_date', '=', runDate).execute();
      await insertMany(trx, 'shadow_forecasts', rows as unknown as Record<string, unknown>[]);
    }
  });
}

/** Roles forecast in shadow by runs in [from, to). */
export async function shadowRoles(q: Q, from: string, to: string): Promise<string[]> {
  const rows = await q.selectFrom('shadow_forecasts').select('role').distinct().where('run_date', '>=', from).where('run_date', '<', to).orderBy('role').execute();
  return rows.map((r) => r.role);
}

/** For each role and day of [from, to): the latest shadow run on or before the day that covers it ("role|date" -> run date). */
export async function shadowRunsCovering(q: Q, roles: string[], from: string, to: string): Promise<Map<string, string>> {
  if (!roles.length) return new Map();
  const rows = await sql<{ role: string; date: string; r: string }>`select role, date, max(run_date) as r from shadow_forecasts
    where role in (${sql.join(roles)}) and date >= ${from} and date < ${to} and run_date <= date group by role, date`.execute(q);
  return new Map(rows.rows.map((x) => [`${x.role}|${x.date}`, x.r]));
}

export interface ScoredForecast { product_id: number; location_id: number; yhat: number; setting: string }

/** The live forecast (before event factors) of one run for one day, with the setting of its model (`fallback` when none). */
export async function liveForecasts(q: Q, run: string, date: string, fallback: string): Promise<ScoredForecast[]> {
  const rows = await q.selectFrom('forecasts as f').leftJoin('models as m', 'm.id', 'f.model_id')
    .select(['f.product_id', 'f.location_id', 'f.base_yhat as yhat', 'm.algorithm'])
    .where('f.run_date', '=', run).where('f.date', '=', date).orderBy('f.product_id').orderBy('f.location_id').execute();
  return rows.map((r) => ({ product_id: r.product_id, location_id: r.location_id, yhat: r.yhat, setting: r.algorithm ?? fallback }));
}

export async function shadowForecastsOf(q: Q, role: string, run: string, date: string): Promise<ScoredForecast[]> {
  return q.selectFrom('shadow_forecasts').select(['product_id', 'location_id', 'yhat', 'setting'])
    .where('role', '=', role).where('run_date', '=', run).where('date', '=', date).orderBy('product_id').orderBy('location_id').execute();
}

export interface ScoreRow { product_id: number; location_id: number; date: string; role: string; setting: string; forecast: number; actual: number }

/** Stores scores; a day already scored for a series and role is replaced. */
export async function upsertScores(q: Q, rows: ScoreRow[]): Promise<void> {
  if (!rows.length) return;
  const per = Math.floor(30_000 / 7);
  await inTransaction(q, async (trx) => {
    for (let i = 0; i < rows.length; i += per)
      await trx.insertInto('model_scores').values(rows.slice(i, i + per))
        .onConflict((oc) => oc.columns(['product_id', 'location_id', 'role', 'date']).doUpdateSet((eb) => ({
          setting: eb.ref('excluded.setting'), forecast: eb.ref('excluded.forecast'), actual: eb.ref('excluded.actual'),
        })))
        .execute();
  });
}

/** Live RMSE of every series on one day (forecast_metrics), keyed "productId:locationId". */
export async function liveRmse(q: Q, date: string): Promise<Map<string, number | null>> {
  const rows = await q.selectFrom('forecast_metrics').select(['product_id', 'location_id', 'rmse']).where('date', '=', date).execute();
  return new Map(rows.map((r) => [`${r.product_id}:${r.location_id}`, r.rmse]));
}

export interface DriftWrite { product_id: number; location_id: number; psi: number | null; error_ratio: number | null; reason: string | null }

/**
 * Replaces the day's drift measures and flags drifted series for retraining
 * (a series already flagged that day keeps its first reason), in one transaction.
 */
export async function writeDrift(q: Q, date: string, rows: DriftWrite[]): Promise<void> {
  await inTransaction(q, async (trx) => {
    await trx.deleteFrom('model_drift').where('date', '=', date).execute();
    await insertMany(trx, 'model_drift', rows.map((r) => ({ product_id: r.product_id, location_id: r.location_id, date, psi: r.psi, error_ratio: r.error_ratio, flagged: r.reason ? 1 : 0, reason: r.reason })));
    const flags = rows.filter((r) => r.reason).map((r) => ({ product_id: r.product_id, location_id: r.location_id, flagged_on: date, reason: r.reason! }));
    const per = Math.floor(30_000 / 4);
    for (let i = 0; i < flags.length; i += per)
      await trx.insertInto('retrain_flags').values(flags.slice(i, i + per)).onConflict((oc) => oc.columns(['product_id', 'location_id', 'flagged_on']).doNothing()).execute();
  });
}

/** The latest drift measure on or before `asOf` of every series. */
export async function latestDrift(q: Q, asOf: string): Promise<{ sku: string; location: string; date: string; psi: number | null; error_ratio: number | null; reason: string | null; flagged: number }[]> {
  const last = await q.selectFrom('model_drift').select((e) => e.fn.max('date').as('d')).where('date', '<=', asOf).executeTakeFirst();
  if (!last?.d) return [];
  return q.selectFrom('model_drift as d').innerJoin('products as p', 'p.id', 'd.product_id').innerJoin('locations as l', 'l.id', 'd.location_id')
    .select(['p.sku', 'l.code as location', 'd.date', 'd.psi', 'd.error_ratio', 'd.reason', 'd.flagged'])
    .where('d.date', '=', last.d as string).orderBy('d.product_id').orderBy('d.location_id').execute();
}
