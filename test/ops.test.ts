import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { ROOT, dump, jobCtx, newDb, sampleDb, tempDir, testConfig } from './helpers.js';
import { parsePrometheusText, valueOf } from './prom-text.js';
import { backup, listBackups, restore, rowCounts } from '../src/ops/backup.js';
import { collectSnapshot, metricsText, serveMetrics, writeTextfile } from '../src/ops/metrics.js';
import { runDoctor } from '../src/ops/doctor.js';
import { runBatch } from '../src/batch/batch.js';
import { batchReport } from '../src/ops/batch-report.js';
import { complianceReport } from '../src/ops/compliance.js';
import { maskCommandLine } from '../src/ops/audit.js';
import { stateDir, type Config } from '../src/config.js';
import type { Job } from '../src/jobs/types.js';
import { UsageError } from '../src/errors.js';
import { securityCheck } from '../src/ops/security.js';
import { loadConfig } from '../src/config.js';
import { listAudit } from '../src/ops/audit.js';
import { tenantConfig } from '../src/ops/tenants.js';

const AS_OF = '2026-03-01';

/** A job that commits 10 rows at a time, yielding to the event loop between commits, like a batch job writing its results. */
function writerJob(commits: { n: number }, total: number): Job {
  return {
    name: 'writer', description: 'test writer', dependsOn: [],
    async run(ctx) {
      const ins = ctx.db.sqlite!.prepare(`insert into metrics_history (date, scope, payload) values (?, 'writer', '{}')`);
      for (let k = 0; k < total; k++) {
        ctx.db.sqlite!.transaction(() => { for (let i = 0; i < 10; i++) ins.run(`w${String(k * 10 + i).padStart(6, '0')}`); })();
        commits.n = k + 1;
        await new Promise((r) => setImmediate(r));
      }
      return { summary: { commits: total } };
    },
  };
}

