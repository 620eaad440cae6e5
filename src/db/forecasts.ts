/**
 * Forecast runs (table `forecasts`) and what the forecasting jobs read around
 * them: sales presence, products by SKU, like-SKU links, events, event factors,
 * accuracy metrics and retraining flags.
 */
import { sql } from 'kysely';
import type { Db } from './connection.js';
import { BulkInsert } from './bulk.js';
import { chunks, fastSqlite, qOf, type DbOrQ } from './handle.js';
import { inTransaction, insertMany, num, numOrNull, type Q } from './query.js';

export const FORECAST_COLUMNS = ['product_id', 'location_id', 'run_date', 'date', 'model_id', 'yhat', 'yhat_lo', 'yhat_hi', 'event_factor', 'base_yhat', 'base_lo', 'base_hi'] as const;

/** A forecast row, values in FORECAST_COLUMNS order. */
export type ForecastValues = [number, number, string, string, number | null, number, number, number, number, number, number, number];

/**
 * Replaces a run's forecasts in one transaction: the old rows of `runDate`
 * deleted, `rows` inserted. SQLite: prepared multi-row inserts of 50 rows
 * (the fastest path into the file); PostgreSQL: multi-row inserts of up to
 * 30,000 bound values. Returns the number of rows written.
 */
export async function replaceForecasts(db: Db, runDate: string, rows: Iterable<ForecastValues>): Promise<number> {
  const sqlite = fastSqlite(db);
  let n = 0;
  if (sqlite) {
    const del = sqlite.prepare('delete from forecasts where run_date = ?');
    const ins = new BulkInsert(sqlite, 'forecasts', [...FORECAST_COLUMNS], 50);
    sqlite.transaction(() => {
      del.run(runDate);
      for (const r of rows) {
        ins.push(...r);
        n++;
      }
      ins.flush();
    })();
    return n;
  }
  await inTransaction(db, async (trx) => {
    await trx.deleteFrom('forecasts').where('run_date', '=', runDate).execute();
    let buf: Record<string, unknown>[] = [];
    const per = Math.floor(30_000 / FORECAST_COLUMNS.length);
    for (const r of rows) {
      const o: Record<string, unknown> = {};
      FORECAST_COLUMNS.forEach((c, i) => (o[c] = r[i]));
      buf.push(o);
      n++;
      if (buf.length === per) {
        await insertMany(trx, 'forecasts', buf);
        buf = [];
      }
    }
    await insertMany(trx, 'forecasts', buf);
  });
  return n;
}

export async function hasSalesBefore(q: Q, day: string): Promise<boolean> {
  return !!(await q.selectFrom('sales').select('date').where('date', '<', day).limit(1).executeTakeFirst());
}

/** The last sales date before `day`, or null. */
export async function lastSaleBefore(q: Q, day: string): Promise<string | null> {
  return ((await q.selectFrom('sales').select((e) => e.fn.max('date').as('d')).where('date', '<', day).executeTakeFirst())?.d ?? null) as string | null;
}

export async function productIdBySku(q: Q, sku: string): Promise<number | undefined> {
  const r = await q.selectFrom('products').select('id').where('sku', '=', sku).executeTakeFirst();
  return r ? num(r.id) : undefined;
}

export async function locationIdByCode(q: Q, code: string): Promise<number | undefined> {
  const r = await q.selectFrom('locations').select('id').where('code', '=', code).executeTakeFirst();
  return r ? num(r.id) : undefined;
}

export async function likeSkuOf(q: Q, productId: number): Promise<string | null> {
  return (await q.selectFrom('products').select('like_sku').where('id', '=', productId).executeTakeFirst())?.like_sku ?? null;
}

/** Products forecast like another product (like_sku), with that product's id (null when the SKU is unknown). */
export async function likeProducts(q: Q): Promise<{ id: number; like_id: number | null; like_factor: number | null; like_sku: string }[]> {
  const r = await sql<{ id: number; like_id: number | null; like_factor: number | null; like_sku: string }>`select p.id, q.id as like_id, p.like_factor, p.like_sku
    from products p left join products q on q.sku = p.like_sku where p.like_sku is not null order by p.id`.execute(q);
  return r.rows.map((x) => ({ id: num(x.id), like_id: numOrNull(x.like_id), like_factor: numOrNull(x.like_factor), like_sku: x.like_sku }));
}

/** Rows of a run's forecasts. */
export async function forecastCount(q: Q, runDate: string): Promise<number> {
  return num((await q.selectFrom('forecasts').select((e) => e.fn.countAll().as('n')).where('run_date', '=', runDate).executeTakeFirst())?.n);
}

