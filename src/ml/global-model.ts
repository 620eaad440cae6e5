/**
 * The global model: one small neural network (a multilayer perceptron)
 * learned across all series with TensorFlow.js, the M5 lesson that a model
 * pooled over many item x store series beats per-series smoothing.
 *
 *   rate(series, origin t0, step h) = scale(t0) * exp(MLP(features(t0, h)))
 *
 * Direct multi-horizon: one row per (series, origin, step), its demand
 * features read strictly before the origin (global-features.ts), so no step
 * ever uses demand the forecast does not know. Trained by Poisson negative
 * log-likelihood on the scaled target y / scale, in mini-batches with Adam,
 * on a fixed number of sampled rows and steps: training time and memory do
 * not grow with the number of series. Deterministic for a seed (own PRNG for
 * the initial weights, the sample and the batch order). Runs on whichever
 * TensorFlow.js backend backend.ts chose (GPU when installed, else WASM/CPU).
 * See docs/global-model.md.
 */
import { initBackend, tf } from './backend.js';
import { type Calendar, FEATURE_NAMES, N_FEATURES, Prefix, SCALE_DAYS, seriesScale, writeRows } from './global-features.js';
import type { EngineOptions, EngineSeries } from './engine.js';
import { Rng } from '../io/random.js';

export interface GlobalModel {
  /**
   * Forecasts of the series `idx` from origin `trainEnd` (first unknown day), H days each; never negative.
   * The origin may be later than the day the model was fitted up to: a model fitted at an earlier
   * origin forecasts a later one without seeing its future (its features read only days before the
   * origin), so one fit can serve several later backtest windows. A fit costs a fixed ~1,500
   * optimiser steps (seconds on a CPU backend), whatever the number of series.
   */
  forecast(series: EngineSeries[], idx: number[], trainEnd: number, H: number): Float64Array[];
  toJSON(): unknown;
}

/**
 * The constants of the fit. Each holds in general, not for one data set:
 * - MAX_ROWS: the network has ~2,600 weights; 100,000 rows is ~40 rows per
 *   weight, plenty for a Poisson fit, and bounds memory (11 MB of features)
 *   whatever the number of series.
 * - ROWS_PER_SERIES: with few series, fewer rows (each series holds only so
 *   many distinct origins); 400 rows = about 2 years of origins at 1 in 2 days.
 * - STEPS x BATCH: 1,500 Adam steps of 512 rows see 768,000 rows (several
 *   passes over the sample), enough for the loss to settle for a network this
 *   size; a fixed count keeps the training time fixed.
 * - HISTORY_ORIGINS: origins within the last 2 years: older behaviour is less
 *   like the horizon's, and 2 years still hold every season twice.
 * - LEARNING_RATE: Adam's usual 1e-3 scaled up for a small network on
 *   standardised inputs; it decays (cosine) to a tenth over the steps.
 * - HIDDEN: two ReLU layers of 48 and 24 units: enough to combine levels,
 *   weekday and calendar multiplicatively, small enough to train in seconds.
 * - MIN_KNOWN: an origin needs 14 known days in its last SCALE_DAYS (two weeks
 *   of each weekday) for its scale and levels to mean something.
 */
const MAX_ROWS = 100_000;
const ROWS_PER_SERIES = 400;
const STEPS = 1500;
const BATCH = 512;
const LEARNING_RATE = 6e-3;
const HIDDEN = [48, 24];
const HISTORY_ORIGINS = 730;
const MIN_KNOWN = 14;
/** Series per forecast chunk: rows = chunk x H x N_FEATURES floats (2,000 x 28 x 28 x 4 B = 6 MB). */
const FORECAST_CHUNK = 2000;
/** Log-rate bounds: exp(+-8) spans 3,000x the series scale either way, so one wild row cannot overflow. */
const Z_CLIP = 8;

interface Params {
  version: 1;
  trained: boolean;
  features: string[];
  hidden: number[];
  /** Steps the model was trained on (1..trainSteps); later steps reuse the last step feature. */
  trainSteps: number;
  startDay: number;
  holidays: [number, number][];
  /** Yearly-position features on (the training targets spanned a year). */
  yearly: boolean;
  mean: number[];
  sd: number[];
  rows: number;
  loss: number | null;
  seed: number;
  backend: string;
  seconds: number;
}

interface Weights {
  shapes: number[][];
  values: Float32Array[];
}

