/**
 * Watched models, replayed night by night on sample data: a deliberately worse
 * challenger is never promoted (a perfect one is), a worse canary is rolled
 * back after its trial days, drift is measured with its sampling noise.
 */
import { addDays } from '../src/dates.js';
import { predictJob, trainJob } from '../src/jobs/forecasting.js';
import { monitorJob } from '../src/jobs/monitor.js';
import { shadowJob, scoreRoles } from '../src/watch/scores.js';
import { promoteChallenger, startCanary } from '../src/watch/trials.js';
import { psi } from '../src/watch/drift.js';
import { DEFAULTS, type Config } from '../src/config.js';
import type { Db } from '../src/db/connection.js';
import { jobCtx, sampleDb } from './helpers.js';

const TODAY = '2026-05-04';
const DAY0 = addDays(TODAY, -15);
const watch: Config['watch'] = { ...DEFAULTS.watch, promoteWeeks: 2, canaryDays: 7, minDaysPerWeek: 4 };
const ctx = (db: Db, d: string) => jobCtx(db, d, { watch, historyCache: false });

/** Challenger in shadow: a setting that forecasts `f(live base forecast, actual)` for every series of the run. */
function writeChallenger(db: Db, run: string, f: (yhat: number, actual: number | null) => number) {
  const q = db.sqlite!;
  q.prepare(`delete from shadow_forecasts where role = 'challenger' and run_date = ?`).run(run);
  const rows = q.prepare(`select f.product_id, f.location_id, f.date, f.base_yhat, s.quantity from forecasts f left join sales s on s.product_id = f.product_id and s.location_id = f.location_id and s.date = f.date where f.run_date = ? and f.date < ?`).all(run, addDays(run, 14)) as { product_id: number; location_id: number; date: string; base_yhat: number; quantity: number | null }[];
  const ins = q.prepare(`insert into shadow_forecasts (product_id, location_id, run_date, date, role, setting, yhat) values (?, ?, ?, ?, 'challenger', 'test-setting', ?)`);
  for (const r of rows) ins.run(r.product_id, r.location_id, run, r.date, f(r.base_yhat, r.quantity));
}

let db: Db;
let canarySeries: number;
const decisions: (string | null)[] = [];

beforeAll(async () => {
  ({ db } = await sampleDb({ today: TODAY, products: 10, days: 500, seed: 5 }));
  await trainJob.run(ctx(db, DAY0), {});
  // A canary on a setting without weekly seasonality: deliberately worse on these seasonal series.
  canarySeries = (await startCanary(ctx(db, DAY0), { setting: 'croston', share: 0.5 })).summary.series as number;
  for (let d = DAY0; d <= TODAY; d = addDays(d, 1)) {
    if (d < TODAY) {
      await predictJob.run(ctx(db, d), {});
      await shadowJob.run(ctx(db, d), {});
      // The deliberately worse challenger: twice the live forecast plus one unit.
      writeChallenger(db, d, (y) => 2 * y + 1);
    }
    const m = await monitorJob.run(ctx(db, d), {});
    decisions.push(m.summary.canary as string | null);
  }
}, 300_000);

test('a worse canary is rolled back after its trial days, and the previous models are active again', () => {
  const q = db.sqlite!;
  expect(canarySeries).toBe(5);
  const trials = q.prepare(`select status, decided_on, details, model_id, previous_model_id from model_trials where kind = 'canary'`).all() as { status: string; decided_on: string; details: string; model_id: number; previous_model_id: number }[];
  expect(trials).toHaveLength(5);
  for (const t of trials) {
    expect(t.status).toBe('rolled_back');
    expect(t.decided_on).toBe(addDays(DAY0, 7));
    const d = JSON.parse(t.details) as { canary_mae: number; baseline_mae: number };
    expect(d.canary_mae).toBeGreaterThan(d.baseline_mae);
    expect(q.prepare('select status from models where id = ?').get(t.model_id)).toEqual({ status: 'rejected' });
    expect(q.prepare('select status from models where id = ?').get(t.previous_model_id)).toEqual({ status: 'active' });
  }
  // The previous settings of the canary series were forecast in shadow while it ran.
  expect(q.prepare(`select count(distinct product_id) as n from shadow_forecasts where role = 'baseline' and setting != 'croston'`).get()).toEqual({ n: 5 });
  // Undecided before the trial days, decided once, nothing running after.
  expect(decisions.slice(0, 7).every((x) => x === null || /^running/.test(x))).toBe(true);
  expect(decisions[7]).toBe('rolled_back');
  // The next forecasts come from the previous settings again.
  const after = q.prepare(`select count(*) as n from forecasts f join models m on m.id = f.model_id where f.run_date = ? and m.algorithm = 'croston' and m.status = 'rejected'`).get(addDays(TODAY, -1)) as { n: number };
  expect(after.n).toBe(0);
});

test('a deliberately worse challenger is never promoted; a perfect one is, only where it won every week', async () => {
  const q = db.sqlite!;
  const before = q.prepare(`select id, algorithm from models where status = 'active' order by id`).all();
  const worse = await promoteChallenger(ctx(db, TODAY), { weeks: 2 });
  expect(worse.summary.promoted).toBe(0);
  const active = (q.prepare(`select count(*) as n from models where status = 'active'`).get() as { n: number }).n;
  expect(active).toBeGreaterThan(5);
  expect(worse.rows.length).toBe(active);
  for (const r of worse.rows) {
    expect(r.weeks_scored).toBe(2);
    expect(r.challenger_mae!).toBeGreaterThan(r.champion_mae!);
  }
  expect(q.prepare(`select id, algorithm from models where status = 'active' order by id`).all()).toEqual(before);

  // The same days, scored again with a challenger that knew the sales.
  for (let d = DAY0; d < TODAY; d = addDays(d, 1)) writeChallenger(db, d, (y, a) => a ?? 0);
  await scoreRoles(ctx(db, TODAY), 15);
  const better = await promoteChallenger(ctx(db, TODAY), { weeks: 2 });
  const promoted = better.rows.filter((r) => r.decision === 'promoted');
  expect(promoted.length).toBeGreaterThan(0);
  for (const r of better.rows) expect(r.decision === 'promoted').toBe(r.weeks_won === 2 && r.challenger_mae! <= r.champion_mae! * 0.95);
  const moved = q.prepare(`select count(*) as n from models where status = 'active' and algorithm = 'test-setting'`).get() as { n: number };
  expect(moved.n).toBe(promoted.length);
  expect((q.prepare(`select count(*) as n from model_trials where kind = 'challenger' and status = 'promoted'`).get() as { n: number }).n).toBe(promoted.length);
});

test('drift: PSI of a copy is 0; a shifted level is far above its sampling noise', () => {
  const base = Array.from({ length: 364 }, (_, i) => 10 + ((i * 7919) % 11));
  const same = psi(base, base)!;
  expect(same.psi).toBeCloseTo(0, 12);
  const shifted = psi(base, base.slice(0, 56).map((v) => v + 8))!;
  expect(shifted.psi - shifted.noise).toBeGreaterThan(0.25);
  // The noise term: (k - 1)(1/56 + 1/364) with k = 5 bins.
  const recent = psi(base, base.slice(100, 156))!;
  expect(recent.noise).toBeCloseTo(4 * (1 / 56 + 1 / 364), 12);
  expect(psi(base, base.slice(0, 10))).toBeNull();
});
