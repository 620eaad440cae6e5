/** models explain: the components of each forecast day sum to the stored forecast; a changed history is caught. */
import { addDays } from '../src/dates.js';
import { predictJob, trainJob } from '../src/jobs/forecasting.js';
import { eventsImpactJob } from '../src/jobs/events-impact.js';
import { explainForecast } from '../src/jobs/explain.js';
import { UsageError } from '../src/errors.js';
import type { Db } from '../src/db/connection.js';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { cli, jobCtx, sampleDb } from './helpers.js';

const TODAY = '2026-12-14';
let db: Db;
let path: string;
let dir: string;

beforeAll(async () => {
  ({ db, path, dir } = await sampleDb({ today: TODAY, products: 10, days: 500, seed: 5 }));
  await trainJob.run(jobCtx(db, TODAY), {});
  // One series on the regression + ETS ensemble, so both halves are explained.
  // Its backtest row is the regression's, as the engine records a chosen combination among the candidates.
  db.sqlite!.prepare(`update models set algorithm = 'ensemble(regression+ets)', metrics = json_set(metrics, '$."ensemble(regression+ets)"', json_extract(metrics, '$.regression'))
    where id = (select min(id) from models where status = 'active' and algorithm = 'regression')`).run();
  // A planner override (x1.5) on two days of another regression series.
  db.sqlite!.prepare(`insert into forecast_overrides (product_id, location_id, from_date, to_date, factor, quantity, reason, created_by, created_at, active)
    select product_id, location_id, ?, ?, 1.5, null, 'display', 'test', ?, 1 from models where status = 'active' and algorithm = 'regression' order by id limit 1`).run(addDays(TODAY, 3), addDays(TODAY, 4), TODAY);
  await predictJob.run(jobCtx(db, TODAY), {});
  await eventsImpactJob.run(jobCtx(db, TODAY), {});
}, 300_000);

/** Models made of the regression and per-series parts (the pooled and global models are shown whole). */
function regressionModels() {
  return db.sqlite!.prepare(`select p.sku, m.algorithm, m.metrics from models m join products p on p.id = m.product_id where m.status = 'active' and m.algorithm like '%regression%'
    and m.algorithm not like '%pooled%' and m.algorithm not like '%global%' order by p.sku`).all() as { sku: string; algorithm: string; metrics: string }[];
}

test('components sum to the stored forecast within 1e-6 on every day, reproduced to the storage rounding', async () => {
  const models = regressionModels();
  expect(models.length).toBeGreaterThanOrEqual(3);
  expect(models.some((m) => m.algorithm.startsWith('ensemble'))).toBe(true);
  for (const m of models) {
    const r = await explainForecast(jobCtx(db, TODAY), { sku: m.sku });
    expect(r.note).toBeNull();
    expect(r.days).toHaveLength(30);
    // Why: every candidate of the stored backtest, the chosen one marked, best first.
    expect(r.candidates.map((c) => c.candidate).sort()).toEqual(Object.keys(JSON.parse(m.metrics)).sort());
    expect(r.candidates.find((c) => c.chosen)?.candidate).toBe(m.algorithm);
    for (const d of r.days) {
      const sum = Object.values(d.components).reduce((a, b) => a + b, 0);
      expect(Math.abs(sum - d.stored)).toBeLessThanOrEqual(1e-6);
      expect(d.components.unexplained).toBeUndefined();
      // The only gap between the reproduced model and the stored value is its rounding to 4 decimals.
      expect(Math.abs(d.components.rounding)).toBeLessThanOrEqual(0.5e-4 + 1e-5 * Math.max(1, d.stored));
      for (const c of ['level/trend', 'weekday', 'yearly', 'events', 'promotion', 'price', 'floor', 'level shift', 'event factor']) expect(d.components[c]).toEqual(expect.any(Number));
    }
    // The weekday part moves with the day of the week.
    const wk = r.days.slice(0, 7).map((d) => d.components.weekday);
    expect(Math.max(...wk) - Math.min(...wk)).toBeGreaterThan(0);
  }
  // The override is one component of its two days, and the days still add up.
  const ov = db.sqlite!.prepare(`select o.id, p.sku from forecast_overrides o join products p on p.id = o.product_id`).get() as { id: number; sku: string };
  const withOverride = await explainForecast(jobCtx(db, TODAY), { sku: ov.sku });
  const days = withOverride.days.filter((d) => d.components[`override #${ov.id}`] !== undefined);
  expect(days.map((d) => d.date)).toEqual([addDays(TODAY, 3), addDays(TODAY, 4)]);
  for (const d of days) {
    // x1.5: the override adds half of the model's forecast, which is what the stored value holds beyond it.
    expect(d.components[`override #${ov.id}`]).toBeCloseTo((d.override! / 1.5) * 0.5, 9);
    expect(d.components.unexplained).toBeUndefined();
  }
  // A holiday of the horizon (Christmas Eve, also in the history) shows up as an event for some series.
  const any = await Promise.all(models.map((m) => explainForecast(jobCtx(db, TODAY), { sku: m.sku, date: '2026-12-24' })));
  expect(any.every((r) => r.days.length === 1 && r.days[0].date === '2026-12-24')).toBe(true);
  expect(any.some((r) => r.days[0].components.events !== 0)).toBe(true);
});