function glorot(rng: Rng, fanIn: number, fanOut: number): Float32Array {
  const lim = Math.sqrt(6 / (fanIn + fanOut));
  const w = new Float32Array(fanIn * fanOut);
  for (let i = 0; i < w.length; i++) w[i] = (2 * rng.next() - 1) * lim;
  return w;
}

function initialWeights(rng: Rng): Weights {
  const dims = [N_FEATURES, ...HIDDEN, 1];
  const shapes: number[][] = [];
  const values: Float32Array[] = [];
  for (let l = 0; l < dims.length - 1; l++) {
    shapes.push([dims[l], dims[l + 1]], [dims[l + 1]]);
    values.push(glorot(rng, dims[l], dims[l + 1]), new Float32Array(dims[l + 1]));
  }
  return { shapes, values };
}

/** The network: ReLU hidden layers, a linear output = log of the scaled rate. */
function forward(vars: tf.Tensor[], x: tf.Tensor2D): tf.Tensor2D {
  let h: tf.Tensor2D = x;
  for (let l = 0; l < vars.length; l += 2) {
    h = tf.add(tf.matMul(h, vars[l] as tf.Tensor2D), vars[l + 1]) as tf.Tensor2D;
    if (l + 2 < vars.length) h = tf.relu(h);
  }
  return tf.clipByValue(h, -Z_CLIP, Z_CLIP) as tf.Tensor2D;
}

interface Sample {
  s: number;
  t0: number;
  h: number;
}

/** Draws training rows: (series, origin, step) with a known target before trainEnd, uniform over eligible series. */
function drawSamples(series: EngineSeries[], trainEnd: number, steps: number, rng: Rng): Sample[] {
  const eligible: { s: number; lo: number }[] = [];
  series.forEach((se, s) => {
    const n = Math.min(trainEnd, se.y.length);
    let first = 0;
    while (first < n && se.y[first] !== se.y[first]) first++;
    // Earliest origin: one scale window after the first known day, and within the last HISTORY_ORIGINS days.
    const lo = Math.max(first + SCALE_DAYS / 2, trainEnd - HISTORY_ORIGINS);
    if (lo + 1 <= trainEnd - 1) eligible.push({ s, lo });
  });
  if (!eligible.length) return [];
  const want = Math.min(MAX_ROWS, ROWS_PER_SERIES * eligible.length);
  const out: Sample[] = [];
  for (let tries = 0; out.length < want && tries < want * 4; tries++) {
    const e = eligible[Math.floor(rng.next() * eligible.length)];
    const h = 1 + Math.floor(rng.next() * steps);
    const hiT0 = trainEnd - h;
    if (hiT0 < e.lo) continue;
    const t0 = e.lo + Math.floor(rng.next() * (hiT0 - e.lo + 1));
    const v = series[e.s].y[t0 + h - 1];
    if (v !== v) continue;
    out.push({ s: e.s, t0, h });
  }
  return out;
}

/** Feature rows and scaled targets of the samples; series by series so each prefix sum is built once. */
function buildRows(series: EngineSeries[], samples: Sample[], trainEnd: number, cal: Calendar): { X: Float32Array; Y: Float32Array; n: number } {
  samples.sort((a, b) => a.s - b.s || a.t0 - b.t0);
  const X = new Float32Array(samples.length * N_FEATURES);
  const Y = new Float32Array(samples.length);
  let n = 0;
  let prefix: Prefix | null = null;
  let cur = -1;
  const step = [0];
  for (const smp of samples) {
    if (smp.s !== cur) {
      cur = smp.s;
      // The prefix stops at trainEnd: nothing at or after it can reach a feature.
      prefix = new Prefix(series[cur].y, trainEnd);
    }
    const p = prefix!;
    if (p.known(smp.t0 - SCALE_DAYS, smp.t0) < MIN_KNOWN) continue;
    const scale = seriesScale(p, smp.t0);
    step[0] = smp.h;
    writeRows(series[cur], p, smp.t0, step, scale, cal, X, n);
    Y[n] = series[cur].y[smp.t0 + smp.h - 1] / scale;
    n++;
  }
  return { X: X.subarray(0, n * N_FEATURES), Y: Y.subarray(0, n), n };
}

