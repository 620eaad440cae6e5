import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { BIN, cli, fileHash, tempDir, testConfig } from './helpers.js';
import { checkTenantName, createTenant, listTenants } from '../src/ops/tenants.js';
import { UsageError } from '../src/errors.js';
import { DEFAULTS, stateDir } from '../src/config.js';
import { parsePrometheusText, valueOf } from './prom-text.js';

const AS_OF = '2026-03-01';

describe('tenants', () => {
  test('two tenants, one batch each: no crossover; a broken tenant does not stop the others and is named', async () => {
    const root = tempDir();
    const env = { OPTIFLOW_TENANTS_ROOT: root };
    const cfg = { ...testConfig(join(root, 'none.db'), AS_OF), tenants: { root } };
    for (const t of ['bravo', 'charlie']) await createTenant(cfg, t);
    await expect(createTenant(cfg, 'bravo')).rejects.toThrow(/already exists/);
    expect(() => checkTenantName('../escape')).toThrow(UsageError);
    expect(cli(['sample', '--tenant', 'bravo', '--products', '3', '--days', '90', '--seed', '1', '--as-of', AS_OF, '-q'], { env }).code).toBe(0);
    expect(cli(['sample', '--tenant', 'charlie', '--products', '5', '--days', '90', '--seed', '2', '--as-of', AS_OF, '-q'], { env }).code).toBe(0);
    // A product only bravo has.
    const csv = join(root, 'p.csv');
    writeFileSync(csv, 'sku,name,unit_cost,unit_price\nONLY-BRAVO,x,1,2\n');
    expect(cli(['import', 'products', csv, '--tenant', 'bravo', '-q'], { env }).code).toBe(0);
    // A tenant whose database is damaged, first in the order.
    mkdirSync(join(root, 'alpha'));
    writeFileSync(join(root, 'alpha', 'optiflow.db'), 'this is not a database'.repeat(100));

    const r = cli(['batch', '--all-tenants', '--only', 'predict', '--as-of', AS_OF, '--json', '-q'], { env });
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.failed).toEqual(['alpha']);
    expect(out.tenants.map((t: { tenant: string; status: string }) => [t.tenant, t.status])).toEqual([['alpha', 'failed'], ['bravo', 'success'], ['charlie', 'success']]);

    const open = (t: string) => new BetterSqlite3(join(root, t, 'optiflow.db'), { readonly: true });
    const b = open('bravo');
    const c = open('charlie');
    const skus = (s: BetterSqlite3.Database) => (s.prepare('select sku from products order by sku').all() as { sku: string }[]).map((x) => x.sku);
    expect(skus(b)).toContain('ONLY-BRAVO');
    expect(skus(c)).not.toContain('ONLY-BRAVO');
    const series = (s: BetterSqlite3.Database) => (s.prepare('select count(distinct product_id) as n from forecasts').get() as { n: number }).n;
    expect(series(b)).toBe(3); // 3 active sampled products; the imported one has no history
    expect(series(c)).toBe(5);
    // Each tenant's batch ran once, on its own database, with its own state folder and checkpoint.
    const runs = (s: BetterSqlite3.Database) => (s.prepare('select run_uid from batch_runs').all() as { run_uid: string }[]).map((x) => x.run_uid);
    expect(runs(b)).toHaveLength(1);
    expect(runs(c)).toHaveLength(1);
    expect(runs(b)[0]).not.toBe(runs(c)[0]);
    for (const [t, s] of [['bravo', b], ['charlie', c]] as const) {
      const cps = readdirSync(join(root, t), { recursive: true }).map(String).filter((f) => f.endsWith('checkpoint-nightly.json'));
      expect(cps).toHaveLength(1);
      const cp = JSON.parse(readFileSync(join(root, t, cps[0]), 'utf8'));
      expect(runs(s)).toContain(cp.runId);
    }
    b.close();
    c.close();
    expect((await listTenants(cfg)).map((t) => t.tenant)).toEqual(['alpha', 'bravo', 'charlie']);
    expect(cli(['predict', '--tenant', 'bravo', '--db', join(root, 'x.db')], { env }).code).toBe(2);
    const unknown = cli(['predict', '--tenant', 'delta'], { env });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('optiflow tenants create delta');
    const rm = cli(['tenants', 'remove', 'charlie', '--json'], { env });
    expect(rm.code).toBe(0);
    expect(existsSync(JSON.parse(rm.stdout).kept_in)).toBe(true);
    expect(existsSync(join(root, 'charlie'))).toBe(false);
  });
});

