/**
 * `check`, the report's tables and the watched-model steps give the same answers
 * on PostgreSQL as on SQLite: one small sample (faults injected, a few nights of
 * forecasts and shadow forecasts, a canary) is copied to both databases, then the
 * check, role scores, drift, canary decision, challenger promotion and report
 * tables run on each; results and stored rows are compared, numbers to 1e-9.
 */
import { sql } from 'kysely';
import { addDays } from '../src/dates.js';
import { migrateToLatest, openDb, type Db } from '../src/db/connection.js';
import { ALL_TABLES } from '../src/db/types.js';
import { insertMany, num } from '../src/db/query.js';
import { latestDrift } from '../src/db/watch.js';
import { activeAlerts } from '../src/db/report.js';
import { runCheck } from '../src/check/index.js';
import { predictJob, trainJob } from '../src/jobs/forecasting.js';
import type { JobContext } from '../src/jobs/types.js';
import { silentLogger } from '../src/log.js';
import { reportTables } from '../src/report/data.js';
import { measureDrift } from '../src/watch/drift.js';
import { scoreRoles, shadowJob } from '../src/watch/scores.js';
import { canaryStatus, evaluateCanaries, promoteChallenger, startCanary } from '../src/watch/trials.js';
import { DEFAULTS, type Config } from '../src/config.js';
import { describePg, startPostgres, type PgServer } from './pg-server.js';
import { sampleDb, testConfig } from './helpers.js';
import { copyAll, expectSame } from './pg-compare.js';

const TODAY = '2026-05-04';
const DAY0 = addDays(TODAY, -8);
const over: Partial<Config> = { watch: { ...DEFAULTS.watch, challenger: 'ets', promoteWeeks: 1, canaryDays: 5, minDaysPerWeek: 3, driftDays: 28 }, historyCache: false };


/** Rows of a query with integer strings (PostgreSQL bigint) decoded and clock columns dropped. */
async function rows(db: Db, q: string): Promise<Record<string, unknown>[]> {
  return (await sql<Record<string, unknown>>`${sql.raw(q)}`.execute(db.kysely)).rows.map((r) =>
    Object.fromEntries(Object.entries(r).filter(([k]) => k !== 'trained_at').map(([k, v]) => [k, typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v])));
}

function ctxOf(db: Db, asOf: string): JobContext {
  return { db, config: testConfig(db.location, asOf, over), asOf, log: silentLogger() };
}

/** Everything compared, computed on one database. */
async function everything(db: Db) {
  const out: Record<string, unknown> = {};
  const today = ctxOf(db, TODAY);
  out.check = await runCheck(today);
  out.scores = await scoreRoles(today, 8);
  out.modelScores = await rows(db, 'select product_id, location_id, date, role, setting, forecast, actual from model_scores order by product_id, location_id, role, date');
  out.drift = await measureDrift(today);
  out.driftRows = await rows(db, 'select * from model_drift order by product_id, location_id, date');
  out.flags = await rows(db, 'select * from retrain_flags order by product_id, location_id, flagged_on');
  out.latestDrift = await latestDrift(db.kysely, TODAY);
  out.canary = await evaluateCanaries(today);
  out.canaryStatus = await canaryStatus(today);
  out.dryRun = await promoteChallenger(today, { dryRun: true });
  out.promoted = await promoteChallenger(today, {});
  out.models = await rows(db, 'select id, product_id, location_id, version, algorithm, status, reason from models order by id');
  out.trials = await rows(db, 'select * from model_trials order by id');
  out.alerts = await activeAlerts(db.kysely);
  out.report = await reportTables(today, 1);
  return out;
}

describePg('watched models, check and report tables on PostgreSQL and SQLite', () => {
  let server: PgServer;
  let lite: Db;
  let pg: Db;

  beforeAll(async () => {
    server = startPostgres();
    ({ db: lite } = await sampleDb({ today: TODAY, products: 6, days: 420, seed: 11 }));
    const k = lite.kysely;
    // Faults for the check: a negative stock count, an order imported twice, a price ten times the usual.
    await sql`update stock_levels set on_hand = -4 where product_id = 2 and date = (select max(date) from stock_levels where product_id = 2 and date < ${addDays(TODAY, -20)})`.execute(k);
    await sql`insert into purchase_orders (supplier_id, product_id, location_id, quantity, unit_cost, ordered_on, expected_on, received_on, status)
      select supplier_id, product_id, location_id, quantity, unit_cost, ordered_on, expected_on, received_on, status from purchase_orders where id = (select min(id) from purchase_orders)`.execute(k);
    await sql`update sales set unit_price = unit_price * 10 where product_id = 3 and date = (select max(date) from sales where product_id = 3 and on_promo = 0 and date < ${addDays(TODAY, -10)})`.execute(k);
    // A few nights of forecasts, challenger forecasts in shadow and a canary, made on SQLite.
    const liteCtx = (d: string): JobContext => ({ db: lite, config: testConfig(lite.location, d, over), asOf: d, log: silentLogger() });
    await trainJob.run(liteCtx(DAY0), {});
    await startCanary(liteCtx(DAY0), { setting: 'croston', share: 0.5 });
    for (let d = DAY0; d < TODAY; d = addDays(d, 1)) {
      await predictJob.run(liteCtx(d), {});
      await shadowJob.run(liteCtx(d), {});
    }
    pg = openDb(await server.freshDatabase());
    await migrateToLatest(pg);
    await copyAll(lite, pg);
  }, 240_000);

  afterAll(async () => {
    await lite?.close();
    await pg?.close();
    await server?.stop();
  });

  test('check, role scores, drift, canary decision, promotion and report tables are identical', async () => {
    const a = await everything(lite);
    const b = await everything(pg);
    expectSame(a, b);
    // The comparison is about real results: faults found, days scored, a canary decided, drift measured.
    const check = a.check as Awaited<ReturnType<typeof runCheck>>;
    expect(check.blocking_failures.sort()).toEqual(['duplicate-orders', 'negative-stock']);
    expect(check.findings.some((f) => f.rule === 'price-outliers')).toBe(true);
    expect(a.scores as number).toBeGreaterThan(0);
    expect((a.modelScores as unknown[]).length).toBe(a.scores);
    expect(new Set((a.modelScores as { role: string }[]).map((r) => r.role))).toEqual(new Set(['champion', 'challenger', 'baseline']));
    expect((a.drift as { rows: unknown[] }).rows.length).toBeGreaterThan(0);
    expect((a.driftRows as unknown[]).length).toBe((a.drift as { rows: unknown[] }).rows.length);
    expect(['kept', 'rolled_back']).toContain((a.canary as { decided: string }).decided);
    expect((a.trials as { status: string }[]).filter((t) => t.status === 'running')).toEqual([]);
    expect(((a.report as { accuracy: { weeks: unknown[] } }).accuracy.weeks).length).toBeGreaterThan(0);
  }, 240_000);
});