function standardise(X: Float32Array, n: number): { mean: number[]; sd: number[] } {
  const mean = new Array(N_FEATURES).fill(0);
  const sq = new Array(N_FEATURES).fill(0);
  for (let i = 0; i < n; i++) for (let j = 0; j < N_FEATURES; j++) mean[j] += X[i * N_FEATURES + j];
  for (let j = 0; j < N_FEATURES; j++) mean[j] /= Math.max(1, n);
  for (let i = 0; i < n; i++) for (let j = 0; j < N_FEATURES; j++) sq[j] += (X[i * N_FEATURES + j] - mean[j]) ** 2;
  const sd = sq.map((s) => Math.sqrt(s / Math.max(1, n)) || 1);
  applyStandard(X, n, mean, sd);
  return { mean, sd };
}

function applyStandard(X: Float32Array, n: number, mean: number[], sd: number[]): void {
  for (let i = 0; i < n; i++) for (let j = 0; j < N_FEATURES; j++) X[i * N_FEATURES + j] = (X[i * N_FEATURES + j] - mean[j]) / sd[j];
}

/** Mini-batch Adam on the Poisson negative log-likelihood mean(exp(z) - y z) of the scaled target. */
function train(X: Float32Array, Y: Float32Array, n: number, w: Weights, rng: Rng, steps: number): number {
  // Start the output bias at the log of the mean scaled target: the first steps fit shape, not level.
  let ym = 0;
  for (let i = 0; i < n; i++) ym += Y[i];
  w.values[w.values.length - 1][0] = Math.log(Math.max(1e-3, ym / n));
  const vars = w.values.map((v, i) => tf.variable(tf.tensor(v, w.shapes[i]), true));
  const opt = tf.train.adam(LEARNING_RATE);
  const order = new Int32Array(n).map((_, i) => i);
  const xb = new Float32Array(BATCH * N_FEATURES);
  const yb = new Float32Array(BATCH);
  let pos = n;
  let lastLoss = NaN;
  const lossEvery = Math.max(1, Math.floor(steps / 10));
  let lossSum = 0;
  let lossN = 0;
  for (let it = 0; it < steps; it++) {
    const b = Math.min(BATCH, n);
    for (let k = 0; k < b; k++) {
      if (pos >= n) {
        // Fisher-Yates reshuffle per pass, from the seeded generator.
        for (let i = n - 1; i > 0; i--) {
          const j = Math.floor(rng.next() * (i + 1));
          const t = order[i];
          order[i] = order[j];
          order[j] = t;
        }
        pos = 0;
      }
      const r = order[pos++];
      xb.set(X.subarray(r * N_FEATURES, (r + 1) * N_FEATURES), k * N_FEATURES);
      yb[k] = Y[r];
    }
    // Cosine decay from LEARNING_RATE to a tenth of it: large steps early, a settled fit at the end.
    (opt as unknown as { learningRate: number }).learningRate = LEARNING_RATE * (0.1 + 0.45 * (1 + Math.cos((Math.PI * it) / steps)));
    const wantLoss = it >= steps - lossEvery;
    const loss = opt.minimize(() => {
      const x = tf.tensor2d(xb.subarray(0, b * N_FEATURES), [b, N_FEATURES]);
      const y = tf.tensor2d(yb.subarray(0, b), [b, 1]);
      const z = forward(vars, x);
      return tf.mean(tf.sub(tf.exp(z), tf.mul(y, z))) as tf.Scalar;
    }, wantLoss, vars as tf.Variable[]);
    if (loss) {
      lossSum += loss.dataSync()[0];
      lossN++;
      loss.dispose();
    }
  }
  lastLoss = lossN ? lossSum / lossN : NaN;
  w.values = vars.map((v) => v.dataSync() as Float32Array).map((a) => Float32Array.from(a));
  vars.forEach((v) => v.dispose());
  opt.dispose();
  return lastLoss;
}

class MlpGlobalModel implements GlobalModel {
  private readonly cal: Calendar;
  constructor(private readonly p: Params, private readonly w: Weights | null) {
    this.cal = { startDay: p.startDay, holidays: new Map(p.holidays), yearly: p.yearly };
  }