describe('audit trail and private files', () => {
  test('commands that changed the database are recorded with user, masked command line and outcome; a refusal leaves the file untouched', () => {
    const dir = tempDir();
    const db = join(dir, 'a.db');
    expect(cli(['init', '--db', db, '-q']).code).toBe(0);
    const csv = join(dir, 'p.csv');
    writeFileSync(csv, 'sku,name,unit_cost,unit_price\nA,a,1,2\n');
    expect(cli(['import', 'products', csv, '--db', db, '-q']).code).toBe(0);
    const before = fileHash(db);
    expect(cli(['import', 'sales', join(dir, 'missing.csv'), '--db', db]).code).toBe(2);
    expect(cli(['export', 'products', '--db', db]).code).toBe(0);
    expect(fileHash(db)).toBe(before);
    const r = cli(['audit', '--db', db, '--json']);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as { command: string; outcome: string; exit_code: number; os_user: string; command_line: string; finished_at: string }[];
    expect(rows.map((x) => [x.command, x.outcome, x.exit_code])).toEqual([['init', 'ok', 0], ['import', 'ok', 0]]);
    expect(rows[0].os_user.length).toBeGreaterThan(0);
    expect(rows[1].command_line).toBe(`optiflow import products ${csv} --db ${db} -q`);
    expect(rows[1].finished_at >= rows[0].finished_at).toBe(true);
    // Files optiflow created are private.
    expect(statSync(db).mode & 0o777).toBe(0o600);
  });
});

describe('metrics serve and batch report on the command line', () => {
  test('`metrics serve --port 0` answers /metrics on 127.0.0.1 with valid Prometheus text; a batch writes the textfile', async () => {
    const dir = tempDir();
    const db = join(dir, 'm.db');
    expect(cli(['sample', '--db', db, '--products', '3', '--days', '60', '--as-of', AS_OF, '-q']).code).toBe(0);
    expect(cli(['batch', '--db', db, '--only', 'predict', '--as-of', AS_OF, '-q']).code).toBe(0);
    const prom = join(stateDir({ ...DEFAULTS, db }), 'metrics.prom');
    expect(existsSync(prom)).toBe(true);
    const child = spawn(process.execPath, [BIN, 'metrics', 'serve', '--port', '0', '--db', db, '--as-of', AS_OF, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const line = await new Promise<string>((res, rej) => {
        let buf = '';
        child.stdout.on('data', (d) => {
          buf += d;
          if (buf.includes('\n')) res(buf.split('\n')[0]);
        });
        child.on('exit', (c) => rej(new Error(`exited ${c}`)));
      });
      const { url, port } = JSON.parse(line);
      expect(url).toBe(`http://127.0.0.1:${port}/metrics`);
      const text = await (await fetch(url)).text();
      const { samples } = parsePrometheusText(text);
      expect(valueOf(samples, 'optiflow_series_forecast')).toBe(3);
      expect(valueOf(samples, 'optiflow_batch_last_run_status', { kind: 'nightly', status: 'success' })).toBe(1);
    } finally {
      child.kill('SIGTERM');
    }
    const rep = cli(['batch', 'report', '--db', db, '--json']);
    expect(rep.code).toBe(0);
    expect(JSON.parse(rep.stdout).last_run.jobs.map((j: { job: string }) => j.job)).toEqual(['predict']);
  });
});
