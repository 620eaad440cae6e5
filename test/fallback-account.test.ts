/**
 * predict's account of the series it serves with a fallback: those without a trained model (new since the last
 * train, or left out by it) are named in a warning with their reason; those whose own trained model put them on a
 * fallback (kept by the gate, or rejected by it for the level model) are named apart, at info level, without advice
 * to train again (which would change nothing).
 */
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { addDays } from '../src/dates.js';
import { trainJob } from '../src/jobs/forecasting.js';
import type { Db } from '../src/db/connection.js';
import { cli, jobCtx, sampleDb } from './helpers.js';

const TODAY = '2026-06-01';
const TRAIN_DAY = addDays(TODAY, -20);
let db: Db;
let path: string;
let dir: string;
let trained: Record<string, unknown>;

beforeAll(async () => {
  ({ db, path, dir } = await sampleDb({ today: TODAY, products: 8, days: 400, seed: 11 }));
  const skus = (db.sqlite!.prepare(`select sku from products order by sku`).all() as { sku: string }[]).map((r) => r.sku);
  // An impossible gate: every series trained here fails it and ends on a fallback its own backtest chose.
  // The last SKU is left out of the train (a train limited with --sku).
  trained = (await trainJob.run(jobCtx(db, TRAIN_DAY, { train: { gateMape: 0.01, gateRmsse: 0.01 } }), { sku: skus.slice(0, -1) })).summary;
  // A product first sold after the train's data ended.
  const lines = ['date,sku,quantity'];
  for (let d = addDays(TODAY, -10); d < TODAY; d = addDays(d, 1)) lines.push(`${d},NEWBIE,${3 + (d.charCodeAt(9) % 3)}`);
  writeFileSync(join(dir, 'new.csv'), lines.join('\n') + '\n');
  const imp = cli(['--db', path, '--as-of', TODAY, 'import', 'sales', join(dir, 'new.csv')]);
  expect(imp.code).toBe(0);
}, 300_000);
afterAll(async () => db.close());

test('predict names the series without a trained model and why, and the gate fallbacks apart', () => {
  const skus = (db.sqlite!.prepare(`select sku from products where sku != 'NEWBIE' order by sku`).all() as { sku: string }[]).map((r) => r.sku);
  const leftOut = skus[skus.length - 1];
  const status = db.sqlite!.prepare(`select p.sku, m.status, m.algorithm from models m join products p on p.id = m.product_id order by p.sku`).all() as { sku: string; status: string; algorithm: string }[];
  expect(status.map((s) => s.sku)).toEqual(skus.slice(0, -1));
  // Every trained series failed the gate: kept as the fallback, or rejected for the level model.
  expect(status.every((s) => s.status === 'fallback' || s.status === 'rejected')).toBe(true);
  const gate = status.filter((s) => s.status === 'fallback' && !s.algorithm.startsWith('fallback:')).map((s) => s.sku);
  const rejected = status.filter((s) => s.status === 'rejected').map((s) => s.sku);
  expect(gate.length + rejected.length).toBeGreaterThan(0);

  const r = cli(['--db', path, '--as-of', TODAY, 'predict']);
  expect(r.code).toBe(0);
  const lines = r.stderr.split('\n');
  const warn = lines.filter((l) => l.startsWith('warn: predict:') && l.includes('without a trained model'));
  expect(warn).toHaveLength(1);
  // Counts and names only the two series that truly have no trained model, each with its reason.
  expect(warn[0]).toMatch(/^warn: predict: 2 series without a trained model/);
  expect(warn[0]).toMatch(new RegExp(`1 new since the last train \\(data to ${addDays(TRAIN_DAY, -1)}\\)[^;]*: NEWBIE@`));
  expect(warn[0]).toMatch(new RegExp(`1 left out by the last train[^;]*: ${leftOut}@`));
  for (const s of [...gate, ...rejected]) expect(warn[0]).not.toContain(`${s}@`);
  // The series on a fallback of their own training: named at info level, pointing to `models explain`, no advice to train.
  const info = lines.filter((l) => l.startsWith('info: predict:') && l.includes('fallback their own training chose'));
  expect(info).toHaveLength(1);
  expect(info[0]).toMatch(new RegExp(`^info: predict: ${gate.length + rejected.length} series`));
  for (const s of [...gate, ...rejected]) expect(info[0]).toContain(`${s}@`);
  if (gate.length) expect(info[0]).toContain(`${gate.length} on their fallback model (gate)`);
  if (rejected.length) expect(info[0]).toContain(`${rejected.length} on the level model (gate rejected theirs)`);
  expect(info[0]).toContain('models explain');
  expect(info[0]).not.toContain('optiflow train');

  // --json: every such series with its reason.
  const j = JSON.parse(cli(['--db', path, '--as-of', TODAY, '--json', '--quiet', 'predict']).stdout) as { summary: Record<string, unknown>; fallback_series: { sku: string; kind: string; trained: boolean }[] };
  expect(j.summary.without_trained_model).toBe(2);
  expect(j.summary.on_trained_fallback).toBe(gate.length + rejected.length);
  const kinds = Object.fromEntries(j.fallback_series.map((x) => [x.sku, x.kind]));
  expect(kinds.NEWBIE).toBe('new');
  expect(kinds[leftOut]).toBe('left_out');
  for (const s of gate) expect(kinds[s]).toBe('gate_fallback');
  for (const s of rejected) expect(kinds[s]).toBe('gate_rejected');
  expect(j.fallback_series).toHaveLength(2 + gate.length + rejected.length);
  expect(j.summary.without_trained_model_series).toMatch(/NEWBIE@\S+ \(new\)/);

  // models explain of a series whose trained model the gate rejected says so, with that model's backtest.
  expect(rejected.length).toBeGreaterThan(0);
  const e = JSON.parse(cli(['--db', path, '--as-of', TODAY, '--json', 'models', 'explain', rejected[0]]).stdout) as { model: { reason: string }; candidates: { chosen: boolean }[] };
  expect(e.model.reason).toMatch(/no model in force at the run.*v1 \S+, is rejected: .*gate: /);
  expect(e.candidates.length).toBeGreaterThan(1);
  expect(e.candidates.some((c) => c.chosen)).toBe(false);
});

test('train counts every series it leaves on a fallback, the gate\'s included', () => {
  const n = (status: string) => (db.sqlite!.prepare(`select count(*) as n from models where status = ?`).get(status) as { n: number }).n;
  expect(n('fallback')).toBeGreaterThan(0);
  // It counted only the engine's own fallbacks ("0 series on a fallback model" with every series on one).
  expect(trained.fallback).toBe(n('fallback'));
  expect(trained.rejected).toBe(n('rejected'));
});

test('models explain names the level model predict gave a series without a model, not seasonal naive', () => {
  // NEWBIE sold for 10 days, after the train: predict served it the mean of its known days (under two weeks).
  expect(cli(['--db', path, '--as-of', TODAY, 'predict']).code).toBe(0);
  const r = cli(['--db', path, '--as-of', TODAY, 'models', 'explain', 'NEWBIE']);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('fallback:ma28');
  expect(r.stdout).toContain('no trained model at the run: the fallback level model (ma28)');
  expect(r.stdout).not.toMatch(/snaive|seasonal naive/);
});
