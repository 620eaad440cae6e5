// `suggest` latency, in process, warm: 1,000 calls on random series of a sample
// database after 100 warm-up calls; p50 and p99 in milliseconds.
//
//   npm run bench:suggest -- [--db existing.db] [--calls 1000] [--json]
import { mkdtempSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { args, printTable } from './lib.js';
import { openDb } from '../dist/src/db/connection.js';
import { suggestOrder } from '../dist/src/jobs/planning.js';
import { DEFAULTS } from '../dist/src/config.js';
import { silentLogger } from '../dist/src/log.js';

const BIN = new URL('../bin/optiflow.js', import.meta.url).pathname;
const AS_OF = '2026-11-23';

export async function benchSuggest(dbPath, calls = 1000) {
  if (!dbPath) {
    dbPath = join(mkdtempSync(join(tmpdir(), 'optiflow-bench-')), 'suggest.db');
    for (const argv of [['sample', '--products', '250'], ['train'], ['predict']]) {
      const r = spawnSync(process.execPath, [BIN, ...argv, '--db', dbPath, '--as-of', AS_OF, '-q'], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(r.stderr);
    }
  }
  const db = openDb(dbPath);
  const config = { ...JSON.parse(JSON.stringify(DEFAULTS)), db: dbPath, asOf: AS_OF };
  const ctx = { db, sqlite: db.sqlite, config, asOf: AS_OF, log: silentLogger() };
  const skus = db.sqlite.prepare(`select distinct p.sku from forecasts f join products p on p.id = f.product_id where f.run_date = ?`).all(AS_OF).map((r) => r.sku);
  let seed = 1;
  const pick = () => skus[(seed = (seed * 16807) % 2147483647) % skus.length];
  for (let i = 0; i < 100; i++) await suggestOrder(ctx, { sku: pick() });
  const ms = [];
  for (let i = 0; i < calls; i++) {
    const t0 = performance.now();
    await suggestOrder(ctx, { sku: pick() });
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  const q = (p) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))];
  return { calls, series: skus.length, p50: q(0.5), p99: q(0.99), max: ms[ms.length - 1] };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const a = args();
  const r = await benchSuggest(a.db && a.db !== true ? a.db : undefined, Number(a.calls ?? 1000));
  if (a.json) console.log(JSON.stringify(r, null, 2));
  else printTable([{ calls: r.calls, series: r.series, 'p50 ms': r.p50.toFixed(2), 'p99 ms': r.p99.toFixed(2), 'max ms': r.max.toFixed(2) }]);
}