test('the commands: models explain and report with --json, exit 0; an unknown SKU exits 2', () => {
  const sku = regressionModels()[0].sku;
  const e = cli(['--db', path, '--as-of', TODAY, 'models', 'explain', sku, '--date', addDays(TODAY, 1), '--json', '--quiet']);
  expect(e.code).toBe(0);
  const j = JSON.parse(e.stdout);
  expect(j.days).toHaveLength(1);
  expect(Math.abs(j.days[0].sum - j.days[0].stored)).toBeLessThanOrEqual(1e-6);
  expect(cli(['--db', path, '--as-of', TODAY, 'models', 'explain', 'NOPE']).code).toBe(2);
  const out = join(dir, 'r.html');
  const r = cli(['--db', path, '--as-of', TODAY, 'report', '--out', out, '--sku', sku, '--json', '--quiet']);
  expect(r.code).toBe(0);
  expect(JSON.parse(r.stdout).series).toContain(`${sku}@MAIN`);
  expect(existsSync(out)).toBe(true);
});

test('a forecast whose history changed since the run is not passed off as explained', async () => {
  const sku = regressionModels()[0].sku;
  const p = (db.sqlite!.prepare('select id from products where sku = ?').get(sku) as { id: number }).id;
  db.sqlite!.prepare('update sales set quantity = quantity * 3 where product_id = ? and date >= ? and date < ?').run(p, addDays(TODAY, -60), TODAY);
  const r = await explainForecast(jobCtx(db, TODAY, { historyCache: false }), { sku });
  expect(r.note).toMatch(/is not reproduced .* re-run `optiflow predict --as-of 2026-12-14`/);
  expect(r.days.some((d) => d.components.unexplained !== undefined)).toBe(true);
});

test('bad input: unknown SKU, a date outside the run', async () => {
  await expect(explainForecast(jobCtx(db, TODAY), { sku: 'NOPE' })).rejects.toThrow(new UsageError('unknown SKU "NOPE"'));
  const sku = regressionModels()[0].sku;
  await expect(explainForecast(jobCtx(db, TODAY), { sku, date: addDays(TODAY, 40) })).rejects.toThrow(/--date: 2027-01-23 is not a forecast day of the run of 2026-12-14/);
});

test('a forecast re-levelled after a level shift is explained: its level-shift component, nothing unexplained', async () => {
  // The best-selling regression series of a sample halves its sales over the last five weeks.
  const { db: db2 } = await sampleDb({ today: TODAY, products: 10, days: 500, seed: 5 });
  try {
    await trainJob.run(jobCtx(db2, TODAY, { historyCache: false }), {});
    const top = db2.sqlite!.prepare(`select m.product_id as p, p.sku from models m join products p on p.id = m.product_id
      join sales s on s.product_id = m.product_id where m.status = 'active' and m.algorithm = 'regression'
      group by m.product_id order by sum(s.quantity) desc limit 1`).get() as { p: number; sku: string };
    db2.sqlite!.prepare('update sales set quantity = round(quantity / 2) where product_id = ? and date >= ?').run(top.p, addDays(TODAY, -35));
    // Sales changed by SQL, not by an import: no history cache to invalidate.
    await predictJob.run(jobCtx(db2, TODAY, { historyCache: false }), {});
    const r = await explainForecast(jobCtx(db2, TODAY, { historyCache: false }), { sku: top.sku });
    expect(r.note).toBeNull();
    for (const d of r.days) {
      const sum = Object.values(d.components).reduce((a, b) => a + b, 0);
      expect(Math.abs(sum - d.stored)).toBeLessThanOrEqual(1e-6);
      expect(d.components.unexplained).toBeUndefined();
      // The halving is followed: the level-shift component takes part of the forecast away.
      expect(d.components['level shift']).toBeLessThan(0);
    }
  } finally {
    await db2.close();
  }
}, 300_000);
