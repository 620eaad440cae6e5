// Forecast accuracy and speed on the Store Item Demand protocol (see the data
// folder's README): hold out the last 28 days, fit on everything before, score
// each (store, item) series with RMSSE, report WAPE over all series and days.
// optiflow's engine and the references (@bsull/augurs MSTL+ETS and Prophet,
// plus a 7-day seasonal naive) run in this same process.
//
//   npm run bench:forecast -- --data <path to store-item-demand/train.csv> [--series N] [--skip-prophet] [--json]
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { args, printTable } from './lib.js';
import { initBackend } from '../dist/src/ml/backend.js';
import { forecastMany } from '../dist/src/ml/engine.js';
import { seasonalNaive } from '../dist/src/ml/models.js';
import { score } from '../dist/src/ml/metrics.js';
import { dayNumber } from '../dist/src/dates.js';

const a = args();
if (!a.data || a.data === true) {
  console.error('bench:forecast: --data <path to store-item-demand/train.csv> is required');
  process.exit(2);
}
const H = 28;

export function loadStoreItem(file) {
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  const header = lines[0].split(',');
  const [iDate, iStore, iItem, iSales] = ['date', 'store', 'item', 'sales'].map((c) => header.indexOf(c));
  let minD = Infinity;
  let maxD = -Infinity;
  const rows = [];
  for (let i = 1; i < lines.length; i++) {
    const f = lines[i].split(',');
    const d = dayNumber(f[iDate]);
    minD = Math.min(minD, d);
    maxD = Math.max(maxD, d);
    rows.push([d, `${f[iStore]}/${f[iItem]}`, +f[iSales], f[iItem]]);
  }
  const series = new Map();
  for (const [d, key, q, item] of rows) {
    if (!series.has(key)) series.set(key, { y: new Float64Array(maxD - minD + 1).fill(NaN), item });
    series.get(key).y[d - minD] = q;
  }
  return { start: minD, end: maxD, series };
}

function evaluate(name, forecasts, data, T, seconds) {
  let rmsse = 0;
  let ae = 0;
  let sa = 0;
  let i = 0;
  for (const s of data.series.values()) {
    const act = s.y.subarray(T, T + H);
    rmsse += score(act, forecasts[i], s.y.subarray(0, T)).rmsse;
    for (let h = 0; h < H; h++) {
      ae += Math.abs(forecasts[i][h] - act[h]);
      sa += act[h];
    }
    i++;
  }
  const n = data.series.size;
  return { model: name, 'mean RMSSE': (rmsse / n).toFixed(3), WAPE: ((100 * ae) / sa).toFixed(1) + ' %', 'fit+forecast s': seconds.toFixed(2), 'series/s': (n / seconds).toFixed(0), _rmsse: rmsse / n, _seconds: seconds };
}

const data = loadStoreItem(a.data);
if (a.series) {
  const keep = [...data.series.keys()].slice(0, Number(a.series));
  for (const k of [...data.series.keys()]) if (!keep.includes(k)) data.series.delete(k);
}
const T = data.end - data.start + 1 - H;
const list = [...data.series.values()];
console.error(`Store Item Demand: ${list.length} series, ${T} training days, horizon ${H}`);
const results = [];

// Seasonal naive (7 days).
{
  const t0 = performance.now();
  const f = list.map((s) => seasonalNaive(s.y.subarray(0, T), H));
  results.push(evaluate('seasonal naive (7 days)', f, data, T, (performance.now() - t0) / 1000));
}

// optiflow: the whole engine (backtest of every candidate on 3 origins, choice, refit, forecast, intervals).
{
  await initBackend();
  const toEngine = (subset) => subset.map((s, i) => ({ id: String(i), y: s.y.subarray(0, T), promo: null, logPrice: null, group: s.item }));
  await forecastMany(toEngine(list.slice(0, 20)), { startDay: data.start, horizon: H, holidays: new Map(), nHolidays: 0 }); // warm-up
  const times = [];
  let out;
  for (let rep = 0; rep < 3; rep++) {
    const t0 = performance.now();
    out = await forecastMany(toEngine(list), { startDay: data.start, horizon: H, holidays: new Map(), nHolidays: 0 });
    times.push((performance.now() - t0) / 1000);
  }
  times.sort((x, y) => x - y);
  const r = evaluate('optiflow engine (auto selection)', out.map((o) => o.forecast), data, T, times[1]);
  const counts = {};
  for (const o of out) counts[o.algorithm] = (counts[o.algorithm] ?? 0) + 1;
  console.error('optiflow choices: ' + JSON.stringify(counts) + `; runs ${times.map((t) => t.toFixed(2)).join(', ')} s (median quoted)`);
  results.push(r);
}

// augurs references.
const require = createRequire(import.meta.url);
const augursDir = require.resolve('@bsull/augurs').replace(/core\.js$/, '');
{
  const mstl = await import('@bsull/augurs/mstl');
  mstl.initSync({ module: readFileSync(augursDir + 'mstl_bg.wasm') });
  const t0 = performance.now();
  const f = list.map((s) => {
    const m = mstl.MSTL.ets([7]);
    m.fit(s.y.subarray(0, T));
    const p = Float64Array.from(m.predict(H).point);
    m.free();
    return p;
  });
  results.push(evaluate('augurs MSTL (weekly) + ETS', f, data, T, (performance.now() - t0) / 1000));
}
if (!a['skip-prophet']) {
  const prophetMod = await import('@bsull/augurs/prophet');
  prophetMod.initSync({ module: readFileSync(augursDir + 'prophet_bg.wasm') });
  const { optimizer } = await import('@bsull/augurs-prophet-wasmstan');
  const ds = (from, n) => Array.from({ length: n }, (_, i) => (from + i) * 86400);
  const fitOne = (y) => {
    const p = new prophetMod.Prophet({ optimizer });
    p.fit({ ds: ds(data.start, T), y: Array.from(y.subarray(0, T)) });
    const r = p.predict({ ds: ds(data.start + T, H) });
    p.free?.();
    return Float64Array.from(r.yhat.point);
  };
  fitOne(list[0].y); // warm-up
  const t0 = performance.now();
  const f = list.map((s) => fitOne(s.y));
  results.push(evaluate('augurs Prophet (wasmstan)', f, data, T, (performance.now() - t0) / 1000));
}

const prophet = results.find((r) => r.model.startsWith('augurs Prophet'));
const ours = results.find((r) => r.model.startsWith('optiflow'));
for (const r of results) r['speed vs Prophet'] = prophet ? (prophet._seconds / r._seconds).toFixed(1) + 'x' : '-';
if (a.json) console.log(JSON.stringify(results.map(({ _rmsse, _seconds, ...r }) => r), null, 2));
else {
  printTable(results.map(({ _rmsse, _seconds, ...r }) => r));
  if (prophet) {
    console.log(`\noptiflow mean RMSSE ${ours._rmsse.toFixed(3)} (target <= 0.52; Prophet ${prophet._rmsse.toFixed(3)}), ` +
      `speed ${(prophet._seconds / ours._seconds).toFixed(0)}x Prophet (target >= 100x)`);
  }
}
