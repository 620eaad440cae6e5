/**
 * The per-series model table (`models`): what train writes, validate decides,
 * predict and monitor read, and `models list | show | rollback` manage.
 */
import { sql } from 'kysely';
import { insertMany, num, type Q } from './query.js';
import { fastSqlite, qOf, type DbOrQ } from './handle.js';

export interface ModelRow {
  id: number;
  product_id: number;
  location_id: number;
  version: number;
  algorithm: string;
  params: string;
  trained_at: string;
  train_end: string;
  metrics: string;
  reason: string | null;
  status: string;
}

function modelRow(r: Record<string, unknown>): ModelRow {
  return { ...(r as unknown as ModelRow), id: num(r.id), product_id: num(r.product_id), location_id: num(r.location_id), version: num(r.version) };
}

const IN_FORCE: ('active' | 'fallback')[] = ['active', 'fallback'];

/** Active series with sales: (product, location) pairs of the sales table whose product is active. */
export async function activeSalesSeries(q: Q): Promise<{ p: number; l: number }[]> {
  const r = await sql<{ p: number; l: number }>`select distinct s.product_id as p, s.location_id as l from sales s join products p on p.id = s.product_id where p.active = 1`.execute(q);
  return r.rows.map((x) => ({ p: num(x.p), l: num(x.l) }));
}

/** When each series' newest usable model (active or fallback) was trained, keyed "p:l". */
export async function lastTrainedAt(q: Q): Promise<Map<string, string>> {
  const rows = await q
    .selectFrom('models')
    .select(['product_id', 'location_id', (e) => e.fn.max('trained_at').as('t')])
    .where('status', 'in', IN_FORCE)
    .groupBy(['product_id', 'location_id'])
    .execute();
  return new Map(rows.map((r) => [`${num(r.product_id)}:${num(r.location_id)}`, r.t as string]));
}

/** Each series' highest version and its newest model in use (active or fallback), for train. */
export async function versionsAndIncumbents(q: Q): Promise<{ maxVersion: Map<string, number>; incumbent: Map<string, { id: number; algorithm: string }> }> {
  const maxVersion = new Map<string, number>();
  for (const r of await q.selectFrom('models').select(['product_id', 'location_id', (e) => e.fn.max('version').as('v')]).groupBy(['product_id', 'location_id']).execute())
    maxVersion.set(`${num(r.product_id)}:${num(r.location_id)}`, num(r.v));
  const incumbent = new Map<string, { id: number; algorithm: string }>();
  for (const r of await q.selectFrom('models').select(['id', 'product_id', 'location_id', 'algorithm']).where('status', 'in', IN_FORCE).orderBy('version').execute())
    incumbent.set(`${num(r.product_id)}:${num(r.location_id)}`, { id: num(r.id), algorithm: r.algorithm });
  return { maxVersion, incumbent };
}

export type NewModel = Omit<ModelRow, 'id'>;

/** Train's writes, inside one transaction: new versions inserted (a slice at a time, in series order), then the incumbents they replace retired. */
export async function insertModels(q: Q, models: NewModel[]): Promise<void> {
  await insertMany(q, 'models', models as unknown as Record<string, unknown>[]);
}

/** Marks the models `ids` retired (the models a training run replaced). */
export async function retireModels(q: Q, ids: number[]): Promise<void> {
  for (let i = 0; i < ids.length; i += 5000) await q.updateTable('models').set({ status: 'retired' }).where('id', 'in', ids.slice(i, i + 5000)).execute();
}

/** Candidates awaiting validation, by series and version. */
export async function candidateModels(q: Q): Promise<ModelRow[]> {
  return (await q.selectFrom('models').selectAll().where('status', '=', 'candidate').orderBy('product_id').orderBy('location_id').orderBy('version').execute()).map((r) => modelRow(r as unknown as Record<string, unknown>));
}

