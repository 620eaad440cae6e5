/**
 * Point in time: every nightly job run for date D reads only what was known on
 * the morning of D. Two copies of one database; in the second, every row dated
 * D or later is rewritten (sales, stock, orders ordered or received from D on,
 * retrain flags and alerts raised after D, a model trained on data after D).
 * The nightly batch for D must give identical results in both.
 */
import { join } from 'node:path';
import { openDb, type Db } from '../src/db/connection.js';
import { runBatch } from '../src/batch/batch.js';
import { trainJob } from '../src/jobs/forecasting.js';
import { jobCtx, sampleDb, tempDir } from './helpers.js';

const D = '2026-05-01';

/** Rows a nightly run for D writes, without ids and clock times. */
function outputs(db: Db): Record<string, unknown[]> {
  const q = (sql: string) => db.sqlite!.prepare(sql).all({ d: D });
  return {
    forecasts: q('select product_id, location_id, date, model_id, yhat, yhat_lo, yhat_hi, event_factor from forecasts where run_date = :d order by 1, 2, 3'),
    event_factors: q('select event_key, category, factor, sd, n, source from event_factors where computed_on = :d order by 1, 2'),
    quality_risk: q('select * from quality_risk where date = :d order by product_id, location_id'),
    alerts: q('select product_id, location_id, severity, kind, stockout_date, days_of_cover, suggested_qty, revenue_at_risk, message, active from alerts where created_on = :d order by 1, 2, 4'),
    notifications: (q(`select n.payload from notifications n join alerts a on a.id = n.alert_id where a.created_on = :d order by a.product_id, a.location_id, a.kind`) as { payload: string }[]).map((r) => {
      const { alert_id: _id, ...rest } = JSON.parse(r.payload);
      return rest;
    }),
    forecast_metrics: q('select * from forecast_metrics where date = :d order by product_id, location_id'),
    retrain_flags: q('select * from retrain_flags where flagged_on = :d order by product_id, location_id'),
    metrics_history: q('select scope, payload from metrics_history where date = :d order by scope'),
    savings: q('select avoided_stockouts, reduced_overstock, optimized_orders, details from savings where date = :d'),
    revenue: q('select * from revenue_daily where computed_on = :d order by date'),
    trends: q('select scope, key, growth_28d, growth_yoy, slope, weekly_strength, yearly_strength, label from trends where date = :d order by 1, 2'),
    dormant: q('select product_id, location_id, on_hand, value, last_sale, days_since_sale from dormant_stock where computed_on = :d order by 1, 2'),
    kpis: (q(`select payload from kpi_cache where key = 'dashboard_kpis:' || :d`) as { payload: string }[]).map((r) => JSON.parse(r.payload)),
  };
}

/** Rewrites every row dated D or later, and adds what later nights would have added. */
function rewriteFuture(db: Db): void {
  const s = db.sqlite!;
  s.exec(`
    update sales set quantity = quantity * 3 + 7, revenue = coalesce(revenue, 0) * 3 + 1, on_promo = 1 - on_promo where date >= '${D}';
    update stock_levels set on_hand = on_hand * 5 + 11 where date >= '${D}';
    update purchase_orders set received_on = date(received_on, '+3 days') where received_on >= '${D}' and id % 2 = 0;
    update purchase_orders set received_on = null, status = 'open' where received_on >= '${D}' and id % 2 = 1;
    update purchase_orders set quantity = quantity * 4, status = 'cancelled' where ordered_on >= '${D}';
    insert into retrain_flags (product_id, location_id, flagged_on, reason) select product_id, location_id, date('${D}', '+5 days'), 'later' from models where status = 'active';
    insert into alerts (product_id, location_id, created_on, severity, kind, stockout_date, days_of_cover, suggested_qty, revenue_at_risk, message, active)
      select product_id, location_id, date('${D}', '+6 days'), 'CRITIQUE', 'stockout', date('${D}', '+8 days'), 1, 99, 1000, 'later', 1 from models where status = 'active';
    insert into models (product_id, location_id, version, algorithm, params, trained_at, train_end, metrics, reason, status)
      select product_id, location_id, version + 1, 'naive', '{"backtest_errors":[[100,-100,100]],"interval":{"error_lo":-50,"error_hi":50}}',
             '${D}T23:00:00Z', date('${D}', '+20 days'), metrics, 'later', 'active' from models where status = 'active';
  `);
}

test('every nightly job for D gives the same output after the rows dated D or later are rewritten', async () => {
  // History runs to D + 39: a database replayed for an earlier date.
  const base = await sampleDb({ products: 12, days: 420, seed: 21, today: '2026-06-09' });
  await trainJob.run(jobCtx(base.db, D, { historyCache: false, data: { ...jobCtx(base.db, D).config.data, maxStalenessDays: 100 } }), {});
  const dir = tempDir();
  const copies = ['a.db', 'b.db'].map((n) => join(dir, n));
  for (const c of copies) base.db.sqlite!.exec(`vacuum into '${c}'`);
  await base.db.close();
  const [a, b] = copies.map((c) => openDb(c));
  const models = (a.sqlite!.prepare(`select count(*) as n from models where status = 'active'`).get() as { n: number }).n;
  expect(models).toBeGreaterThan(0);
  rewriteFuture(b);
  // The rewrite touched what it should.
  expect(b.sqlite!.prepare(`select count(*) as n from purchase_orders where received_on >= ?`).get(D)).not.toEqual({ n: 0 });
  const results = [];
  for (const db of [a, b]) {
    const ctx = jobCtx(db, D, { historyCache: false });
    ctx.config.batch.threads = false;
    const r = await runBatch(ctx, { kind: 'nightly' });
    expect(r.status).toBe('success');
    results.push({ steps: r.steps.map((s) => ({ name: s.name, status: s.status, output: s.output })), rows: outputs(db) });
  }
  // Something was produced, so the comparison means something.
  expect(results[0].rows.forecasts.length).toBeGreaterThan(100);
  expect(results[0].rows.alerts.length).toBeGreaterThan(0);
  for (const k of Object.keys(results[0].rows)) expect({ k, rows: results[1].rows[k] }).toEqual({ k, rows: results[0].rows[k] });
  expect(results[1].steps).toEqual(results[0].steps);
  await a.close();
  await b.close();
});
