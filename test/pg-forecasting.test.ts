/**
 * The forecasting jobs give the same answers on PostgreSQL as on SQLite: one
 * small sample written to a SQLite file, its rows copied into a fresh
 * PostgreSQL database, then train, predict (through the history cache on both),
 * events-impact, train again and validate, `models list`, `models explain` and
 * `patterns` run on each; forecasts,
 * models and event factors agree to 1e-9.
 */
import { join } from 'node:path';
import { sql } from 'kysely';
import { describePg, startPostgres, type PgServer } from './pg-server.js';
import { jobCtx, newDb, tempDir } from './helpers.js';
import { migrateToLatest, openDb, type Db } from '../src/db/connection.js';
import { ALL_TABLES } from '../src/db/types.js';
import { insertMany } from '../src/db/query.js';
import { generateSample } from '../src/io/sample.js';
import { addDays } from '../src/dates.js';
import { predictJob, trainJob, validateJob, listModels } from '../src/jobs/forecasting.js';
import { analysePatterns } from '../src/jobs/patterns.js';
import { eventsImpactJob } from '../src/jobs/events-impact.js';
import { explainForecast } from '../src/jobs/explain.js';
import type { JobContext } from '../src/jobs/types.js';
import { expectSame } from './pg-compare.js';

const TODAY = '2026-05-01';

/** Rows of a table in a stable order, numbers as numbers. */
async function rows(db: Db, query: string): Promise<Record<string, unknown>[]> {
  const r = await sql.raw<Record<string, unknown>>(query).execute(db.kysely);
  return r.rows.map((x) => Object.fromEntries(Object.entries(x).map(([k, v]) => [k, typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v) && k !== 'date' ? Number(v) : v])));
}

/** Equal, numbers to 1e-9; when each model was trained is the clock of each run, not a result. */
const expectClose = (a: unknown, b: unknown) => expectSame(a, b, { ignore: ['trained_at'] });

describePg('forecasting jobs on PostgreSQL and SQLite', () => {
  let server: PgServer;
  let lite: Db;
  let pgdb: Db;
  const dir = tempDir();
  const ctxOf = (db: Db, asOf: string, name: string): JobContext => {
    const c = jobCtx(db, asOf, { batch: { ...jobCtx(db, asOf).config.batch, stateDir: join(dir, name) } });
    return c;
  };

  beforeAll(async () => {
    server = startPostgres();
    lite = await newDb(join(dir, 's.db'));
    generateSample(lite.sqlite!, { products: 8, locations: 1, days: 420, seed: 3, today: TODAY });
    pgdb = openDb(await server.freshDatabase());
    const m = await migrateToLatest(pgdb);
    if (m.error) throw m.error;
    // The same rows, ids included (tables in dependency order; meta keeps each database's own instance id).
    for (const t of ALL_TABLES) {
      if (t === 'meta') continue;
      const r = lite.sqlite!.prepare(`select * from ${t}`).all() as Record<string, unknown>[];
      await insertMany(pgdb.kysely, t, r);
    }
  }, 180_000);
  afterAll(async () => {
    await lite?.close();
    await pgdb?.close();
    await server?.stop();
  });

  test('train, predict, events-impact, validate, models list, explain and patterns give the same results', async () => {
    const sales = 'select product_id, location_id, date, quantity from sales order by product_id, location_id, date';
    expectClose(await rows(lite, sales), await rows(pgdb, sales));
    const days = [addDays(TODAY, -1), TODAY];
    for (const [db, name] of [[lite, 'lite'], [pgdb, 'pg']] as const) {
      await trainJob.run(ctxOf(db, days[0], name), {});
      for (const d of days) {
        await predictJob.run(ctxOf(db, d, name), {});
        await eventsImpactJob.run(ctxOf(db, d, name), {});
      }
      // Retrained: candidates beside the active models, then validated.
      await trainJob.run(ctxOf(db, TODAY, name), { force: true });
      await validateJob.run(ctxOf(db, TODAY, name), {});
    }
    const forecasts = 'select product_id, location_id, run_date, date, model_id, yhat, yhat_lo, yhat_hi, event_factor, base_yhat, base_lo, base_hi from forecasts order by product_id, location_id, run_date, date';
    const fl = await rows(lite, forecasts);
    expect(fl.length).toBeGreaterThan(8 * 28);
    // Event factors were applied to some days (the set-based update is exercised).
    expect(fl.some((r) => r.event_factor !== 1)).toBe(true);
    expectClose(fl, await rows(pgdb, forecasts));
    const models = 'select id, product_id, location_id, version, algorithm, params, metrics, status, train_end from models order by id';
    expectClose(await rows(lite, models), await rows(pgdb, models));
    for (const q of [
      'select computed_on, event_key, category, factor, sd, n, source from event_factors order by computed_on, event_key, category',
    ])
      expectClose(await rows(lite, q), await rows(pgdb, q));
    const listed = await listModels(ctxOf(lite, TODAY, 'lite'), {});
    expect(listed.length).toBeGreaterThanOrEqual(8);
    expectClose(listed, await listModels(ctxOf(pgdb, TODAY, 'pg'), {}));
    expect(new Set((await rows(lite, models)).map((m) => m.status)).size).toBeGreaterThan(1);
    const sku = String(listed[0].sku);
    expectClose(await analysePatterns(ctxOf(lite, TODAY, 'lite'), { sku }), await analysePatterns(ctxOf(pgdb, TODAY, 'pg'), { sku }));
    const ex = await explainForecast(ctxOf(lite, TODAY, 'lite'), { sku });
    expectClose(JSON.parse(JSON.stringify(ex)), JSON.parse(JSON.stringify(await explainForecast(ctxOf(pgdb, TODAY, 'pg'), { sku }))));
  }, 300_000);
});
