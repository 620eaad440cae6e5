/**
 * `models show` and `models explain` print figures rounded for people (a blown-up backtest error as 1.42e+41, the
 * yearly component to 4 decimals like the other components); --json keeps them at full precision.
 */
import { predictJob, trainJob } from '../src/jobs/forecasting.js';
import { formatNumber } from '../src/commands/render.js';
import type { Db } from '../src/db/connection.js';
import { cli, jobCtx, sampleDb } from './helpers.js';

const TODAY = '2026-12-14';
const HUGE = 1.4243066680697690e41;
let db: Db;
let path: string;
let sku: string;
let rmsse: number;

beforeAll(async () => {
  ({ db, path } = await sampleDb({ today: TODAY, products: 10, days: 500, seed: 5 }));
  await trainJob.run(jobCtx(db, TODAY), {});
  // A regression model (it has a yearly component) whose backtest also holds a candidate that blew up.
  const m = db.sqlite!.prepare(`select m.id, p.sku, m.metrics from models m join products p on p.id = m.product_id where m.status = 'active' and m.algorithm = 'regression' order by m.id limit 1`).get() as { id: number; sku: string; metrics: string };
  sku = m.sku;
  rmsse = (JSON.parse(m.metrics) as Record<string, { rmsse: number }>).regression.rmsse;
  db.sqlite!.prepare(`update models set metrics = json_set(metrics, '$.blownup', json(?)) where id = ?`).run(JSON.stringify({ rmsse: HUGE, mase: HUGE / 4, wape: HUGE / 4, mape: HUGE / 9, bias: -HUGE / 3 }), m.id);
  await predictJob.run(jobCtx(db, TODAY), {});
}, 300_000);
afterAll(async () => db.close());

/** Numbers as a person reads them: no run of 13+ digits, no more than 4 decimals. */
function expectReadable(text: string): void {
  for (const line of text.split('\n').filter((l) => !/trained .*T\d/.test(l))) {
    expect(line).not.toMatch(/\d[\d,]{12,}/);
    expect(line).not.toMatch(/\d\.\d{5,}(?!\d*e)/);
  }
}

test('formatNumber: huge and tiny figures, components named like the year', () => {
  expect(formatNumber(HUGE, 'rmsse')).toBe('1.42e+41');
  expect(formatNumber(-HUGE / 3, 'bias')).toBe('-4.75e+40');
  expect(formatNumber(HUGE, 'value')).toBe('1.42e+41');
  expect(formatNumber(-0.04570633839811155, 'yearly')).toBe('-0.0457');
  expect(formatNumber(-1e-17, 'rounding')).toBe('0');
  expect(formatNumber(2026, 'year')).toBe('2026');
  expect(formatNumber(NaN, 'rmsse')).toBe('-');
  expect(formatNumber(123456.789, 'rmsse')).toBe('123,456.79');
  expect(formatNumber(143839774966.09, 'rmsse')).toBe('1.44e+11');
  // Money and whole counts keep their digits below 1e15.
  expect(formatNumber(143839774966.09, 'value')).toBe('143,839,774,966.09');
  expect(formatNumber(12345678, 'units')).toBe('12,345,678');
});

test('models show and models explain: rounded tables; --json at full precision', () => {
  const show = cli(['--db', path, '--as-of', TODAY, 'models', 'show', sku]);
  expect(show.code).toBe(0);
  expect(show.stdout).toMatch(/blownup\s+1\.42e\+41\s+3\.56e\+40/);
  expectReadable(show.stdout);
  const showJson = JSON.parse(cli(['--db', path, '--as-of', TODAY, '--json', 'models', 'show', sku]).stdout) as { metrics: Record<string, { rmsse: number }> }[];
  const v = showJson[showJson.length - 1].metrics;
  expect(v.blownup.rmsse).toBe(HUGE);
  expect(v.regression.rmsse).toBe(rmsse);

  const explain = cli(['--db', path, '--as-of', TODAY, 'models', 'explain', sku]);
  expect(explain.code).toBe(0);
  expect(explain.stdout).toMatch(/blownup\s+1\.42e\+41/);
  expect(explain.stdout).toMatch(/ yearly /);
  expectReadable(explain.stdout);
  const j = JSON.parse(cli(['--db', path, '--as-of', TODAY, '--json', 'models', 'explain', sku]).stdout) as { days: { components: Record<string, number> }[] };
  // Full precision in JSON: the yearly parts are not cut to the 4 decimals of the table.
  expect(j.days.some((d) => Math.abs(d.components.yearly * 1e4 - Math.round(d.components.yearly * 1e4)) > 1e-6)).toBe(true);
});

test('models show prints each model\'s parameters, a re-levelled step among them', () => {
  // The model's parameters were only in --json: a planner reading why a forecast dropped could not see the step.
  const m = db.sqlite!.prepare(`select m.id from models m join products p on p.id = m.product_id where p.sku = ? and m.status = 'active'`).get(sku) as { id: number };
  db.sqlite!.prepare(`update models set params = json_set(params, '$.regression.relevelled', json(?)) where id = ?`).run(JSON.stringify({ since: '2026-11-16', ratio: 0.5386 }), m.id);
  const show = cli(['--db', path, '--as-of', TODAY, 'models', 'show', sku]);
  expect(show.code).toBe(0);
  expect(show.stdout).toMatch(/^ {2}regression: yearly_order 4, months true, .*smear \d+(\.\d+)?, level_shift [\d.]+, relevelled since 2026-11-16 x 0\.5386$/m);
  expect(show.stdout).toMatch(/^ {2}interval: 80 % from \d+ out-of-sample errors$/m);
  expect(show.stdout).not.toMatch(/backtest_errors|scaled/);
  expectReadable(show.stdout);
});