describe('backup and restore', () => {
  test('a backup taken while a batch writes restores to a database that passes integrity_check and equals the source at one moment', async () => {
    const { db, path, dir } = await sampleDb({ products: 6, days: 120, today: AS_OF });
    const ctx = jobCtx(db, AS_OF);
    const before = dump(db, ['products', 'sales', 'stock_levels', 'purchase_orders', 'events']);
    const commits = { n: 0 };
    const batch = runBatch(ctx, { kind: 'nightly', jobs: [writerJob(commits, 400)] });
    while (commits.n < 20) await new Promise((r) => setImmediate(r));
    const atStart = commits.n;
    // One page per step: the copy takes many event-loop turns, during which the batch commits.
    const b = await backup(ctx.config, { keep: 5, pagesPerStep: 1 });
    const atEnd = commits.n;
    const result = await batch;
    expect(result.status).toBe('success');
    expect(atEnd).toBeGreaterThan(atStart); // the batch really wrote during the backup
    expect(b.integrity).toBe('ok');
    expect(existsSync(b.file)).toBe(true);
    expect(existsSync(b.file + '-wal')).toBe(false);
    expect(readdirSync(join(dir, 'backups')).filter((f) => f.includes('partial'))).toEqual([]);

    const target = join(dir, 'restored.db');
    const r = restore({ ...ctx.config, db: target, batch: { ...ctx.config.batch, stateDir: join(dir, 'restored.state') } }, b.file);
    expect(r.replaced).toBeNull();
    const rs = new BetterSqlite3(target, { readonly: true });
    expect(rs.pragma('integrity_check', { simple: true })).toBe('ok');
    // Whole transactions only: exactly the first k commits of the writer, k between the commits seen at start and end.
    const rows = (rs.prepare(`select date from metrics_history where scope = 'writer' order by date`).all() as { date: string }[]).map((x) => x.date);
    expect(rows.length % 10).toBe(0);
    const k = rows.length / 10;
    expect(k).toBeGreaterThanOrEqual(atStart);
    expect(k).toBeLessThanOrEqual(atEnd);
    expect(rows).toEqual(Array.from({ length: rows.length }, (_, i) => `w${String(i).padStart(6, '0')}`));
    // The batch's run was recorded as running at that moment; the data tables equal the source.
    expect((rs.prepare('select status from batch_runs').get() as { status: string }).status).toBe('running');
    const restoredDb = { sqlite: rs } as unknown as Parameters<typeof dump>[0];
    expect(dump(restoredDb, ['products', 'sales', 'stock_levels', 'purchase_orders', 'events'])).toBe(before);
    expect(rowCounts(rs)).toEqual(b.tables);
    rs.close();
    // The state folder went along: the checkpoint of the running batch is in the backup.
    expect(existsSync(join(b.state_dir!, 'checkpoint-nightly.json'))).toBe(true);
    await db.close();
  });

  test('restore refuses an existing database without --force, a damaged backup always; with --force it keeps the replaced file', async () => {
    const { db, path, dir } = await sampleDb({ products: 3, days: 60, today: AS_OF });
    const cfg = testConfig(path, AS_OF);
    const b = await backup(cfg, {});
    db.sqlite!.prepare(`insert into metrics_history (date, scope, payload) values ('after', 'backup', '{}')`).run();
    await db.close();
    expect(() => restore(cfg, b.file)).toThrow(UsageError);
    expect(() => restore(cfg, b.file)).toThrow(/--force/);
    // A damaged copy: a byte range overwritten in the middle of the file.
    const bad = join(dir, 'bad.db');
    copyFileSync(b.file, bad);
    const buf = readFileSync(bad);
    buf.fill(0x5a, 8192, 16384);
    writeFileSync(bad, buf);
    const sizeBefore = statSync(path).size;
    expect(() => restore(cfg, bad, { force: true })).toThrow(/failed verification/);
    expect(statSync(path).size).toBe(sizeBefore);
    const r = restore(cfg, b.file, { force: true });
    expect(r.replaced).not.toBeNull();
    const kept = new BetterSqlite3(r.replaced!, { readonly: true });
    expect(kept.prepare(`select count(*) as n from metrics_history where date = 'after'`).get()).toEqual({ n: 1 });
    kept.close();
    const now = new BetterSqlite3(path, { readonly: true });
    expect(now.prepare(`select count(*) as n from metrics_history where date = 'after'`).get()).toEqual({ n: 0 });
    now.close();
  });

  test('retention keeps the newest N backups, named by date and time', async () => {
    const { db, path } = await sampleDb({ products: 2, days: 30, today: AS_OF });
    await db.close();
    const cfg = testConfig(path, AS_OF);
    const times = ['2026-03-01T01:00:00Z', '2026-03-02T01:00:00Z', '2026-03-03T01:00:00Z'];
    for (const t of times) await backup(cfg, { keep: 2, now: () => new Date(t) });
    expect(listBackups(cfg).map((b) => b.file.split('/').pop())).toEqual(['sample-20260302-010000Z.db', 'sample-20260303-010000Z.db']);
  });
});