/** Every series' forecast of day `d` in run `run`. */
export async function forecastsOfDay(q: Q, run: string, d: string): Promise<{ product_id: number; location_id: number; yhat: number }[]> {
  const rows = await q.selectFrom('forecasts').select(['product_id', 'location_id', 'yhat']).where('run_date', '=', run).where('date', '=', d).execute();
  return rows.map((r) => ({ product_id: num(r.product_id), location_id: num(r.location_id), yhat: num(r.yhat) }));
}

/** The latest run on or before `upTo` with a forecast of the series. */
export async function latestRunOf(q: Q, p: number, l: number, upTo: string): Promise<string | null> {
  return ((await q.selectFrom('forecasts').select((e) => e.fn.max('run_date').as('r')).where('product_id', '=', p).where('location_id', '=', l).where('run_date', '<=', upTo).executeTakeFirst())?.r ?? null) as string | null;
}

/** One series' rows of a run, by date. */
export async function seriesRunRows(q: Q, p: number, l: number, run: string): Promise<{ date: string; yhat: number; base_yhat: number; model_id: number | null }[]> {
  const rows = await q.selectFrom('forecasts').select(['date', 'yhat', 'base_yhat', 'model_id']).where('product_id', '=', p).where('location_id', '=', l).where('run_date', '=', run).orderBy('date').execute();
  return rows.map((r) => ({ date: r.date, yhat: num(r.yhat), base_yhat: num(r.base_yhat), model_id: numOrNull(r.model_id) }));
}

/** The algorithm of each series' model in a run ('snaive' for rows without a model), keyed "p:l". */
export async function runAlgorithms(q: Q, run: string): Promise<{ product_id: number; location_id: number; algorithm: string | null }[]> {
  const r = await sql<{ product_id: number; location_id: number; algorithm: string | null }>`select f.product_id, f.location_id, m.algorithm
    from (select distinct product_id, location_id, model_id from forecasts where run_date = ${run}) f left join models m on m.id = f.model_id
    order by f.product_id, f.location_id`.execute(q);
  return r.rows.map((x) => ({ product_id: num(x.product_id), location_id: num(x.location_id), algorithm: x.algorithm }));
}

/** Series of a run with their category and model (one row per series: the run's first day). */
export async function runSeries(q: Q, run: string): Promise<{ product_id: number; location_id: number; category: string; model_id: number | null }[]> {
  const r = await sql<{ product_id: number; location_id: number; category: string; model_id: number | null }>`select f.product_id, f.location_id, coalesce(p.category, '') as category, f.model_id
    from forecasts f join products p on p.id = f.product_id where f.run_date = ${run} and f.date = ${run} order by f.product_id, f.location_id`.execute(q);
  return r.rows.map((x) => ({ product_id: num(x.product_id), location_id: num(x.location_id), category: x.category, model_id: numOrNull(x.model_id) }));
}

export interface EventRow { id: number; name: string; kind: string; start_date: string; end_date: string; product_id: number | null; category: string | null; location_id: number | null; planned_uplift: number | null }

/** Events that start before `before` and end on or after `from`, by id. */
export async function eventsBetween(q: Q, from: string, before: string): Promise<EventRow[]> {
  const rows = await q.selectFrom('events').select(['id', 'name', 'kind', 'start_date', 'end_date', 'product_id', 'category', 'location_id', 'planned_uplift']).where('start_date', '<', before).where('end_date', '>=', from).orderBy('id').execute();
  return rows.map((e) => ({ ...e, id: num(e.id), product_id: numOrNull(e.product_id), location_id: numOrNull(e.location_id), planned_uplift: numOrNull(e.planned_uplift) }));
}

/** An event factor to apply to one forecast day. */
export interface DayFactor { productId: number; locationId: number; date: string; factor: number }

export interface EventFactorRow { event: string; category: string; factor: number; sd: number | null; n: number; source: string }

/**
 * Applies event factors to a run, in one transaction: every day of the run back
 * to its base forecast, then yhat, lo, hi = base x factor (rounded to 4 decimals
 * by `round`) on the given days; the day's event_factors rows replaced.
 * Returns the number of forecast days changed.
 */
