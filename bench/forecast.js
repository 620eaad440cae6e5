// The forecast robustness benchmark: optiflow's engine against the references,
// all in this one process, on data sets that stress different things.
//
//   npm run build && npm run bench:forecast -- [--data <store-item-demand/train.csv>]
//     [--windows 6] [--series N] [--skip-prophet] [--families intermittent,yearly]
//     [--products 200] [--skip-store] [--no-stock] [--json] [--no-write]
// (--families none: Store Item Demand only; --skip-store: the families only;
// --no-stock: the families without their stock records, as a shop that imports
// sales alone: stock-out days read, and are scored, as days without sales.)
//
// Data sets:
// - Store Item Demand (500 store x item series, 5 years, no stock-outs): N rolling
//   28-day windows spread evenly over its last year (default 6: 67 days apart, so
//   each season is tested); each window is fitted only on the days before it.
// - Sample families (`optiflow sample --family ...`, written to a temporary
//   database): `intermittent` (slow movers with frequent stock-outs) and `yearly`
//   (strong yearly cycles, 1.5 years of history); N consecutive 28-day windows at
//   the end of the history. Demand on stock-out days is unknown and not scored.
//
// optiflow runs through its real engine API, the path `train` uses: the history
// window of `train.historyDays` days before the origin (loaded from the database
// for the sample families), the configured backtest, selection, refit and
// intervals (default config). References: @bsull/augurs Prophet (default and
// multiplicative seasonality), AutoETS (weekly season), MSTL (weekly) + ETS,
// seasonal naive (7 days), 28-day mean; each fitted on the full history before
// the origin (unknown days left out for Prophet, filled with the mean of the 28
// known days before them for the others).
//
// Scores per data set: RMSSE and MASE per series and window, averaged over the
// series of a window, then over windows (mean and worst window); WAPE over all
// scored days; interval coverage = share of scored days inside the 80 % (95 %)
// interval; seconds = fit + forecast time summed over windows; ratio = RMSSE over
// the best reference's.
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { args, printTable } from './lib.js';
import { initBackend } from '../dist/src/ml/backend.js';
import { forecastMany } from '../dist/src/ml/engine.js';
import { movingAverage, seasonalNaive } from '../dist/src/ml/models.js';
import { score } from '../dist/src/ml/metrics.js';
import { addDays, dayNumber, fromDayNumber } from '../dist/src/dates.js';
import { DEFAULTS } from '../dist/src/config.js';
import { migrateToLatest, openDb } from '../dist/src/db/connection.js';
import { generateSample } from '../dist/src/io/sample.js';
import { sampleFamily } from '../dist/src/io/sample-families.js';
import { loadHistory, readRange } from '../dist/src/db/history.js';

const a = args();
const ROOT = new URL('..', import.meta.url).pathname;
const H = 28;
const WINDOWS = Number(a.windows ?? 6);
const dataPath = a.data && a.data !== true ? a.data : join(ROOT, '..', 'shared', 'data', 'store-item-demand', 'train.csv');
const families = a.families === 'none' ? [] : String(a.families && a.families !== true ? a.families : 'intermittent,yearly').split(',');
const log = (m) => console.error(m);
const T0 = performance.now();
// The code measured: the commit at start (and whether the working tree differed from it).
let commit = '-';
try {
  commit = execSync('git describe --always --dirty', { cwd: ROOT, encoding: 'utf8' }).trim();
} catch {}

// ---------- data

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

/**
 * A data set is a list of windows; a window gives, for each series, what the
 * engine sees (EngineSeries cut at the origin, as train would load it), the
 * full known history before the origin for the references, and the actuals.
 */
