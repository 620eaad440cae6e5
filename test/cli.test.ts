import { join } from 'node:path';
import { existsSync, writeFileSync } from 'node:fs';
import { cli, tempDir, testDb } from './helpers.js';

describe('the command line', () => {
  test('--help lists the commands, --version prints the version', () => {
    const h = cli(['--help']);
    expect(h.code).toBe(0);
    for (const c of ['init', 'db', 'sample', 'import', 'export', 'train', 'validate', 'predict', 'models', 'events-impact', 'alerts', 'monitor', 'kpis', 'savings', 'revenue', 'trends', 'top-urgent', 'dormant', 'batch', 'health', 'cleanup', 'demo', 'suggest', 'optimize', 'patterns', 'quality-risk', 'simulate'])
      expect(h.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
    const v = cli(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const sub = cli(['alerts', '--help']);
    expect(sub.code).toBe(0);
    expect(sub.stdout).toMatch(/--as-of|Example/);
  });
  test('unknown command, unknown flag, missing file: one line on stderr, exit 2, no stack trace', () => {
    const dir = tempDir();
    for (const args of [['frobnicate'], ['predict', '--bogus'], ['import', 'sales', join(dir, 'missing.csv'), '--db', join(dir, 'x.db')], ['predict', '--db', join(dir, 'none.db')], ['sample', '--products', 'many']]) {
      const r = cli(args);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    expect(existsSync(join(dir, 'none.db'))).toBe(false);
  });
  test('a malformed import row: file:line:column on stderr, exit 2', () => {
    const dir = tempDir();
    const f = join(dir, 's.csv');
    writeFileSync(f, 'date,sku,quantity\n2026-01-01,A,x\n');
    const r = cli(['import', 'sales', f, '--db', join(dir, 'i.db')]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(`error: ${f}:2:3: quantity "x" is not a number`);
  });
  test('sample then db status --json: migrations applied, rows in every data table', () => {
    const dir = tempDir();
    const db = testDb(dir, 's.db');
    expect(cli(['sample', '--db', db, '--products', '15', '--days', '120', '--as-of', '2026-03-01', '-q']).code).toBe(0);
    const r = cli(['db', 'status', '--db', db, '--json']);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.allApplied).toBe(true);
    for (const t of ['products', 'sales', 'stock_levels', 'suppliers', 'price_breaks', 'purchase_orders', 'events', 'sensor_readings']) expect(s.rowCounts[t]).toBeGreaterThan(0);
  });
});

describe('end to end on imported data', () => {
  test('import --columns, train --as-of, predict --horizon 28, export forecasts: 28 rows per series dated D .. D+27', () => {
    const dir = tempDir();
    const db = testDb(dir, 'e2e.db');
    const f = join(dir, 'train.csv');
    // A long-format export like Store Item Demand: 2 stores x 3 items x 500 days, weekly pattern.
    const lines = ['date,store,item,sales'];
    const start = Date.UTC(2016, 0, 1);
    for (let d = 0; d < 500; d++) {
      const date = new Date(start + d * 86400000).toISOString().slice(0, 10);
      for (let s = 1; s <= 2; s++) for (let i = 1; i <= 3; i++) lines.push(`${date},${s},${i},${10 * i + s + (new Date(start + d * 86400000).getUTCDay() === 6 ? 8 : 0) + (d % 3)}`);
    }
    writeFileSync(f, lines.join('\n') + '\n');
    const D = '2017-05-15'; // day 500 is 2017-05-15: history ends the day before
    const base = ['--db', db, '-q'];
    expect(cli(['import', 'sales', f, '--columns', 'sku=item,location=store,quantity=sales', ...base]).code).toBe(0);
    expect(cli(['train', '--as-of', D, ...base]).code).toBe(0);
    expect(cli(['predict', '--as-of', D, '--horizon', '28', ...base]).code).toBe(0);
    const out = cli(['export', 'forecasts', '--format', 'csv', '--as-of', D, ...base]);
    expect(out.code).toBe(0);
    const rows = out.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^sku,location,run_date,date,yhat,yhat_lo,yhat_hi/);
    const body = rows.slice(1).map((r) => r.split(','));
    expect(body).toHaveLength(6 * 28);
    const bySeries = new Map<string, string[]>();
    for (const r of body) {
      expect(r[2]).toBe(D);
      bySeries.set(`${r[0]}@${r[1]}`, [...(bySeries.get(`${r[0]}@${r[1]}`) ?? []), r[3]]);
      expect(Number(r[4])).toBeGreaterThanOrEqual(0);
      expect(Number(r[5])).toBeLessThanOrEqual(Number(r[4]) + 1e-9);
      expect(Number(r[6])).toBeGreaterThanOrEqual(Number(r[4]) - 1e-9);
    }
    expect(bySeries.size).toBe(6);
    for (const dates of bySeries.values()) {
      expect(dates).toHaveLength(28);
      expect(dates[0]).toBe(D);
      expect(dates[27]).toBe('2017-06-11');
    }
  });
});