  forecast(series: EngineSeries[], idx: number[], trainEnd: number, H: number): Float64Array[] {
    const out: Float64Array[] = [];
    const steps = Int32Array.from({ length: H }, (_, h) => h + 1);
    for (let c = 0; c < idx.length; c += FORECAST_CHUNK) {
      const part = idx.slice(c, c + FORECAST_CHUNK);
      const X = new Float32Array(part.length * H * N_FEATURES);
      const scales = new Float64Array(part.length);
      part.forEach((i, j) => {
        const p = new Prefix(series[i].y, trainEnd);
        scales[j] = seriesScale(p, trainEnd);
        writeRows(series[i], p, trainEnd, steps, scales[j], this.cal, X, j * H);
      });
      let rate: Float32Array;
      if (this.w && this.p.trained) {
        applyStandard(X, part.length * H, this.p.mean, this.p.sd);
        const w = this.w;
        rate = tf.tidy(() => {
          const vars = w.values.map((v, i) => tf.tensor(v, w.shapes[i]));
          return tf.exp(forward(vars, tf.tensor2d(X, [part.length * H, N_FEATURES])));
        }).dataSync() as Float32Array;
      } else {
        // Untrained (no series had enough history): the level, scale x 1.
        rate = new Float32Array(part.length * H).fill(1);
      }
      part.forEach((_, j) => {
        const f = new Float64Array(H);
        for (let h = 0; h < H; h++) f[h] = Math.max(0, scales[j] * rate[j * H + h]);
        out.push(f);
      });
    }
    return out;
  }

  toJSON(): unknown {
    return {
      kind: 'global-mlp',
      params: this.p,
      weights: this.w ? { shapes: this.w.shapes, values: this.w.values.map((v) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64')) } : null,
    };
  }
}

/**
 * Fits the global model on every series' days before `trainEnd` (exclusive:
 * the first day the model may not see). The calendar (startDay, holidays) is
 * stored with the model. With no series long enough, the model is marked
 * untrained and forecasts each series' recent level.
 */
export async function fitGlobal(series: EngineSeries[], trainEnd: number, o: EngineOptions & { seed?: number; steps?: number }): Promise<GlobalModel> {
  const t0 = performance.now();
  const backend = await initBackend();
  const seed = o.seed ?? 42;
  const rng = new Rng(seed);
  const trainSteps = Math.min(91, Math.max(28, o.horizon, o.backtestHorizon ?? 28));
  const samples = drawSamples(series, trainEnd, trainSteps, rng);
  let first = Infinity;
  let last = -Infinity;
  for (const smp of samples) {
    first = Math.min(first, smp.t0 + smp.h - 1);
    last = Math.max(last, smp.t0 + smp.h - 1);
  }
  const cal: Calendar = { startDay: o.startDay, holidays: o.holidays, yearly: last - first >= 365 };
  const { X, Y, n } = buildRows(series, samples, trainEnd, cal);
  const base: Omit<Params, 'mean' | 'sd' | 'rows' | 'loss' | 'trained' | 'seconds'> = {
    version: 1, features: [...FEATURE_NAMES], hidden: HIDDEN, trainSteps, startDay: o.startDay, holidays: [...o.holidays.entries()], yearly: cal.yearly, seed, backend,
  };
  if (n < BATCH) {
    const p: Params = { ...base, trained: false, mean: [], sd: [], rows: n, loss: null, seconds: (performance.now() - t0) / 1000 };
    return new MlpGlobalModel(p, null);
  }
  const { mean, sd } = standardise(X, n);
  const w = initialWeights(rng);
  const loss = train(X, Y, n, w, rng, o.steps ?? STEPS);
  const p: Params = { ...base, trained: true, mean, sd, rows: n, loss, seconds: (performance.now() - t0) / 1000 };
  return new MlpGlobalModel(p, w);
}

/** Rebuilds a model from toJSON()'s output (as stored in global_models). */
export function globalFromJSON(json: unknown): GlobalModel {
  const j = (typeof json === 'string' ? JSON.parse(json) : json) as { kind?: string; params?: Params; weights?: { shapes: number[][]; values: string[] } | null };
  if (j?.kind !== 'global-mlp' || !j.params || j.params.version !== 1) throw new Error('global model: unknown or unsupported stored format (retrain with `optiflow train --force`)');
  if (j.params.features.join(',') !== FEATURE_NAMES.join(',')) throw new Error('global model: stored features differ from this version\'s (retrain with `optiflow train --force`)');
  const w = j.weights
    ? {
        shapes: j.weights.shapes,
        values: j.weights.values.map((b64) => {
          const buf = Buffer.from(b64, 'base64');
          return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
        }),
      }
    : null;
  return new MlpGlobalModel(j.params, w);
}

/** Training summary of a model (for logs and the global_models row). */
export function globalSummary(m: GlobalModel): { trained: boolean; rows: number; loss: number | null; seconds: number; backend: string } {
  const p = (m.toJSON() as { params: Params }).params;
  return { trained: p.trained, rows: p.rows, loss: p.loss, seconds: p.seconds, backend: p.backend };
}