/** A database built by hand so every metric has a value worked out beforehand. */
async function metricsDb(dir: string) {
  const path = join(dir, 'm.db');
  const db = await newDb(path);
  const s = db.sqlite!;
  s.exec(`insert into locations (id, code) values (1, 'MAIN');
    insert into products (id, sku, unit_cost, unit_price, active) values (1, 'A', 1, 2, 1), (2, 'B', 1, 2, 1);
    insert into models (id, product_id, location_id, version, algorithm, params, trained_at, train_end, metrics, status) values
      (1, 1, 1, 1, 'ets', '{}', '2026-02-01', '2026-02-01', '{}', 'active'), (2, 2, 1, 1, 'snaive', '{}', '2026-02-01', '2026-02-01', '{}', 'fallback');`);
  // Forecasts issued on 2026-02-27 for 02-28 (yesterday for as-of 03-01): A 10 (sold 8), B 5 (no sale row: 0).
  s.exec(`insert into forecasts (product_id, location_id, run_date, date, model_id, yhat, yhat_lo, yhat_hi, base_yhat, base_lo, base_hi) values
      (1, 1, '2026-02-27', '2026-02-28', 1, 10, 8, 12, 10, 8, 12), (2, 1, '2026-02-27', '2026-02-28', 2, 5, 4, 6, 5, 4, 6);
    insert into sales (product_id, location_id, date, quantity, on_promo) values (1, 1, '2026-02-28', 8, 0);
    insert into stock_levels (product_id, location_id, date, on_hand) values (1, 1, '2026-02-25', 40);
    insert into alerts (product_id, location_id, created_on, severity, kind, message, active) values
      (1, 1, '2026-03-01', 'CRITIQUE', 'stockout', 'm', 1), (2, 1, '2026-03-01', 'CRITIQUE', 'stockout', 'm', 1),
      (2, 1, '2026-03-01', 'ATTENTION', 'stockout', 'm', 1), (2, 1, '2026-02-01', 'CRITIQUE', 'stockout', 'm', 0);
    insert into notifications (channel, payload, created_at, sent_at, error) values
      ('command', '{}', 'x', null, null), ('command', '{}', 'x', null, 'exit 1'), ('command', '{}', 'x', 'y', null);
    insert into batch_runs (id, run_uid, kind, run_date, started_at, finished_at, status) values
      (1, 'r1', 'nightly', '2026-02-28', '2026-02-28T00:05:00.000Z', '2026-02-28T00:06:40.000Z', 'success'),
      (2, 'r2', 'nightly', '2026-03-01', '2026-03-01T00:05:00.000Z', '2026-03-01T00:05:30.000Z', 'failed');
    insert into batch_steps (run_id, step, status, attempts, started_at, finished_at) values
      (2, 'predict', 'success', 1, '2026-03-01T00:05:00.000Z', '2026-03-01T00:05:12.500Z'),
      (2, 'alerts', 'failed', 3, '2026-03-01T00:05:13.000Z', '2026-03-01T00:05:30.000Z');`);
  return { db, path };
}

