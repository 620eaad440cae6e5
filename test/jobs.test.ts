/**
 * The nightly jobs on sample data, through the command line: table, JSON,
 * rows written, idempotent for a run date; missing inputs; the notification
 * outbox; event factors against the generator's uplifts.
 */
import { writeFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { addDays } from '../src/dates.js';
import { openDb } from '../src/db/connection.js';
import { CATEGORIES, generateSample } from '../src/io/sample.js';
import { cli, dump, fileHash, newDb, tempDir } from './helpers.js';

const TODAY = '2026-06-01';
const dir = tempDir();
const dbPath = join(dir, 'jobs.db');
const config = join(dir, 'optiflow.config.json');
const outbox = join(dir, 'sent.jsonl');
const run = (args: string[], cfg = config) => cli([...args, '--db', dbPath, '--as-of', TODAY, '--config', cfg, '-q']);

beforeAll(async () => {
  const db = await newDb(dbPath);
  generateSample(db.sqlite!, { products: 40, locations: 1, days: 730, seed: 21, today: TODAY });
  await db.close();
  writeFileSync(config, JSON.stringify({ notify: { channel: 'command', target: `cat >> ${outbox}` }, batch: { retryMinDelayMs: 0 } }));
  expect(cli(['train', '--db', dbPath, '--as-of', addDays(TODAY, -7), '--config', config, '-q']).code).toBe(0);
  // A week of nightly forecasts before today, so monitor and revenue have something to score.
  for (let d = 7; d >= 0; d--) expect(cli(['predict', '--db', dbPath, '--as-of', addDays(TODAY, -d), '--config', config, '-q']).code).toBe(0);
});

const TABLES = ['forecasts', 'event_factors', 'alerts', 'notifications', 'forecast_metrics', 'retrain_flags', 'metrics_history', 'kpi_cache', 'savings', 'revenue_daily', 'trends', 'dormant_stock', 'quality_risk'];
const writes: Record<string, string> = {
  'events-impact': 'event_factors', 'quality-risk': 'quality_risk', alerts: 'alerts', monitor: 'forecast_metrics', kpis: 'kpi_cache', savings: 'savings',
  revenue: 'revenue_daily', trends: 'trends', 'top-urgent': 'kpi_cache', dormant: 'dormant_stock',
};

describe.each(Object.entries(writes))('%s', (job, table) => {
  test('runs, prints a table and valid JSON, writes its rows, and a second run changes nothing', () => {
    const first = run([job]);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/\S+\s{2,}\S+/); // aligned columns
    const db = openDb(dbPath);
    const n = (db.sqlite!.prepare(`select count(*) as n from ${table}`).get() as { n: number }).n;
    expect(n).toBeGreaterThan(0);
    const before = dump(db, TABLES);
    const json = run([job, '--json']);
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout);
    expect(parsed.job).toBe(job);
    expect(parsed.summary).toBeDefined();
    expect(dump(db, TABLES)).toBe(before);
    db.sqlite!.close();
  });
});

test('events-impact recovers the promotion uplifts the generator put in (within 0.12)', () => {
  const r = JSON.parse(run(['events-impact', '--json']).stdout) as { rows: { event: string; category: string; factor: number; n: number }[] };
  let checked = 0;
  for (const c of CATEGORIES) {
    const f = r.rows.find((x) => x.event === `promotion:Promo ${c.name}` && x.category === c.name);
    if (!f || f.n < 10) continue;
    expect(Math.abs(f.factor - c.promoUplift)).toBeLessThan(0.12);
    checked++;
  }
  expect(checked).toBeGreaterThanOrEqual(4);
});

test('alerts carry a human message and CRITIQUE alerts were sent through the command channel', () => {
  const r = JSON.parse(run(['alerts', '--json']).stdout) as { rows: { severity: string; message: string }[] };
  const crit = r.rows.filter((a) => a.severity === 'CRITIQUE');
  expect(crit.length).toBeGreaterThan(0);
  for (const a of crit) expect(a.message).toMatch(/^SKU-\d+ (runs out on \d{4}-\d{2}-\d{2}, in \d+ days?|runs out today \(\d{4}-\d{2}-\d{2}\)|is out of stock now); supplier lead time \d+ days?: /);
  const sent = readFileSync(outbox, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  expect(sent.length).toBe(crit.length);
});

test('a job run before its inputs exist exits 1, names the input and the command, writes nothing', () => {
  const other = join(dir, 'empty-run.db');
  writeFileSync(other, readFileSync(dbPath));
  const before = fileHash(other);
  const r = cli(['alerts', '--db', other, '--as-of', '2026-07-15', '--config', config, '-q']);
  expect(r.code).toBe(1);
  expect(r.stderr.trim()).toBe('error: missing input: forecasts for run date 2026-07-15; run `optiflow predict --as-of 2026-07-15` first');
  expect(fileHash(other)).toBe(before);
});

test('a failing notification command leaves the notification unsent with its error; the next run sends it', async () => {
  const d2 = tempDir();
  const db2 = join(d2, 'n.db');
  writeFileSync(db2, readFileSync(dbPath));
  const failing = join(d2, 'fail.json');
  writeFileSync(failing, JSON.stringify({ notify: { channel: 'command', target: 'exit 1' } }));
  const ok = join(d2, 'ok.json');
  const box = join(d2, 'box.jsonl');
  writeFileSync(ok, JSON.stringify({ notify: { channel: 'command', target: `cat >> ${box}` } }));
  const day = addDays(TODAY, 1);
  expect(cli(['predict', '--db', db2, '--as-of', day, '--config', failing, '-q']).code).toBe(0);
  expect(cli(['alerts', '--db', db2, '--as-of', day, '--config', failing, '-q']).code).toBe(0);
  let db = openDb(db2);
  const unsent = db.sqlite!.prepare('select count(*) as n, min(error) as e, min(attempts) as a from notifications where sent_at is null').get() as { n: number; e: string; a: number };
  db.sqlite!.close();
  expect(unsent.n).toBeGreaterThan(0);
  expect(unsent.e).toMatch(/command exited 1/);
  expect(unsent.a).toBe(1);
  expect(existsSync(box)).toBe(false);
  expect(cli(['alerts', '--db', db2, '--as-of', day, '--config', ok, '-q']).code).toBe(0);
  db = openDb(db2);
  const left = db.sqlite!.prepare('select count(*) as n from notifications where sent_at is null').get() as { n: number };
  db.sqlite!.close();
  expect(left.n).toBe(0);
  expect(readFileSync(box, 'utf8').trim().split('\n').length).toBe(unsent.n);
});
