import { fitGlobal, globalFromJSON, type GlobalModel } from '../src/ml/global-model.js';
import { initBackend } from '../src/ml/backend.js';
import { Rng } from '../src/io/random.js';
import { dayNumber, weekday } from '../src/dates.js';
import type { EngineSeries } from '../src/ml/engine.js';
import { loadGlobalModel, saveGlobalModel } from '../src/db/global-models.js';
import { newDb, tempDir } from './helpers.js';
import { join } from 'node:path';

const start = dayNumber('2024-01-01');
// Mean 1: Monday .. Sunday.
const WEEKLY = [0.7, 0.8, 0.9, 1.0, 1.2, 1.6, 0.8];
const T = 280;
const H = 28;
const opts = { startDay: start, horizon: H, holidays: new Map<number, number>(), nHolidays: 0, steps: 400, seed: 7 };

/** Poisson series with a level and the WEEKLY pattern, `extra` days beyond T (for the leakage test). */
function synth(n: number, seed: number, extra = H): { series: EngineSeries[]; levels: number[] } {
  const rng = new Rng(seed);
  const levels: number[] = [];
  const series = Array.from({ length: n }, (_, i) => {
    const level = rng.uniform(5, 50);
    levels.push(level);
    const y = new Float64Array(T + extra);
    for (let t = 0; t < T + extra; t++) y[t] = rng.poisson(level * WEEKLY[weekday(start + t)]);
    return { id: String(i), y, promo: null, logPrice: null, group: 'g' };
  });
  return { series, levels };
}

let data: ReturnType<typeof synth>;
let model: GlobalModel;
let forecasts: Float64Array[];

beforeAll(async () => {
  await initBackend();
  data = synth(24, 3);
  model = await fitGlobal(data.series, T, opts);
  forecasts = model.forecast(data.series, data.series.map((_, i) => i), T, H);
});

describe('global model', () => {
  test('recovers each series level and the weekday pattern', () => {
    const ratioByWeekday = new Array(7).fill(0);
    const count = new Array(7).fill(0);
    forecasts.forEach((f, i) => {
      let s = 0;
      for (const v of f) s += v;
      // Level: the mean forecast over 4 whole weeks is the level (the weekly pattern has mean 1), within 8 %
      // (a 112-day mean of a Poisson series of level 5 has a standard error of 4 %).
      expect(Math.abs(s / H / data.levels[i] - 1)).toBeLessThan(0.08);
      for (let h = 0; h < H; h++) {
        const wd = weekday(start + T + h);
        ratioByWeekday[wd] += f[h] / data.levels[i];
        count[wd]++;
      }
    });
    for (let d = 0; d < 7; d++) expect(Math.abs(ratioByWeekday[d] / count[d] - WEEKLY[d])).toBeLessThan(0.06);
  });

  test('never negative, finite, one value per day', () => {
    expect(forecasts).toHaveLength(data.series.length);
    for (const f of forecasts) {
      expect(f).toHaveLength(H);
      for (const v of f) {
        expect(Number.isFinite(v)).toBe(true);
        expect(v).toBeGreaterThanOrEqual(0);
      }
    }
  });

  // One refit serves two claims: the same seed gives the same model (deterministic), and data at or
  // after trainEnd, rewritten to anything, cannot change it (no look-ahead).
  test('deterministic for a seed; demand at or after trainEnd changes nothing', async () => {
    const rewritten = data.series.map((s) => {
      const y = Float64Array.from(s.y);
      for (let t = T; t < y.length; t++) y[t] = t % 3 === 0 ? NaN : 1000 + t;
      return { ...s, y };
    });
    const m = await fitGlobal(rewritten, T, opts);
    expect(m.forecast(rewritten, rewritten.map((_, i) => i), T, H)).toEqual(forecasts);
  });

  test('stored and reloaded, it forecasts the same', () => {
    const json = JSON.parse(JSON.stringify(model.toJSON()));
    const back = globalFromJSON(json);
    expect(back.forecast(data.series, [1, 2], T, H)).toEqual([forecasts[1], forecasts[2]]);
    expect(() => globalFromJSON({ kind: 'other' })).toThrow(/unknown or unsupported/);
  });

  test('saved in global_models, the model a run date may use is loaded back', async () => {
    const db = await newDb(join(tempDir(), 'g.db'));
    expect((await loadGlobalModel(db, '2026-01-01'))).toBeNull();
    const first = await saveGlobalModel(db, { model, trainedAt: '2025-12-01T00:00:00Z', trainEnd: '2025-11-30', metrics: { series: 24 } });
    const second = await saveGlobalModel(db, { model, trainedAt: '2025-12-08T00:00:00Z', trainEnd: '2025-12-07' });
    const statuses = db.sqlite!.prepare('select id, status from global_models order by id').all();
    expect(statuses).toEqual([{ id: first, status: 'retired' }, { id: second, status: 'active' }]);
    const now = (await loadGlobalModel(db, '2025-12-10'))!;
    expect(now.id).toBe(second);
    expect(now.model.forecast(data.series, [3], T, H)).toEqual([forecasts[3]]);
    // A replay of an earlier date never uses a model that saw its future.
    expect((await loadGlobalModel(db, '2025-12-05'))!.id).toBe(first);
    expect((await loadGlobalModel(db, '2025-11-30'))).toBeNull();
    await db.close();
  });

  test('with no series long enough it is marked untrained and forecasts the recent level', async () => {
    const y = new Float64Array(20).fill(3);
    const s: EngineSeries[] = [{ id: 'a', y, promo: null, logPrice: null, group: 'g' }];
    const m = await fitGlobal(s, 20, opts);
    expect((m.toJSON() as { params: { trained: boolean } }).params.trained).toBe(false);
    expect(Array.from(m.forecast(s, [0], 20, 3)[0])).toEqual([3, 3, 3]);
  });
});