/** Models in use (active or fallback), every version. */
export async function modelsInUse(q: Q): Promise<ModelRow[]> {
  return (await q.selectFrom('models').selectAll().where('status', 'in', IN_FORCE).orderBy('id').execute()).map((r) => modelRow(r as unknown as Record<string, unknown>));
}

export async function setModelStatus(q: Q, id: number, status: ModelRow['status'], reason: string | null): Promise<void> {
  await q.updateTable('models').set({ status: status as never, reason }).where('id', '=', id).execute();
}

/** What predict needs of each model in force on `day`: algorithm, status, stored interval and AutoETS parameters (JSON text), by version. */
export interface PredictModel {
  id: number;
  product_id: number;
  location_id: number;
  version: number;
  algorithm: string;
  status: string;
  interval: string | null;
  ets: string | null;
}

export async function modelsForPredict(db: DbOrQ, day: string): Promise<PredictModel[]> {
  const sqlite = fastSqlite(db);
  if (sqlite) {
    // SQLite: json_extract keeps the stored backtest errors (most of params) out of JavaScript.
    return sqlite
      .prepare(`select id, product_id, location_id, version, algorithm, status, json_extract(params, '$.interval') as interval, json_extract(params, '$.ets') as ets from models where status in ('active','fallback') and train_end < ? order by version`)
      .all(day) as PredictModel[];
  }
  const rows = await qOf(db).selectFrom('models').select(['id', 'product_id', 'location_id', 'version', 'algorithm', 'status', 'params']).where('status', 'in', IN_FORCE).where('train_end', '<', day).orderBy('version').execute();
  return rows.map((r) => {
    const p = JSON.parse(r.params) as { interval?: unknown; ets?: unknown };
    return {
      id: num(r.id), product_id: num(r.product_id), location_id: num(r.location_id), version: num(r.version), algorithm: r.algorithm, status: r.status,
      interval: p.interval === undefined || p.interval === null ? null : JSON.stringify(p.interval), ets: p.ets === undefined || p.ets === null ? null : JSON.stringify(p.ets),
    };
  });
}

/** A series' newest model trained on data before a day, and whether one trained on later data exists. */
export interface NewestModel {
  version: number | null;
  status: string | null;
  algorithm: string | null;
  /** A model of the series was trained on data to `day` or later (predict on an earlier date does not use it). */
  later: boolean;
}

/**
 * For predict's account of series without a model in force: each series' newest model trained on data before
 * `day` (whatever its status), keyed "p:l", and the end of the latest training data before `day` (the last train).
 */
export async function newestModelsBefore(db: DbOrQ, day: string): Promise<{ lastTrainEnd: string | null; bySeries: Map<string, NewestModel> }> {
  const q = qOf(db);
  const rows = await sql<{ p: number; l: number; later: number | string; version: number | null; status: string | null; algorithm: string | null }>`
    select x.p, x.l, x.later, m.version, m.status, m.algorithm
    from (select product_id as p, location_id as l, max(case when train_end < ${day} then version end) as v,
                 max(case when train_end >= ${day} then 1 else 0 end) as later
          from models group by product_id, location_id) x
    left join models m on m.product_id = x.p and m.location_id = x.l and m.version = x.v`.execute(q);
  const bySeries = new Map<string, NewestModel>();
  for (const r of rows.rows)
    bySeries.set(`${num(r.p)}:${num(r.l)}`, { version: r.version === null ? null : num(r.version), status: r.status, algorithm: r.algorithm, later: num(r.later) === 1 });
  const last = await q.selectFrom('models').select((e) => e.fn.max('train_end').as('t')).where('train_end', '<', day).executeTakeFirst();
  return { lastTrainEnd: (last?.t as string | null | undefined) ?? null, bySeries };
}

/** Backtest metrics and algorithm of the models in force on `day` (by version: the last row of a series is the one in force). */
export async function modelMetricsInForce(q: Q, day: string): Promise<{ product_id: number; location_id: number; metrics: string; algorithm: string }[]> {
  const rows = await q.selectFrom('models').select(['product_id', 'location_id', 'metrics', 'algorithm']).where('status', 'in', IN_FORCE).where('train_end', '<', day).orderBy('version').execute();
  return rows.map((r) => ({ ...r, product_id: num(r.product_id), location_id: num(r.location_id) }));
}

