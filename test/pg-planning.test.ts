/**
 * The planning commands give the same answers on PostgreSQL as on SQLite:
 * one small sample (with its forecasts) is written to both databases, then
 * suggest, optimize, orders, override, simulate and quality-risk run on each
 * and their results (and the rows they store) are compared, numbers to 1e-9.
 */
import { addDays } from '../src/dates.js';
import { migrateToLatest, openDb, type Db } from '../src/db/connection.js';
import { ALL_TABLES } from '../src/db/types.js';
import { insertMany, num } from '../src/db/query.js';
import { sql } from 'kysely';
import { predictJob } from '../src/jobs/forecasting.js';
import { addOverride, listOverrides, overrideAudit, removeOverride } from '../src/jobs/overrides.js';
import { draftOrders } from '../src/jobs/orders.js';
import { optimizePolicies, simulatePolicies, suggestOrder } from '../src/jobs/planning.js';
import { assessQuality } from '../src/jobs/quality.js';
import type { JobContext } from '../src/jobs/types.js';
import { silentLogger } from '../src/log.js';
import { describePg, startPostgres, type PgServer } from './pg-server.js';
import { jobCtx, sampleDb, testConfig } from './helpers.js';
import { copyAll, expectSame } from './pg-compare.js';

const TODAY = '2026-03-16';

/** Parents before children: the reverse of the order the schema drops them in. */

/** Drops the fields that name the clock or the user (they differ between two runs). */
function stable<T>(rows: T[], drop: string[]): T[] {
  return rows.map((r) => Object.fromEntries(Object.entries(r as Record<string, unknown>).filter(([k]) => !drop.includes(k))) as T);
}

async function tableRows(db: Db, q: string): Promise<Record<string, unknown>[]> {
  return (await sql<Record<string, unknown>>`${sql.raw(q)}`.execute(db.kysely)).rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v])));
}

/** Everything the planning commands answer and store, on one database. */
async function planAll(ctx: JobContext) {
  const out: Record<string, unknown> = {};
  out.quality = await assessQuality(ctx, { minIncidents: 3 });
  const skus = (await tableRows(ctx.db, 'select sku from products order by id')).map((r) => String(r.sku));
  const added = await addOverride(ctx, { sku: skus[0], from: addDays(TODAY, 1), to: addDays(TODAY, 5), factor: 1.5, reason: 'display' });
  await addOverride(ctx, { sku: skus[1], from: addDays(TODAY, 2), to: addDays(TODAY, 3), qty: 4, reason: 'event' });
  out.overridesAdded = stable([added], ['created_at', 'created_by']);
  out.suggest = [];
  for (const sku of skus) (out.suggest as unknown[]).push(await suggestOrder(ctx, { sku, record: true }));
  (out.suggest as unknown[]).push(await suggestOrder(ctx, { sku: skus[2], serviceLevel: 0.99, safetyMargin: 0.1, targetDate: addDays(TODAY, 20) }));
  await removeOverride(ctx, added.id);
  out.overrides = stable(await listOverrides(ctx, { all: true }), ['created_at', 'created_by']);
  out.audit = stable(await overrideAudit(ctx), ['at', 'os_user']);
  out.optimize = await optimizePolicies(ctx);
  const budget = (out.optimize as { summary: { avg_stock_value: number } }).summary.avg_stock_value * 0.96; // between the lowest service level's stock and the class targets'
  out.optimizeBudget = await optimizePolicies(ctx, { budget });
  out.orders = await draftOrders(ctx, { allSuppliers: true, record: true });
  out.simulate = await simulatePolicies(ctx, { policy: 'both', from: addDays(TODAY, -14), to: addDays(TODAY, -1), refitDays: 7 });
  out.stored = {
    quality_risk: await tableRows(ctx.db, 'select product_id, location_id, date, risk, level, method, details from quality_risk order by product_id, location_id, date'),
    inventory_policies: await tableRows(ctx.db, 'select * from inventory_policies order by product_id, location_id'),
    order_drafts: await tableRows(ctx.db, 'select * from order_drafts order by id'),
    order_draft_lines: await tableRows(ctx.db, 'select * from order_draft_lines order by draft_id, product_id'),
    suggestions: await tableRows(ctx.db, 'select id, product_id, location_id, created_on, supplier_id, quantity, unit_cost, list_unit_cost, payload from suggestions order by id'),
  };
  return out;
}

describePg('planning commands on PostgreSQL', () => {
  let server: PgServer;
  beforeAll(() => {
    server = startPostgres();
  });
  afterAll(async () => {
    await server?.stop();
  });

  test('suggest, optimize, orders, override, simulate and quality-risk: the same results and stored rows as on SQLite', async () => {
    const { db: lite } = await sampleDb({ today: TODAY, products: 6, days: 420, seed: 21 });
    const liteCtx = jobCtx(lite, TODAY);
    await predictJob.run(liteCtx, { horizon: 30 });
    // Two series run out tonight, so suggest has something to order (and to store).
    lite.sqlite!.exec(`update stock_levels set on_hand = 0 where product_id in (1, 2) and date = (select max(date) from stock_levels)`);
    const pgDb = openDb(await server.freshDatabase());
    try {
      const m = await migrateToLatest(pgDb);
      if (m.error) throw m.error;
      await copyAll(lite, pgDb);
      const pgCtx = { db: pgDb, sqlite: null as never, config: testConfig(pgDb.location, TODAY), asOf: TODAY, log: silentLogger() };
      const a = await planAll(liteCtx);
      const b = await planAll(pgCtx);
      // The data exercises what is compared: orders drafted, suggestions stored, the overrides applied.
      expect((a.orders as { drafts: unknown[] }).drafts.length).toBeGreaterThan(0);
      expect((a.stored as { suggestions: unknown[] }).suggestions.length).toBeGreaterThan(0);
      expect((a.suggest as { overrides: string[] }[])[0].overrides.length).toBe(1);
      expect((a.quality as { rows: unknown[] }).rows.length).toBeGreaterThan(0);
      expectSame(a, b);
    } finally {
      await pgDb.close();
      await lite.close();
    }
  }, 180_000);
});
