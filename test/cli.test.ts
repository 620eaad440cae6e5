import { join } from 'node:path';
import { existsSync, writeFileSync } from 'node:fs';
import { cli, tempDir } from './helpers.js';

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
    const db = join(dir, 's.db');
    expect(cli(['sample', '--db', db, '--products', '15', '--days', '120', '--as-of', '2026-03-01', '-q']).code).toBe(0);
    const r = cli(['db', 'status', '--db', db, '--json']);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.allApplied).toBe(true);
    for (const t of ['products', 'sales', 'stock_levels', 'suppliers', 'price_breaks', 'purchase_orders', 'events', 'sensor_readings']) expect(s.rowCounts[t]).toBeGreaterThan(0);
  });
});