/** The event kinds each model in use carries itself (params.carries_events), by model id. */
export async function carriedEvents(db: DbOrQ): Promise<Map<number, string[]>> {
  const out = new Map<number, string[]>();
  const sqlite = fastSqlite(db);
  if (sqlite) {
    // SQLite: json_extract reads the one list out of each model's params (about 2 kB, mostly backtest errors) in
    // the database: parsing every params text here made some 0.1 GB of garbage on 30,000 series for it.
    const rows = sqlite
      .prepare(`select id, case when json_type(params, '$.carries_events') = 'array' then json_extract(params, '$.carries_events') end as carries from models where status in (${IN_FORCE.map(() => '?').join(', ')})`)
      .all(...IN_FORCE) as { id: number; carries: string | null }[];
    for (const r of rows) out.set(r.id, r.carries === null ? [] : (JSON.parse(r.carries) as string[]));
    return out;
  }
  for (const r of await qOf(db).selectFrom('models').select(['id', 'params']).where('status', 'in', IN_FORCE).execute()) {
    const c = (JSON.parse(r.params) as { carries_events?: string[] }).carries_events;
    out.set(num(r.id), Array.isArray(c) ? c : []);
  }
  return out;
}

export async function modelById(q: Q, id: number): Promise<ModelRow | undefined> {
  const r = await q.selectFrom('models').selectAll().where('id', '=', id).executeTakeFirst();
  return r ? modelRow(r as unknown as Record<string, unknown>) : undefined;
}

/** `models list`: one row per model (in use and candidates, or all), by SKU, location and version. */
export async function listModelRows(q: Q, o: { sku?: string; all?: boolean }): Promise<Record<string, unknown>[]> {
  let b = q
    .selectFrom('models as m')
    .innerJoin('products as p', 'p.id', 'm.product_id')
    .innerJoin('locations as l', 'l.id', 'm.location_id')
    .select(['m.id', 'p.sku', 'l.code as location', 'm.version', 'm.algorithm', 'm.status', 'm.train_end', 'm.trained_at']);
  if (!o.all) b = b.where('m.status', 'in', ['active', 'fallback', 'candidate']);
  if (o.sku) b = b.where('p.sku', '=', o.sku);
  const rows = await b.orderBy('p.sku').orderBy('l.code').orderBy('m.version').execute();
  return rows.map((r) => ({ id: num(r.id), sku: r.sku, location: r.location, version: num(r.version), algorithm: r.algorithm, status: r.status, train_end: r.train_end, trained_at: String(r.trained_at).slice(0, 19) }));
}

/** Every version of one series, newest first. */
export async function seriesModels(q: Q, p: number, l: number): Promise<ModelRow[]> {
  return (await q.selectFrom('models').selectAll().where('product_id', '=', p).where('location_id', '=', l).orderBy('version', 'desc').execute()).map((r) => modelRow(r as unknown as Record<string, unknown>));
}

/** The newest model in use of a series, and the newest retired version before it. */
export async function rollbackPair(q: Q, p: number, l: number): Promise<{ active?: ModelRow; prev?: ModelRow }> {
  const a = await q.selectFrom('models').selectAll().where('product_id', '=', p).where('location_id', '=', l).where('status', 'in', IN_FORCE).orderBy('version', 'desc').limit(1).executeTakeFirst();
  if (!a) return {};
  const active = modelRow(a as unknown as Record<string, unknown>);
  const b = await q.selectFrom('models').selectAll().where('product_id', '=', p).where('location_id', '=', l).where('status', '=', 'retired').where('version', '<', active.version).orderBy('version', 'desc').limit(1).executeTakeFirst();
  return { active, prev: b ? modelRow(b as unknown as Record<string, unknown>) : undefined };
}

