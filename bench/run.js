// All benchmarks, one table: forecast accuracy and speed (Store Item Demand),
// the nightly batch (sample defaults; 30,000 series with --large), weekly
// training, `suggest` latency, and the replenishment simulation.
//
//   npm run bench -- --data <path to store-item-demand/train.csv> [--large] [--skip-prophet]
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { args, printTable } from './lib.js';
import { benchBatch } from './batch.js';
import { benchSuggest } from './suggest.js';

const a = args();
const rows = [];
const here = new URL('.', import.meta.url).pathname;
const BIN = new URL('../bin/optiflow.js', import.meta.url).pathname;

if (a.data && a.data !== true) {
  const r = spawnSync(process.execPath, [join(here, 'forecast.js'), '--data', a.data, '--families', 'none', '--json', '--no-write', ...(a['skip-prophet'] ? ['--skip-prophet'] : [])], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(r.stderr);
  const res = JSON.parse(r.stdout).sets.find((s) => s.name === 'Store Item Demand').rows;
  const ours = res.find((x) => x.model === 'optiflow');
  const refs = res.filter((x) => x.model !== 'optiflow');
  const best = refs.reduce((m, x) => (Number(x['mean RMSSE']) < Number(m['mean RMSSE']) ? x : m));
  const prophet = res.find((x) => x.model === 'Prophet (multiplicative)');
  rows.push({ what: 'forecast accuracy, Store Item Demand, 6 windows (mean RMSSE)', target: '>= 5 % below the best reference', measured: `${ours['mean RMSSE']} (best reference ${best.model} ${best['mean RMSSE']}; ratio ${ours['vs best ref']})` });
  rows.push({ what: 'forecast fit+forecast speed vs Prophet, same run', target: '>= 100x', measured: prophet ? `${ours['speed vs Prophet']} (${ours.seconds} s vs ${prophet.seconds} s)` : 'skipped' });
} else console.error('bench: no --data given; skipping the Store Item Demand forecast benchmark');

const work = mkdtempSync(join(tmpdir(), 'optiflow-bench-'));
const small = benchBatch(250, work);
rows.push({ what: 'nightly batch, sample defaults (250 x 730)', target: '< 5 s wall', measured: `${small[2].seconds.toFixed(1)} s, ${small[2].rssMb ?? '-'} MB` });
rows.push({ what: 'weekly training, 250 series', target: '-', measured: `${small[1].seconds.toFixed(1)} s` });
const s = await benchSuggest(join(work, 'bench-250.db'));
rows.push({ what: 'suggest, warm, 1,000 calls', target: 'p99 < 20 ms', measured: `p99 ${s.p99.toFixed(2)} ms, p50 ${s.p50.toFixed(2)} ms` });
const sim = spawnSync(process.execPath, [BIN, 'simulate', '--db', join(work, 'bench-250.db'), '--as-of', '2026-11-23', '--json', '-q'], { encoding: 'utf8', maxBuffer: 1 << 26 });
if (sim.status === 0) {
  const r = JSON.parse(sim.stdout).rows;
  const o = r.find((x) => x.policy === 'optiflow');
  const m = r.find((x) => x.policy === 'minmax');
  const line = (x) => `fill ${(x.fill_rate * 100).toFixed(1)} %, total cost ${x.total_cost}, orders ${x.orders}, avg stock ${x.avg_stock_value}`;
  rows.push({ what: 'simulate, last 180 days: optiflow policy', target: 'fill >= 97 % and >= min/max, lower total cost, orders <= 1.5x min/max', measured: `${line(o)} (orders ${(o.orders / m.orders).toFixed(2)}x min/max)` });
  rows.push({ what: 'simulate, last 180 days: static min/max', target: '-', measured: line(m) });
}
if (a.large) {
  const big = benchBatch(30000, work);
  rows.push({ what: 'sample 30,000 products x 730 days', target: '< 120 s, < 1 GB', measured: `${big[0].seconds.toFixed(1)} s, ${big[0].rssMb ?? '-'} MB` });
  rows.push({ what: 'weekly training, 30,000 series x 730 days', target: '< 300 s', measured: `${big[1].seconds.toFixed(1)} s, ${big[1].rssMb ?? '-'} MB` });
  rows.push({ what: 'nightly batch, 30,000 series x 730 days', target: '< 60 s, < 1 GB', measured: `${big[2].seconds.toFixed(1)} s, ${big[2].rssMb ?? '-'} MB` });
  console.error(`30,000-series batch jobs: ${big[2].jobs}`);
}
printTable(rows);
