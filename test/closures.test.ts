/**
 * A shop closed two weeks every August, its closures recorded as events with
 * planned_uplift -1: the closed days are unknown demand to the models (not a
 * fortnight of zero demand that drags the level and the yearly profile), and
 * the upcoming closure is forecast at zero.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addDays, dayNumber, weekday } from '../src/dates.js';
import { importCsv } from '../src/io/import.js';
import { loadHistory } from '../src/db/history.js';
import { predictJob, trainJob } from '../src/jobs/forecasting.js';
import { eventsImpactJob } from '../src/jobs/events-impact.js';
import { Rng } from '../src/io/random.js';
import { jobCtx, newDb, tempDir } from './helpers.js';

const WEEKLY = [0.8, 0.9, 0.9, 1.0, 1.2, 1.4, 0.8];
const AS_OF = '2025-07-25';
const closed = (d: string) => d.slice(5, 7) === '08' && d.slice(8, 10) <= '14';

test('closures recorded as events are unknown demand to the models, and the next one is forecast at zero', async () => {
  const rng = new Rng(5);
  const rates: Record<string, number> = { A: 30, B: 12, C: 6, D: 3, E: 20, F: 9 };
  const lines = ['date,sku,location,quantity'];
  const days = 900;
  for (let i = 0; i < days; i++) {
    const d = addDays(AS_OF, i - days);
    if (closed(d)) continue;
    for (const [sku, r] of Object.entries(rates)) lines.push(`${d},${sku},SHOP,${rng.poisson(r * WEEKLY[weekday(dayNumber(d))])}`);
  }
  const dir = tempDir();
  writeFileSync(join(dir, 'sales.csv'), lines.join('\n') + '\n');
  const ev = ['name,kind,start_date,end_date,location,planned_uplift'];
  for (const y of [2023, 2024, 2025]) ev.push(`summer${y},other,${y}-08-01,${y}-08-14,SHOP,-1`);
  writeFileSync(join(dir, 'events.csv'), ev.join('\n') + '\n');
  const db = await newDb(join(dir, 'closed.db'));
  await importCsv(db, { entity: 'sales', file: join(dir, 'sales.csv') });
  await importCsv(db, { entity: 'events', file: join(dir, 'events.csv') });
  // The history: the closed days unknown, no missing day.
  const h = await loadHistory(db, { asOf: AS_OF, days: 730, horizon: 28 });
  expect([...h.missingDays]).toEqual([]);
  const a = h.series[h.refs.findIndex((r) => r.sku === 'A')].y;
  expect(a[dayNumber('2024-08-05') - h.startDay]).toBeNaN();
  expect(a[dayNumber('2024-08-20') - h.startDay]).toBeGreaterThan(0);
  const ctx = jobCtx(db, AS_OF);
  ctx.config.horizon = 28;
  await trainJob.run(ctx, {});
  await predictJob.run(ctx, {});
  await eventsImpactJob.run(ctx, {});
  const f = await db.kysely.selectFrom('forecasts').innerJoin('products', 'products.id', 'forecasts.product_id').select(['products.sku', 'forecasts.date', 'forecasts.yhat']).where('run_date', '=', AS_OF).execute();
  for (const [sku, r] of Object.entries(rates)) {
    const of = f.filter((x) => x.sku === sku);
    const open = of.filter((x) => !closed(x.date));
    const shut = of.filter((x) => closed(x.date));
    expect(shut.length).toBeGreaterThan(0);
    // Before: about 55 % of the true level on the open days, and the closure forecast as open.
    for (const x of shut) expect(Number(x.yhat)).toBe(0);
    const mean = open.reduce((s, x) => s + Number(x.yhat), 0) / open.length;
    expect(Math.abs(mean / r - 1)).toBeLessThan(0.2);
  }
  await db.close();
}, 120_000);
