import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { BIN, cli, tempDir } from './helpers.js';
import { parsePrometheusText, valueOf } from './prom-text.js';

const AS_OF = '2026-03-01';

describe('tenants', () => {
  test('two tenants, one batch each: no crossover; a broken tenant does not stop the others and is named', () => {
    const root = tempDir();
    const env = { OPTIFLOW_TENANTS_ROOT: root };
    for (const t of ['bravo', 'charlie']) expect(cli(['tenants', 'create', t], { env }).code).toBe(0);
    expect(cli(['tenants', 'create', 'bravo'], { env }).code).toBe(2);
    expect(cli(['tenants', 'create', '../escape'], { env }).code).toBe(2);
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
    const list = JSON.parse(cli(['tenants', 'list', '--json'], { env }).stdout);
    expect(list.map((t: { tenant: string }) => t.tenant)).toEqual(['alpha', 'bravo', 'charlie']);
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

describe('audit trail, security-check, private files', () => {
  test('data-changing commands are recorded with user, masked command line and outcome; read-only ones are not', () => {
    const dir = tempDir();
    const db = join(dir, 'a.db');
    expect(cli(['init', '--db', db, '-q']).code).toBe(0);
    expect(cli(['import', 'sales', join(dir, 'missing.csv'), '--db', db]).code).toBe(2);
    expect(cli(['export', 'products', '--db', db]).code).toBe(0);
    expect(cli(['cleanup', '--db', db, '--as-of', AS_OF, '-q']).code).toBe(0);
    const r = cli(['audit', '--db', db, '--json']);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as { command: string; outcome: string; exit_code: number; os_user: string; command_line: string }[];
    expect(rows.map((x) => [x.command, x.outcome, x.exit_code])).toEqual([['init', 'ok', 0], ['import', 'refused', 2], ['cleanup', 'ok', 0]]);
    expect(rows[0].os_user.length).toBeGreaterThan(0);
    expect(rows[1].command_line).toBe(`optiflow import sales ${join(dir, 'missing.csv')} --db ${db}`);
    expect(JSON.parse(cli(['audit', '--db', db, '--json', '--since', '2999-01-01']).stdout)).toEqual([]);
    // Files optiflow created are private: the database and the state folder.
    expect(statSync(db).mode & 0o777).toBe(0o600);
  });

  test('security-check: world-readable database, relative notify command; exit 1, then 0 once fixed', () => {
    const dir = tempDir();
    const db = join(dir, 's.db');
    expect(cli(['init', '--db', db, '-q']).code).toBe(0);
    chmodSync(db, 0o644);
    const cfg = join(dir, 'c.json');
    writeFileSync(cfg, JSON.stringify({ notify: { channel: 'command', target: 'notify-team' }, db: 'postgres://u:pw@h/d' }));
    chmodSync(cfg, 0o600);
    let r = cli(['security-check', '--config', cfg, '--db', db, '--json']);
    expect(r.code).toBe(1);
    const f = JSON.parse(r.stdout).findings as { what: string; level: string; path: string; detail: string }[];
    expect(f).toEqual(expect.arrayContaining([
      expect.objectContaining({ what: 'database', level: 'error', path: db }),
      expect.objectContaining({ what: 'notify command', level: 'error' }),
      expect.objectContaining({ what: 'config secret', detail: 'db holds a URL with a password' }),
    ]));
    chmodSync(db, 0o600);
    // PostgreSQL backups are pg_dump's: a clear refusal, nothing written.
    const pgb = cli(['backup', '--db', 'postgres://u:pw@127.0.0.1:1/x']);
    expect(pgb.code).toBe(2);
    expect(pgb.stderr).toContain('pg_dump');
    writeFileSync(cfg, JSON.stringify({ notify: { channel: 'command', target: process.execPath } }));
    r = cli(['security-check', '--config', cfg, '--db', db, '--json']);
    expect(JSON.parse(r.stdout).findings).toEqual([]);
    expect(r.code).toBe(0);
  });

  test('a config found in the current folder may not set notify.target when others can write it', () => {
    const dir = tempDir();
    const db = join(dir, 'n.db');
    expect(cli(['init', '--db', db, '-q']).code).toBe(0);
    const cfg = join(dir, 'optiflow.config.json');
    writeFileSync(cfg, JSON.stringify({ notify: { channel: 'command', target: '/bin/sh -c "touch pwned"' } }));
    chmodSync(cfg, 0o666);
    const r = cli(['health', '--db', db], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/notify\.target.*writable by everyone.*chmod go-w/);
    // Named explicitly, it is the operator's choice; kept private, it is accepted.
    expect(cli(['health', '--db', db, '--config', cfg], { cwd: dir }).code).not.toBe(2);
    chmodSync(cfg, 0o600);
    expect(cli(['health', '--db', db], { cwd: dir }).code).not.toBe(2);
  });
});

describe('metrics serve and batch report on the command line', () => {
  test('`metrics serve --port 0` answers /metrics on 127.0.0.1 with valid Prometheus text; a batch writes the textfile', async () => {
    const dir = tempDir();
    const db = join(dir, 'm.db');
    expect(cli(['sample', '--db', db, '--products', '3', '--days', '60', '--as-of', AS_OF, '-q']).code).toBe(0);
    expect(cli(['batch', '--db', db, '--only', 'predict', '--as-of', AS_OF, '-q']).code).toBe(0);
    const prom = join(dir, '.optiflow', 'metrics.prom');
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