export async function applyEventFactors(db: Db, run: string, days: DayFactor[], factors: EventFactorRow[], round: (x: number) => number): Promise<number> {
  return inTransaction(db, async (trx) => {
    await trx.updateTable('forecasts').set((e) => ({ yhat: e.ref('base_yhat'), yhat_lo: e.ref('base_lo'), yhat_hi: e.ref('base_hi'), event_factor: 1 })).where('run_date', '=', run).where('event_factor', '!=', 1).execute();
    let changed = 0;
    const sqlite = fastSqlite(db);
    if (sqlite) {
      // SQLite: one prepared point read and update per day (microseconds each in the file).
      const get = sqlite.prepare('select base_yhat, base_lo, base_hi from forecasts where product_id = ? and location_id = ? and run_date = ? and date = ?');
      const put = sqlite.prepare('update forecasts set event_factor = ?, yhat = ?, yhat_lo = ?, yhat_hi = ? where product_id = ? and location_id = ? and run_date = ? and date = ?');
      for (const d of days) {
        const b = get.get(d.productId, d.locationId, run, d.date) as { base_yhat: number; base_lo: number; base_hi: number } | undefined;
        if (!b) continue;
        changed += put.run(d.factor, round(b.base_yhat * d.factor), round(b.base_lo * d.factor), round(b.base_hi * d.factor), d.productId, d.locationId, run, d.date).changes;
      }
    } else {
      for (const part of chunks(days, 1000)) {
        const v = sql.join(part.map((d) => sql`(${sql.lit(d.productId)}, ${sql.lit(d.locationId)}, ${d.date}, cast(${d.factor} as double precision))`));
        const base = await sql<{ p: number; l: number; date: string; f: number; base_yhat: number; base_lo: number; base_hi: number }>`with v(p, l, d, f) as (values ${v})
          select v.p, v.l, v.d as date, v.f, x.base_yhat, x.base_lo, x.base_hi from v join forecasts x on x.product_id = v.p and x.location_id = v.l and x.run_date = ${run} and x.date = v.d`.execute(trx);
        if (!base.rows.length) continue;
        const u = sql.join(
          base.rows.map((b) => {
            const f = num(b.f);
            return sql`(${sql.lit(num(b.p))}, ${sql.lit(num(b.l))}, ${b.date}, cast(${f} as double precision), cast(${round(num(b.base_yhat) * f)} as double precision), cast(${round(num(b.base_lo) * f)} as double precision), cast(${round(num(b.base_hi) * f)} as double precision))`;
          }),
        );
        const r = await sql`with u(p, l, d, f, y, lo, hi) as (values ${u})
          update forecasts set event_factor = u.f, yhat = u.y, yhat_lo = u.lo, yhat_hi = u.hi from u
          where forecasts.product_id = u.p and forecasts.location_id = u.l and forecasts.run_date = ${run} and forecasts.date = u.d`.execute(trx);
        changed += Number(r.numAffectedRows ?? 0n);
      }
    }
    await trx.deleteFrom('event_factors').where('computed_on', '=', run).execute();
    await insertMany(trx, 'event_factors', factors.map((f) => ({ computed_on: run, event_key: f.event, category: f.category, factor: f.factor, sd: f.sd, n: f.n, source: f.source })));
    return changed;
  });
}

/** Monitor's writes for a day, in one transaction: per-series metrics, retraining flags, the day's summary. */
export async function saveMonitorDay(
  db: Db,
  day: string,
  metrics: { productId: number; locationId: number; mape: number | null; wape: number | null; rmse: number | null; bias: number | null; n: number }[],
  flags: { p: number; l: number; reason: string }[],
  summary: unknown,
): Promise<void> {
  await inTransaction(db, async (trx) => {
    await trx.deleteFrom('forecast_metrics').where('date', '=', day).execute();
    await insertMany(trx, 'forecast_metrics', metrics.map((m) => ({ product_id: m.productId, location_id: m.locationId, date: day, mape: m.mape, wape: m.wape, rmse: m.rmse, bias: m.bias, n: m.n })));
    await trx.deleteFrom('retrain_flags').where('flagged_on', '=', day).execute();
    await insertMany(trx, 'retrain_flags', flags.map((f) => ({ product_id: f.p, location_id: f.l, flagged_on: day, reason: f.reason })));
    await trx
      .insertInto('metrics_history')
      .values({ date: day, scope: 'monitor', payload: JSON.stringify(summary) })
      .onConflict((oc) => oc.columns(['date', 'scope']).doUpdateSet({ payload: (e) => e.ref('excluded.payload') }))
      .execute();
  });
}

/** Active planner overrides overlapping [from, to], by series "p:l" (in id order): the one definition lives in overrides.ts. */
export { activeOverridesBySeries as activeOverrides } from './overrides.js';

export { qOf, type DbOrQ };
