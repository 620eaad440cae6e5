/** A small shop (5 products) runs the nightly forecasting jobs without a constraint failure. */
import { predictJob } from '../src/jobs/forecasting.js';
import { eventsImpactJob } from '../src/jobs/events-impact.js';
import { jobCtx, sampleDb } from './helpers.js';

test('sample --products 5, predict, events-impact: no UNIQUE failure on event_factors, one row per event and category', async () => {
  const asOf = '2026-06-01';
  const { db } = await sampleDb({ products: 5, days: 730, seed: 42, today: asOf });
  // The smallest shop: one product sells, so no event has three measured observations yet.
  db.sqlite!.prepare('update products set active = 0 where id > (select min(id) from products)').run();
  const ctx = jobCtx(db, asOf, { historyCache: false });
  await predictJob.run(ctx, {});
  const r = await eventsImpactJob.run(ctx, {});
  const rows = db.sqlite!.prepare('select event_key, category, source, n from event_factors where computed_on = ?').all(asOf) as { event_key: string; category: string; source: string; n: number }[];
  expect(rows.length).toBe(Number(r.summary.factors) + Number(r.summary.planned));
  expect(new Set(rows.map((x) => `${x.event_key}|${x.category}`)).size).toBe(rows.length);
  await db.close();
});