describe('metrics', () => {
  test('the figures of a hand-built database, in valid Prometheus text', async () => {
    const dir = tempDir();
    const { db, path } = await metricsDb(dir);
    await db.close();
    const cfg = testConfig(path, AS_OF);
    await backup(cfg, { now: () => new Date(Date.now() - 3600_000) });
    const { types, samples } = parsePrometheusText(await metricsText(cfg, 'shop-1'));
    expect(types.get('optiflow_alerts_active')).toBe('gauge');
    const v = (n: string, l: Record<string, string> = {}) => valueOf(samples, n, l);
    expect(v('optiflow_alerts_active', { severity: 'CRITIQUE' })).toBe(2);
    expect(v('optiflow_alerts_active', { severity: 'ATTENTION' })).toBe(1);
    expect(v('optiflow_alerts_active', { severity: 'INFO' })).toBe(0);
    expect(v('optiflow_notifications_pending')).toBe(2);
    expect(v('optiflow_notifications_failed')).toBe(1);
    expect(v('optiflow_series_forecast')).toBe(2);
    expect(v('optiflow_series_fallback')).toBe(1);
    // |10-8| + |5-0| = 7 over 8 sold; bias (2 + 5) / 2.
    expect(v('optiflow_forecast_wape_yesterday')).toBeCloseTo(7 / 8, 10);
    expect(v('optiflow_forecast_bias_yesterday')).toBeCloseTo(3.5, 10);
    expect(v('optiflow_data_freshness_days', { entity: 'sales' })).toBe(0);
    expect(v('optiflow_data_freshness_days', { entity: 'stock' })).toBe(3);
    expect(v('optiflow_batch_last_run_status', { kind: 'nightly', status: 'failed' })).toBe(1);
    expect(v('optiflow_batch_last_run_status', { kind: 'nightly', status: 'success' })).toBe(0);
    expect(v('optiflow_batch_last_run_duration_seconds', { kind: 'nightly' })).toBe(30);
    expect(v('optiflow_batch_last_success_timestamp_seconds', { kind: 'nightly' })).toBe(Date.parse('2026-02-28T00:06:40.000Z') / 1000);
    expect(v('optiflow_batch_job_duration_seconds', { job: 'predict' })).toBe(12.5);
    expect(v('optiflow_batch_job_status', { job: 'alerts', status: 'failed' })).toBe(1);
    expect(v('optiflow_database_size_bytes')).toBeGreaterThan(0);
    const age = v('optiflow_backup_last_age_seconds')!;
    expect(age).toBeGreaterThan(3590);
    expect(age).toBeLessThan(3700);
    expect(samples.every((s) => s.labels.tenant === 'shop-1')).toBe(true);
  });

  test('/metrics on an ephemeral port of 127.0.0.1 parses; the textfile is replaced whole, never read half-written', async () => {
    const dir = tempDir();
    const { db, path } = await metricsDb(dir);
    await db.close();
    const cfg = testConfig(path, AS_OF);
    const server = await serveMetrics(cfg, { port: 0, host: '127.0.0.1' });
    try {
      const a = server.address() as { port: number; address: string };
      expect(a.address).toBe('127.0.0.1');
      const res = await fetch(`http://127.0.0.1:${a.port}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const { samples } = parsePrometheusText(await res.text());
      expect(valueOf(samples, 'optiflow_alerts_active', { severity: 'CRITIQUE' })).toBe(2);
      expect((await fetch(`http://127.0.0.1:${a.port}/other`)).status).toBe(404);
    } finally {
      await new Promise((r) => server.close(r));
    }
    const file = join(stateDir(cfg), 'metrics.prom');
    let reads = 0;
    let done = false;
    const writes = Promise.all(Array.from({ length: 8 }, () => writeTextfile(cfg))).then(() => (done = true));
    while (!done) {
      if (existsSync(file)) {
        parsePrometheusText(readFileSync(file, 'utf8')); // throws on a torn file
        expect(readFileSync(file, 'utf8')).toMatch(/optiflow_metrics_generated_timestamp_seconds \S+\n$/);
        reads++;
      }
      await new Promise((r) => setImmediate(r));
    }
    await writes;
    expect(reads).toBeGreaterThan(0);
    expect(readdirSync(stateDir(cfg)).filter((f) => f !== 'metrics.prom')).toEqual([]);
    expect(statSync(file).mode & 0o777).toBe(0o644);
  });
});

describe('doctor', () => {
  const deadPid = () => spawnSync(process.execPath, ['-e', '']).pid!;
  const status = (r: Awaited<ReturnType<typeof runDoctor>>, check: string) => r.checks.find((c) => c.check === check);

  test('detects each known failure cause and names the command that fixes it', async () => {
    const dir = tempDir();
    const { db, path } = await sampleDb({ products: 3, days: 90, today: AS_OF }, dir);
    const cfg = testConfig(path, AS_OF);
    const big = () => 50 * 1024 ** 3;
    const base = await runDoctor(cfg, { freeBytes: big });
    for (const c of ['state folder', 'stale lock', 'sales data', 'stock data', 'models rejected', 'notification channel', 'disk space', 'backend']) expect(status(base, c)?.status).toBe('ok');

    // State folder of another database: a batch of database B left its checkpoint in A's state folder.
    const other = await newDb(join(dir, 'other.db'));
    const shared: Partial<Config> = { batch: { ...cfg.batch, stateDir: stateDir(cfg) } };
    const noop: Job = { name: 'noop', description: '', dependsOn: [], run: async () => ({ summary: {} }) };
    await runBatch(jobCtx(other, AS_OF, shared), { kind: 'nightly', jobs: [noop] });
    await other.close();
    let r = await runDoctor(cfg, { freeBytes: big });
    expect(status(r, 'state folder')).toMatchObject({ status: 'fail' });
    expect(status(r, 'state folder')!.fix).toContain(`mv ${stateDir(cfg)} `);
    expect(r.exitCode).toBe(2);

    // Stale lock: a lock file left by a process that is gone.
    mkdirSync(join(dir, 'fresh-state'));
    const c2 = testConfig(path, AS_OF, { batch: { ...cfg.batch, stateDir: join(dir, 'fresh-state') } });
    writeFileSync(join(dir, 'fresh-state', 'batch.lock'), JSON.stringify({ pid: deadPid(), host: hostname(), startedAt: 'then', runId: 'starting' }));
    r = await runDoctor(c2, { freeBytes: big });
    expect(status(r, 'stale lock')).toMatchObject({ status: 'warn' });
    expect(status(r, 'stale lock')!.fix).toContain('batch.lock');

    // Data older than --as-of: ten days without sales before "today".
    r = await runDoctor({ ...cfg, asOf: '2026-03-11', batch: c2.batch }, { freeBytes: big });
    expect(status(r, 'sales data')).toMatchObject({ status: 'fail' });
    expect(status(r, 'sales data')!.fix).toContain('optiflow import sales');

    // Disk nearly full.
    r = await runDoctor(cfg, { freeBytes: () => 50 * 1048576 });
    expect(status(r, 'disk space')).toMatchObject({ status: 'fail' });

    // No stock data; every model rejected; a failing notification channel.
    db.sqlite!.exec(`delete from stock_levels;
      insert into models (product_id, location_id, version, algorithm, params, trained_at, train_end, metrics, status) select id, 1, 1, 'ets', '{}', '2026-02-01', '2026-02-01', '{}', 'rejected' from products;
      insert into notifications (channel, payload, created_at, error) values ('command', '{}', 'x', 'command exited 127: not found');`);
    r = await runDoctor({ ...cfg, batch: c2.batch }, { freeBytes: big });
    expect(status(r, 'stock data')).toMatchObject({ status: 'fail', fix: 'optiflow import stock <stock.csv>' });
    expect(status(r, 'models rejected')).toMatchObject({ status: 'fail' });
    expect(status(r, 'models rejected')!.fix).toContain('optiflow train --force');
    expect(status(r, 'notification channel')).toMatchObject({ status: 'fail' });
    expect(status(r, 'notification channel')!.detail).toContain('exited 127');
    r = await runDoctor({ ...cfg, notify: { channel: 'command', target: 'mail-me' } }, { freeBytes: big });
    expect(status(r, 'notification channel')!.detail).toContain('not an absolute path');

    // A backend forced but not installed.
    process.env.OPTIFLOW_TF_BACKEND = 'node-gpu';
    try {
      r = await runDoctor(cfg, { freeBytes: big });
    } finally {
      delete process.env.OPTIFLOW_TF_BACKEND;
    }
    expect(status(r, 'backend')).toMatchObject({ status: 'warn' });
    await db.close();
  });
});

describe('batch report, compliance, audit masking', () => {
  test('batch report: durations per job, least-squares trend, the job that grew most, the last run by job', async () => {
    const db = await newDb(join(tempDir(), 'r.db'));
    const s = db.sqlite!;
    // predict: 10, 12, 14, 16 s (slope 2 s/run, growth (14+16)/2 - (10+12)/2 = 4); alerts: 5, 5, 6, 5.
    const pred = [10, 12, 14, 16];
    const alerts = [5, 5, 6, 5];
    pred.forEach((p, i) => {
      const t0 = Date.parse(`2026-03-0${i + 1}T00:00:00Z`);
      const iso = (ms: number) => new Date(t0 + ms).toISOString();
      s.prepare(`insert into batch_runs (id, run_uid, kind, run_date, started_at, finished_at, status) values (?, ?, 'nightly', ?, ?, ?, 'success')`).run(i + 1, `r${i}`, `2026-03-0${i + 1}`, iso(0), iso((p + alerts[i]) * 1000));
      s.prepare(`insert into batch_steps (run_id, step, status, attempts, started_at, finished_at) values (?, 'predict', 'success', 1, ?, ?), (?, 'alerts', 'success', 1, ?, ?)`).run(i + 1, iso(0), iso(p * 1000), i + 1, iso(p * 1000), iso((p + alerts[i]) * 1000));
    });
    const r = await batchReport(db.kysely, { runs: 3 });
    expect(r.runs.map((x) => x.run_date)).toEqual(['2026-03-02', '2026-03-03', '2026-03-04']);
    const p = r.jobs.find((j) => j.job === 'predict')!;
    expect(p.durations).toEqual([12, 14, 16]);
    expect(p.slope_seconds_per_run).toBeCloseTo(2, 10);
    expect(p.growth_seconds).toBeCloseTo(4, 10); // newer half (16) - older half (12), one run each
    expect(r.grew_most?.job).toBe('predict');
    expect(r.last_run!.jobs[0]).toMatchObject({ job: 'predict', seconds: 16 });
    expect(r.last_run!.jobs[0].share).toBeCloseTo(16 / 21, 10);
    await db.close();
  });

  test('compliance: rows older than their rule, a batch run the audit trail misses, an e-mail and a phone number in a free-text field', async () => {
    const db = await newDb(join(tempDir(), 'c.db'));
    const s = db.sqlite!;
    const cfg = testConfig(db.location, AS_OF);
    let r = await complianceReport(db, cfg);
    expect(r.retention.find((x) => x.table === 'alerts')!.older_than_rule).toBe(0);
    s.exec(`insert into locations (id, code) values (1, 'MAIN'); insert into products (id, sku, name, unit_cost, unit_price, active) values (1, 'A', 'ask jane.doe@example.com', 1, 2, 1), (2, 'B', 'call +33 6 12 34 56 78', 1, 2, 1), (3, 'C', 'lot 2026-03-01 12:00', 1, 2, 1);
      insert into alerts (product_id, location_id, created_on, severity, kind, message, active) values (1, 1, '2025-01-01', 'INFO', 'overstock', 'm', 0);`);
    // An audited batch, then a batch run no audited command covers (killed before it could record its end).
    s.exec(`insert into audit_log (os_user, host, pid, command, command_line, started_at, finished_at, outcome, exit_code) values ('op', 'h', 1, 'batch', 'optiflow batch', '2026-02-28T00:05:00Z', '2026-02-28T00:07:00Z', 'ok', 0);
      insert into batch_runs (run_uid, kind, run_date, started_at, finished_at, status) values ('a', 'nightly', '2026-02-28', '2026-02-28T00:05:01Z', '2026-02-28T00:06:59Z', 'success');`);
    expect((await complianceReport(db, cfg)).audit).toMatchObject({ complete: true, batch_runs_without_entry: 0 });
    s.exec(`insert into batch_runs (run_uid, kind, run_date, started_at, status) values ('b', 'nightly', '2026-03-01', '2026-03-01T00:05:01Z', 'running');`);
    r = await complianceReport(db, cfg);
    expect(r.retention.find((x) => x.table === 'alerts')!.older_than_rule).toBe(1);
    // The e-mail and the phone number; not the date.
    expect(r.personal_data.find((x) => x.column === 'products.name')).toMatchObject({ non_empty: 3, looks_personal: 2 });
    expect(r.audit.complete).toBe(false);
    expect(r.audit.batch_runs_without_entry).toBe(1);
    expect(r.exitCode).toBe(1);
    await db.close();
  });

  test('secrets are masked in the recorded command line', () => {
    expect(maskCommandLine(['export', 'sales', '--db', 'postgres://app:s3cret@db.local:5432/optiflow'])).toBe('optiflow export sales --db postgres://app:***@db.local:5432/optiflow');
    expect(maskCommandLine(['notify', '--token', 'abc123', '--api-key=xyz', 'x?password=pw&user=u'])).toBe('optiflow notify --token *** --api-key=*** x?password=***&user=u');
    expect(maskCommandLine(['import', 'sales', 'my file.csv'])).toBe('optiflow import sales "my file.csv"');
  });
});

describe('dashboard and alert rules', () => {
  test('every optiflow metric the Grafana dashboard and the alert rules use is one optiflow emits', async () => {
    const dir = tempDir();
    const { db, path } = await metricsDb(dir);
    await db.close();
    const { types } = parsePrometheusText(await metricsText(testConfig(path, AS_OF)));
    const used = (f: string) => [...new Set(readFileSync(join(ROOT, f), 'utf8').match(/optiflow_[a-z_]+/g) ?? [])];
    const dash = used('docs/grafana/optiflow-dashboard.json');
    const rules = used('docs/prometheus/optiflow-alerts.yml');
    expect(dash.length).toBeGreaterThan(10);
    expect(rules.length).toBeGreaterThan(4);
    expect([...dash, ...rules].filter((m) => !types.has(m))).toEqual([]);
    JSON.parse(readFileSync(join(ROOT, 'docs/grafana/optiflow-dashboard.json'), 'utf8'));
  });
});

describe('security-check and the implicit config rule', () => {
  test('security-check: a world-readable database, a relative notify command, a password in the config; none once fixed', async () => {
    const dir = tempDir();
    const path = join(dir, 's.db');
    await (await newDb(path)).close();
    chmodSync(path, 0o644);
    const cfgFile = join(dir, 'c.json');
    const data = { notify: { channel: 'command', target: 'notify-team' }, db: 'postgres://u:pw@h/d' };
    writeFileSync(cfgFile, JSON.stringify(data));
    chmodSync(cfgFile, 0o600);
    const cfg = testConfig(path, AS_OF, { notify: { channel: 'command', target: 'notify-team' } });
    let r = securityCheck(cfg, cfgFile, data);
    expect(r.exitCode).toBe(1);
    expect(r.findings).toEqual(expect.arrayContaining([
      expect.objectContaining({ what: 'database', level: 'error', path }),
      expect.objectContaining({ what: 'notify command', level: 'error', path: 'notify-team' }),
      expect.objectContaining({ what: 'config secret', detail: 'db holds a URL with a password' }),
    ]));
    chmodSync(path, 0o640);
    const fixed = { notify: { channel: 'command', target: process.execPath } };
    writeFileSync(cfgFile, JSON.stringify(fixed));
    r = securityCheck({ ...cfg, notify: fixed.notify }, cfgFile, fixed);
    expect(r.findings.map((f) => [f.what, f.level])).toEqual([['database', 'warn']]); // group may read: a warning only
    expect(r.exitCode).toBe(0);
    // PostgreSQL backups are pg_dump's: a clear refusal (exit 2), nothing written.
    await expect(backup({ ...cfg, db: 'postgres://u:pw@127.0.0.1:1/x' })).rejects.toThrow(/pg_dump/);
  });

  test('a config found in the current folder may set notify.target only when its owner alone can write it', () => {
    const dir = tempDir();
    const file = join(dir, 'optiflow.config.json');
    writeFileSync(file, JSON.stringify({ notify: { channel: 'command', target: '/bin/sh -c "touch pwned"' } }));
    chmodSync(file, 0o666);
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      expect(() => loadConfig({}, {})).toThrow(/notify\.target.*writable by everyone.*chmod go-w/);
      chmodSync(file, 0o620);
      expect(() => loadConfig({}, {})).toThrow(/writable by its group/);
      // Named explicitly it is the operator's choice; private, it is accepted.
      expect(loadConfig({ config: file }, {}).notify.target).toContain('touch');
      chmodSync(file, 0o600);
      expect(loadConfig({}, {}).notify.target).toContain('touch');
      // Without notify.target a shared config is read as before.
      writeFileSync(file, JSON.stringify({ horizon: 14 }));
      chmodSync(file, 0o666);
      expect(loadConfig({}, {}).horizon).toBe(14);
    } finally {
      process.chdir(cwd);
    }
  });

  test('the audit trail lists from a date; tenants resolve every file under their own folder', async () => {
    const db = await newDb(join(tempDir(), 'a.db'));
    db.sqlite!.exec(`insert into audit_log (os_user, host, pid, command, command_line, started_at, finished_at, outcome, exit_code) values
      ('op', 'h', 1, 'import', 'optiflow import sales s.csv', '2026-02-27T10:00:00Z', '2026-02-27T10:00:01Z', 'ok', 0),
      ('op', 'h', 2, 'batch', 'optiflow batch', '2026-03-01T00:05:00Z', '2026-03-01T00:06:00Z', 'failed', 1)`);
    expect((await listAudit(db.kysely, '2026-03-01')).map((r) => r.command)).toEqual(['batch']);
    expect((await listAudit(db.kysely)).map((r) => r.command)).toEqual(['import', 'batch']);
    await db.close();
    const root = tempDir();
    mkdirSync(join(root, 'shop-a'));
    const shared = { ...testConfig(join(root, 'x.db'), AS_OF), tenants: { root }, logFile: '/var/log/optiflow.log', metrics: { textfile: '/tmp/tf/optiflow.prom', textfileMode: '0644' } };
    shared.batch.stateDir = '/var/lib/optiflow-state';
    const t = tenantConfig(shared, 'shop-a', false);
    expect(t.db).toBe(join(root, 'shop-a', 'optiflow.db'));
    expect(stateDir(t).startsWith(join(root, 'shop-a'))).toBe(true);
    expect(t.logFile).toBeNull();
    expect(t.metrics.textfile).toBe('/tmp/tf/optiflow-shop-a.prom');
    expect(() => tenantConfig(shared, 'shop-a', true)).toThrow(/--db/);
  });
});
