// Nightly batch benchmark: `optiflow sample`, `train`, then `batch`, through the
// command line, each timed (wall seconds) with its peak RSS.
//
//   npm run bench:batch -- [--products 250] [--large] [--work DIR] [--json]
//                          [--baseline DIR] [--pg postgres://...] [--only-large]
//   --large adds the 30,000-series run (sample, weekly training, nightly batch).
//   --baseline DIR runs the same steps with another optiflow build (a checkout with
//     its dist/ built), on its own database, in the same run: "no slower than" is a
//     ratio measured under the same load.
//   --pg URL runs the same steps on PostgreSQL too: a fresh database is created on
//     the server the URL names (its user needs CREATEDB), then dropped (kept with
//     --keep-pg, its URL printed, to run the steps again by hand).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { args, printTable } from './lib.js';

const BIN = new URL('../bin/optiflow.js', import.meta.url).pathname;
let bin = BIN;
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;
const AS_OF = '2026-11-23';

function timed(argv) {
  const t0 = performance.now();
  const cmd = TIME ? TIME : process.execPath;
  const full = TIME ? ['-f', 'MAXRSS_KB=%M', process.execPath, bin, ...argv] : [bin, ...argv];
  const r = spawnSync(cmd, full, { encoding: 'utf8', maxBuffer: 1 << 28 });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`optiflow ${argv.join(' ')} failed (${r.status}): ${r.stderr.split('\n').filter((l) => !l.startsWith('MAXRSS')).slice(-3).join(' ')}`);
  const m = /MAXRSS_KB=(\d+)/.exec(r.stderr ?? '');
  return { seconds, rssMb: m ? Math.round(Number(m[1]) / 1024) : null, stdout: r.stdout };
}

/** sample, weekly training, nightly batch on `db` (a file path or a postgres URL) with the build at `binPath`. */
export function benchBatch(products, work, o = {}) {
  bin = o.bin ?? BIN;
  const db = o.db ?? join(work, `bench-${products}${o.tag ? '-' + o.tag.replace(/\W+/g, '-') : ''}.db`);
  const tag = o.tag ? ` (${o.tag})` : '';
  const rows = [];
  const sample = timed(['sample', '--db', db, '--products', String(products), '--as-of', AS_OF, '-q']);
  rows.push({ step: `sample ${products} products x 730 days${tag}`, seconds: sample.seconds, rssMb: sample.rssMb });
  const train = timed(['train', '--db', db, '--as-of', AS_OF, '-q']);
  rows.push({ step: `weekly training, ${products} series${tag}`, seconds: train.seconds, rssMb: train.rssMb });
  const batch = timed(['batch', '--db', db, '--as-of', AS_OF, '--json', '-q']);
  const r = JSON.parse(batch.stdout);
  if (r.status !== 'success') throw new Error(`batch ${r.status}`);
  rows.push({ step: `nightly batch, ${products} series${tag}`, seconds: batch.seconds, rssMb: batch.rssMb ?? r.metrics.memory_peak_mb, jobs: r.steps.map((s) => `${s.name} ${((Date.parse(s.finishedAt) - Date.parse(s.startedAt)) / 1000).toFixed(1)}s`).join(', ') });
  bin = BIN;
  return rows;
}

/** A fresh database on the server `adminUrl` names; returns its URL and a function that drops it. */
async function freshPgDatabase(adminUrl) {
  const { default: pg } = await import('pg');
  const name = `optiflow_bench_${Date.now().toString(36)}`;
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  await c.query(`create database ${name}`);
  await c.end();
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      const d = new pg.Client({ connectionString: adminUrl });
      await d.connect();
      await d.query(`drop database if exists ${name}`);
      await d.end();
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const a = args();
  const work = a.work && a.work !== true ? a.work : mkdtempSync(join(tmpdir(), 'optiflow-bench-'));
  const sizes = [...(a['only-large'] ? [] : [Number(a.products ?? 250)]), ...(a.large || a['only-large'] ? [30000] : [])];
  const rows = [];
  for (const n of sizes) {
    rows.push(...benchBatch(n, work, a.baseline ? { tag: 'this build' } : {}));
    if (a.baseline && a.baseline !== true) rows.push(...benchBatch(n, work, { bin: join(a.baseline, 'bin', 'optiflow.js'), tag: 'baseline build' }));
    if (a.pg && a.pg !== true) {
      const fresh = await freshPgDatabase(a.pg);
      try {
        rows.push(...benchBatch(n, work, { db: fresh.url, tag: 'PostgreSQL' }));
      } finally {
        if (a['keep-pg']) console.error(`PostgreSQL database kept: ${fresh.url}`);
        else await fresh.drop();
      }
    }
  }
  if (a.json) console.log(JSON.stringify(rows, null, 2));
  else printTable(rows.map((r) => ({ step: r.step, 'wall s': r.seconds.toFixed(1), 'peak RSS MB': r.rssMb ?? '-' })));
  for (const r of rows) if (r.jobs) console.error(`${r.step}: ${r.jobs}`);
}
