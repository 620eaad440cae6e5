// Fits Prophet (@bsull/augurs, wasmstan optimizer) on a batch of series in a
// worker thread, so each batch gets fresh WebAssembly instances: one process
// fitting thousands of series ran out of WebAssembly memory (about 0.9 MB kept
// per fit) and every later fit failed. Returns the forecasts and the seconds
// spent fitting and forecasting (the worker's start-up is not counted).
import { parentPort, workerData } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';

const require = createRequire(import.meta.url);
const augursDir = require.resolve('@bsull/augurs').replace(/core\.js$/, '');
const prophetMod = await import('@bsull/augurs/prophet');
prophetMod.initSync({ module: readFileSync(augursDir + 'prophet_bg.wasm') });
const { optimizer } = await import('@bsull/augurs-prophet-wasmstan');

const { mode, H, start, series, warmUp } = workerData;
const fit = (y) => {
  const ds = [];
  const v = [];
  for (let t = 0; t < y.length; t++) if (!Number.isNaN(y[t])) {
    ds.push((start + t) * 86400);
    v.push(y[t]);
  }
  const p = new prophetMod.Prophet({ optimizer, ...(mode === 'multiplicative' ? { seasonalityMode: 'multiplicative' } : {}) });
  p.fit({ ds, y: v });
  const r = p.predict({ ds: Array.from({ length: H }, (_, h) => (start + y.length + h) * 86400) });
  p.free?.();
  return { point: Float64Array.from(r.yhat.point), lower: r.yhat.lower ? Float64Array.from(r.yhat.lower) : null, upper: r.yhat.upper ? Float64Array.from(r.yhat.upper) : null };
};
if (warmUp && series.length) {
  try {
    fit(series[0]);
  } catch {
    // The timed fits report their own failures.
  }
}
const t0 = performance.now();
const out = series.map((y) => {
  try {
    return fit(y);
  } catch (e) {
    return { error: String(e?.message ?? e) };
  }
});
parentPort.postMessage({ out, seconds: (performance.now() - t0) / 1000 });