function storeItemWindows(limit) {
  const data = loadStoreItem(dataPath);
  let keys = [...data.series.keys()];
  if (limit) keys = keys.slice(0, limit);
  const n = data.end - data.start + 1;
  const step = WINDOWS > 1 ? Math.floor((364 - H) / (WINDOWS - 1)) : 0;
  const windows = [];
  for (let k = WINDOWS - 1; k >= 0; k--) {
    const origin = n - H - k * step;
    const keep = Math.min(origin, DEFAULTS.train.historyDays);
    const startDay = data.start + origin - keep;
    windows.push({
      label: `${fromDayNumber(data.start + origin)} .. ${fromDayNumber(data.start + origin + H - 1)}`,
      engine: keys.map((key) => ({ id: key, y: data.series.get(key).y.slice(origin - keep, origin), promo: null, logPrice: null, group: data.series.get(key).item })),
      options: { startDay, holidays: new Map(), nHolidays: 0 },
      history: keys.map((key) => data.series.get(key).y.subarray(0, origin)),
      historyStart: data.start,
      actual: keys.map((key) => data.series.get(key).y.subarray(origin, origin + H)),
    });
  }
  return windows;
}

function familyWindows(family, products) {
  const dir = mkdtempSync(join(tmpdir(), `optiflow-bench-${family}-`));
  const db = openDb(join(dir, 'sample.db'));
  return (async () => {
    const r = await migrateToLatest(db);
    if (r.error) throw r.error;
    const today = '2026-11-23';
    const { summary } = generateSample(db.sqlite, { products, locations: 1, days: sampleFamily(family).days, seed: 42, today, family });
    if (a['no-stock']) db.sqlite.prepare('delete from stock_levels').run();
    const windows = [];
    for (let k = WINDOWS; k >= 1; k--) {
      const asOf = addDays(today, -k * H);
      // The path of `train`: the history of train.historyDays days before the origin, events, prices, stock-outs.
      const hist = await loadHistory(db, { asOf, days: Math.min(DEFAULTS.train.historyDays, summary.days - k * H), horizon: H });
      const act = await readRange(db, hist.refs, asOf, addDays(asOf, H));
      windows.push({
        label: `${asOf} .. ${addDays(asOf, H - 1)}`,
        engine: hist.series,
        options: { startDay: hist.startDay, holidays: hist.holidays, nHolidays: hist.holidayNames.length },
        history: hist.series.map((s) => s.y),
        historyStart: hist.startDay,
        actual: act.map((x) => x.y),
      });
    }
    await db.close();
    return { windows, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
  })();
}

// ---------- references

const require = createRequire(import.meta.url);
const augursDir = require.resolve('@bsull/augurs').replace(/core\.js$/, '');
const ets = await import('@bsull/augurs/ets');
ets.initSync({ module: readFileSync(augursDir + 'ets_bg.wasm') });
const mstl = await import('@bsull/augurs/mstl');
mstl.initSync({ module: readFileSync(augursDir + 'mstl_bg.wasm') });
// Prophet runs in worker threads (bench/prophet-worker.js), a fresh WebAssembly instance per batch of series.
const prophetMod = a['skip-prophet'] ? null : true;

/** Known history with the leading unknown days dropped and the others filled (mean of the 28 known days before). */
function filled(y) {
  let first = 0;
  while (first < y.length && Number.isNaN(y[first])) first++;
  const out = new Float64Array(y.length - first);
  const recent = [];
  let sum = 0;
  for (let t = first; t < y.length; t++) {
    let v = y[t];
    if (Number.isNaN(v)) v = recent.length ? sum / recent.length : 0;
    else {
      recent.push(v);
      sum += v;
      if (recent.length > 28) sum -= recent.shift();
    }
    out[t - first] = v;
  }
  return out;
}

const clip = (xs) => Float64Array.from(xs, (v) => (Number.isFinite(v) ? Math.max(0, v) : 0));
const failures = {};
function guarded(name, fn, y) {
  try {
    return fn();
  } catch {
    failures[name] = (failures[name] ?? 0) + 1;
    const f = movingAverage(y, H);
    return { f, lo80: null, hi80: null, lo95: null, hi95: null };
  }
}

/** An augurs model as a reference: fitted on the gaps filled, point forecast and 80 % / 95 % intervals, never negative. */
function augursReference(name, make) {
  return {
    name,
    fit: (y) => guarded(name, () => {
      const m = make();
      m.fit(filled(y));
      const p80 = m.predict(H, 0.8);
      const p95 = m.predict(H, 0.95);
      m.free();
      return { f: clip(p80.point), lo80: clip(p80.intervals.lower), hi80: clip(p80.intervals.upper), lo95: clip(p95.intervals.lower), hi95: clip(p95.intervals.upper) };
    }, y),
  };
}

const REFERENCES = [
  { name: 'seasonal naive (7 days)', fit: (y) => ({ f: seasonalNaive(y, H) }) },
  { name: '28-day mean', fit: (y) => ({ f: movingAverage(y, H, { window: 28 }) }) },
  augursReference('AutoETS (weekly)', () => new ets.AutoETS(7, 'ZZZ')),
  augursReference('MSTL (weekly) + ETS', () => mstl.MSTL.ets([7])),
];
/** Prophet on every series of a window, in worker threads of PROPHET_BATCH series each (fresh WebAssembly memory per batch). */
const PROPHET_BATCH = 250;
async function prophetWindow(name, mode, histories, start) {
  const res = [];
  let seconds = 0;
  for (let i = 0; i < histories.length; i += PROPHET_BATCH) {
    const batch = histories.slice(i, i + PROPHET_BATCH);
    const r = await new Promise((resolve, reject) => {
      const w = new Worker(new URL('./prophet-worker.js', import.meta.url), { workerData: { mode, H, start, series: batch, warmUp: true } });
      w.once('message', resolve);
      w.once('error', reject);
    });
    seconds += r.seconds;
    r.out.forEach((o, j) => {
      if (o.error) {
        failures[name] = (failures[name] ?? 0) + 1;
        res.push({ f: movingAverage(batch[j], H), lo80: null, hi80: null, lo95: null, hi95: null });
      } else {
        // Prophet's interval is its default 80 % one.
        res.push({ f: clip(o.point), lo80: o.lower ? clip(o.lower) : null, hi80: o.upper ? clip(o.upper) : null, lo95: null, hi95: null });
      }
    });
  }
  return { res, seconds };
}
if (prophetMod) {
  for (const mode of ['additive', 'multiplicative']) {
    const name = mode === 'additive' ? 'Prophet (default)' : 'Prophet (multiplicative)';
    REFERENCES.push({ name, prophet: true, window: (histories, start) => prophetWindow(name, mode, histories, start) });
  }
}

// ---------- scoring

class Tally {
  constructor() {
    this.byWindow = [];
    this.ae = 0;
    this.sa = 0;
    this.in80 = 0;
    this.n80 = 0;
    this.in95 = 0;
    this.n95 = 0;
    this.seconds = 0;
    this.fits = 0;
  }
  window(results, w) {
    let r = 0;
    let m = 0;
    let n = 0;
    results.forEach((res, i) => {
      const act = w.actual[i];
      const sc = score(act, res.f, w.history[i]);
      if (!Number.isFinite(sc.rmsse) || sc.n === 0) return;
      r += sc.rmsse;
      m += sc.mase;
      n++;
      for (let h = 0; h < H; h++) {
        if (Number.isNaN(act[h])) continue;
        this.ae += Math.abs(res.f[h] - act[h]);
        this.sa += act[h];
        if (res.lo80) {
          this.n80++;
          if (act[h] >= res.lo80[h] - 1e-9 && act[h] <= res.hi80[h] + 1e-9) this.in80++;
        }
        if (res.lo95) {
          this.n95++;
          if (act[h] >= res.lo95[h] - 1e-9 && act[h] <= res.hi95[h] + 1e-9) this.in95++;
        }
      }
    });
    this.byWindow.push({ rmsse: r / n, mase: m / n, n });
  }
  get rmsse() {
    return this.byWindow.reduce((s, x) => s + x.rmsse, 0) / this.byWindow.length;
  }
  get worst() {
    return Math.max(...this.byWindow.map((x) => x.rmsse));
  }
  get mase() {
    return this.byWindow.reduce((s, x) => s + x.mase, 0) / this.byWindow.length;
  }
}

/** Ratios and rates: 3 significant digits below 10 (0.0213), whole numbers above. */
const num = (x) => (!Number.isFinite(x) ? '-' : x >= 10 ? x.toFixed(0) : x.toPrecision(3));
const pct = (x, n) => (n ? ((100 * x) / n).toFixed(1) + ' %' : '-');

/** optiflow's engine on one window: the train path at the configured interval, then once more at 95 % for coverage (untimed). */
/** The engine options of `train` (default config) for a window. */
function engineOptions(w) {
  return {
    ...w.options,
    horizon: H,
    origins: DEFAULTS.train.origins,
    backtestHorizon: DEFAULTS.train.backtestHorizon,
    globalModel: DEFAULTS.train.globalModel,
    holdout: DEFAULTS.train.holdout,
  };
}

async function runOptiflow(w, tally, choices) {
  const base = engineOptions(w);
  const t0 = performance.now();
  const out = await forecastMany(w.engine, { ...base, interval: 0.8 });
  tally.seconds += (performance.now() - t0) / 1000;
  tally.fits += w.engine.length;
  const out95 = await forecastMany(w.engine, { ...base, interval: 0.95 });
  tally.window(out.map((o, i) => ({ f: o.forecast, lo80: o.lo, hi80: o.hi, lo95: out95[i].lo, hi95: out95[i].hi })), w);
  for (const o of out) {
    choices.algorithms[o.algorithm] = (choices.algorithms[o.algorithm] ?? 0) + 1;
    if (o.kind === 'intermittent') {
      choices.intermittent++;
      if (/snaive/.test(o.algorithm)) choices.snaiveOnIntermittent++;
    }
  }
}

async function runDataSet(name, windows) {
  const tallies = new Map([['optiflow', new Tally()], ...REFERENCES.map((r) => [r.name, new Tally()])]);
  const choices = { algorithms: {}, intermittent: 0, snaiveOnIntermittent: 0 };
  await initBackend();
  // An untimed warm-up of the engine on a few series of the first window (compiles its code paths), as each
  // Prophet thread's first fit is: the seconds compare fitting, not start-up.
  if (windows.length) await forecastMany(windows[0].engine.slice(0, 20), { ...engineOptions(windows[0]), interval: 0.8 });
  for (const [wi, w] of windows.entries()) {
    log(`${name}: window ${wi + 1}/${windows.length} (${w.label}), ${w.engine.length} series`);
    await runOptiflow(w, tallies.get('optiflow'), choices);
    for (const ref of REFERENCES) {
      const t = tallies.get(ref.name);
      let res;
      if (ref.window) {
        // Timed inside the worker threads: fitting and forecasting only (each thread's first fit is an untimed warm-up).
        const r = await ref.window(w.history, w.historyStart);
        res = r.res;
        t.seconds += r.seconds;
      } else {
        const t0 = performance.now();
        res = w.history.map((y) => ref.fit(y, w.historyStart));
        t.seconds += (performance.now() - t0) / 1000;
      }
      t.fits += w.history.length;
      t.window(res, w);
    }
    const o = tallies.get('optiflow');
    log(`  optiflow ${o.byWindow.at(-1).rmsse.toFixed(3)} (so far: ${o.seconds.toFixed(1)} s, cover 80 ${pct(o.in80, o.n80)}, 95 ${pct(o.in95, o.n95)}); ` +
      REFERENCES.map((r) => `${r.name} ${tallies.get(r.name).byWindow.at(-1).rmsse.toFixed(3)} (${tallies.get(r.name).seconds.toFixed(1)} s)`).join('; '));
  }
  const refs = REFERENCES.map((r) => tallies.get(r.name));
  const best = Math.min(...refs.map((t) => t.rmsse));
  const bestName = REFERENCES[refs.findIndex((t) => t.rmsse === best)].name;
  const prophet = tallies.get('Prophet (multiplicative)') ?? tallies.get('Prophet (default)');
  const rows = [...tallies.entries()].map(([model, t]) => ({
    model,
    'mean RMSSE': t.rmsse.toFixed(3),
    'worst window': t.worst.toFixed(3),
    MASE: t.mase.toFixed(3),
    WAPE: pct(t.ae, t.sa),
    'cover 80': pct(t.in80, t.n80),
    'cover 95': pct(t.in95, t.n95),
    seconds: t.seconds.toFixed(2),
    'series/s': num(t.fits / t.seconds),
    'vs best ref': (t.rmsse / best).toFixed(3),
    'speed vs Prophet': prophet ? num(prophet.seconds / t.seconds) + 'x' : '-',
  }));
  return { name, windows: windows.map((w) => w.label), series: windows[0].engine.length, rows, bestName, choices, failures: { ...failures } };
}

// ---------- run

const sets = [];
if (a['skip-store']) log('bench:forecast: --skip-store: Store Item Demand skipped');
else if (existsSync(dataPath)) {
  const w = storeItemWindows(a.series ? Number(a.series) : 0);
  sets.push(await runDataSet('Store Item Demand', w));
} else log(`bench:forecast: ${dataPath} not found; skipping Store Item Demand (give --data <train.csv>)`);
for (const fam of families) {
  for (const k of Object.keys(failures)) delete failures[k];
  const { windows, cleanup } = await familyWindows(fam, Number(a.products ?? a.series ?? 200));
  sets.push(await runDataSet(`sample --family ${fam}${a['no-stock'] ? ', no stock records' : ''}`, windows));
  cleanup();
}

const when = new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
const header = `Measured ${when} at commit ${commit}; ${WINDOWS} windows x ${H} days; ${a['skip-prophet'] ? 'Prophet skipped' : 'Prophet included'}; total ${((performance.now() - T0) / 1000).toFixed(0)} s.`;

if (a.json) console.log(JSON.stringify({ header, sets }, null, 2));
else {
  console.log(header);
  for (const s of sets) {
    console.log(`\n## ${s.name}: ${s.series} series, windows ${s.windows.join(', ')}\n`);
    printTable(s.rows);
    console.log(`\nbest reference: ${s.bestName}; optiflow intermittent series ${s.choices.intermittent}, on seasonal naive ${s.choices.snaiveOnIntermittent}`);
    console.log(`optiflow choices (series x windows): ${JSON.stringify(s.choices.algorithms)}`);
    if (Object.keys(s.failures).length) console.log(`reference fits that failed (28-day mean used instead): ${JSON.stringify(s.failures)}`);
  }
}

// The RESULTS.md sections, one per data set (full runs only: a --series subset is a development run).
if (!a.series && !a['no-write']) {
  const file = join(ROOT, 'bench', 'RESULTS.md');
  let text = existsSync(file) ? readFileSync(file, 'utf8') : '# Measured results\n';
  for (const s of sets) {
    const key = s.name.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
    const begin = `<!-- bench:forecast ${key} begin -->`;
    const end = `<!-- bench:forecast ${key} end -->`;
    const lines = [begin, `## Forecast robustness: ${s.name} (\`npm run bench:forecast\`)`, '', header, '', `${s.series} series, windows ${s.windows.join(', ')}.`, ''];
    const cols = Object.keys(s.rows[0]);
    lines.push('| ' + cols.join(' | ') + ' |', '|' + cols.map(() => '---').join('|') + '|');
    for (const r of s.rows) lines.push('| ' + cols.map((c) => r[c]).join(' | ') + ' |');
    lines.push('', `Best reference: ${s.bestName}. optiflow intermittent series (x windows): ${s.choices.intermittent}, on seasonal naive: ${s.choices.snaiveOnIntermittent}. Choices: ${JSON.stringify(s.choices.algorithms)}.`);
    if (Object.keys(s.failures).length) lines.push(`Reference fits that failed (28-day mean used instead): ${JSON.stringify(s.failures)}.`);
    lines.push(end);
    const i = text.indexOf(begin);
    const j = text.indexOf(end);
    text = i >= 0 && j > i ? text.slice(0, i) + lines.join('\n') + text.slice(j + end.length) : text.trimEnd() + '\n\n' + lines.join('\n') + '\n';
  }
  writeFileSync(file, text);
  log(`bench:forecast: results written to bench/RESULTS.md`);
}
