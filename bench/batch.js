// Nightly batch benchmark: `optiflow sample`, `train`, then `batch`, through the
// command line, each timed (wall seconds) with its peak RSS.
//
//   npm run bench:batch -- [--products 250] [--large] [--work DIR] [--json]
//   --large adds the 30,000-series run (sample, weekly training, nightly batch).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { args, printTable } from './lib.js';

const BIN = new URL('../bin/optiflow.js', import.meta.url).pathname;
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;
const AS_OF = '2026-11-23';

function timed(argv) {
  const t0 = performance.now();
  const cmd = TIME ? TIME : process.execPath;
  const full = TIME ? ['-f', 'MAXRSS_KB=%M', process.execPath, BIN, ...argv] : [BIN, ...argv];
  const r = spawnSync(cmd, full, { encoding: 'utf8', maxBuffer: 1 << 28 });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`optiflow ${argv.join(' ')} failed (${r.status}): ${r.stderr.split('\n').filter((l) => !l.startsWith('MAXRSS')).slice(-3).join(' ')}`);
  const m = /MAXRSS_KB=(\d+)/.exec(r.stderr ?? '');
  return { seconds, rssMb: m ? Math.round(Number(m[1]) / 1024) : null, stdout: r.stdout };
}

export function benchBatch(products, work) {
  const db = join(work, `bench-${products}.db`);
  const rows = [];
  const sample = timed(['sample', '--db', db, '--products', String(products), '--as-of', AS_OF, '-q']);
  rows.push({ step: `sample ${products} products x 730 days`, seconds: sample.seconds, rssMb: sample.rssMb });
  const train = timed(['train', '--db', db, '--as-of', AS_OF, '-q']);
  rows.push({ step: `weekly training, ${products} series`, seconds: train.seconds, rssMb: train.rssMb });
  const batch = timed(['batch', '--db', db, '--as-of', AS_OF, '--json', '-q']);
  const r = JSON.parse(batch.stdout);
  if (r.status !== 'success') throw new Error(`batch ${r.status}`);
  rows.push({ step: `nightly batch, ${products} series`, seconds: batch.seconds, rssMb: batch.rssMb ?? r.metrics.memory_peak_mb, jobs: r.steps.map((s) => `${s.name} ${((Date.parse(s.finishedAt) - Date.parse(s.startedAt)) / 1000).toFixed(1)}s`).join(', ') });
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const a = args();
  const work = a.work && a.work !== true ? a.work : mkdtempSync(join(tmpdir(), 'optiflow-bench-'));
  const rows = benchBatch(Number(a.products ?? 250), work);
  if (a.large) rows.push(...benchBatch(30000, work));
  if (a.json) console.log(JSON.stringify(rows, null, 2));
  else printTable(rows.map((r) => ({ step: r.step, 'wall s': r.seconds.toFixed(1), 'peak RSS MB': r.rssMb ?? '-' })));
  for (const r of rows) if (r.jobs) console.error(`${r.step}: ${r.jobs}`);
}
