/**
 * quality-risk: a 0..1 risk per perishable series (shelf life set).
 *
 * Features (each 0..1):
 *   excursion   share of the storage zone's sensor readings of the last 7 days
 *               outside the storage class range (chilled 0..5 C, frozen <= -15 C,
 *               ambient 5..25 C), x 5, capped at 1
 *   humidity    share of those readings with humidity above 90 % or below 20 %
 *   age         stock age against shelf life: days of cover at the recent sales
 *               rate / shelf life, capped at 1 (stock that will be old before it sells)
 *   incidents   quality incidents of the series over the last 365 days / 5, capped at 1
 *
 * Model: with at least 30 incidents in the history, a logistic regression
 * (TensorFlow.js, 300 full-batch Adam steps, at most ~5,000 sampled days) learned from past days: features of day t
 * -> an incident on t+1..t+7. Otherwise the documented rule:
 *   risk = 1 - (1 - 0.6 excursion)(1 - 0.2 humidity)(1 - 0.4 age)(1 - 0.3 incidents)
 * Levels: low < 0.3 <= medium < 0.6 <= high < 0.85 <= critical.
 * Written to quality_risk for today; `alerts` raises kind `quality` for high and critical.
 */
import { STOCK_BEFORE_SQL } from '../db/snapshot.js';
import { addDays, dayNumber, fromDayNumber } from '../dates.js';
import { initBackend, tf } from '../ml/backend.js';
import { type Job, type JobContext, withoutIds } from './types.js';
import { roundTo } from '../numbers.js';

const RANGES: Record<string, [number, number]> = { chilled: [0, 5], frozen: [-40, -15], ambient: [5, 25] };

export function riskLevel(r: number): 'low' | 'medium' | 'high' | 'critical' {
  return r < 0.3 ? 'low' : r < 0.6 ? 'medium' : r < 0.85 ? 'high' : 'critical';
}

export function ruleRisk(f: number[]): number {
  const [exc, hum, age, inc] = f;
  return 1 - (1 - 0.6 * exc) * (1 - 0.2 * hum) * (1 - 0.4 * age) * (1 - 0.3 * inc);
}

interface Perishable { product_id: number; location_id: number; sku: string; location: string; storage: string; shelf: number }

export async function assessQuality(ctx: JobContext, o: { minIncidents?: number } = {}) {
  const { sqlite, asOf } = ctx;
  const items = sqlite
    .prepare(
      `select p.id as product_id, l.id as location_id, p.sku, l.code as location, coalesce(p.storage, 'ambient') as storage, p.shelf_life_days as shelf
       from products p cross join locations l where p.shelf_life_days is not null and p.active = 1
       and exists (select 1 from stock_levels s where s.product_id = p.id and s.location_id = l.id)`,
    )
    .all() as Perishable[];
  const end = dayNumber(asOf);
  // Daily zone conditions per location and storage class over the last 400 days.
  const zoneDays = new Map<string, { exc: number; hum: number }>();
  const readings = sqlite.prepare('select location_id, zone, substr(ts, 1, 10) as d, sum(case when temperature_c < ? or temperature_c > ? then 1 else 0 end) as out, sum(case when humidity_pct > 90 or humidity_pct < 20 then 1 else 0 end) as hum, count(*) as n from sensor_readings where zone = ? and ts >= ? and ts < ? group by location_id, d');
  for (const [zone, [lo, hi]] of Object.entries(RANGES))
    for (const r of readings.all(lo, hi, zone, addDays(asOf, -400), asOf) as { location_id: number; d: string; out: number; hum: number; n: number }[])
      zoneDays.set(`${r.location_id}|${zone}|${dayNumber(r.d)}`, { exc: r.out / r.n, hum: r.hum / r.n });
  const incidentDays = new Map<string, number[]>();
  for (const r of sqlite.prepare('select product_id, location_id, date from quality_incidents where date < ?').all(asOf) as { product_id: number; location_id: number; date: string }[]) {
    const k = `${r.product_id}:${r.location_id}`;
    (incidentDays.get(k) ?? incidentDays.set(k, []).get(k)!).push(dayNumber(r.date));
  }
  const salesQ = sqlite.prepare('select coalesce(sum(quantity), 0) as q from sales where product_id = ? and location_id = ? and date >= ? and date < ?');
  const stockQ = sqlite.prepare(STOCK_BEFORE_SQL);
  const featuresAt = (it: Perishable, day: number): number[] => {
    let exc = 0;
    let hum = 0;
    let n = 0;
    for (let d = day - 7; d < day; d++) {
      const z = zoneDays.get(`${it.location_id}|${it.storage}|${d}`);
      if (z) {
        exc += z.exc;
        hum += z.hum;
        n++;
      }
    }
    const rate = (salesQ.get(it.product_id, it.location_id, fromDayNumber(day - 28), fromDayNumber(day)) as { q: number }).q / 28;
    const onHand = (stockQ.get(it.product_id, it.location_id, fromDayNumber(day)) as { on_hand: number } | undefined)?.on_hand ?? 0;
    const cover = rate > 0 ? onHand / rate : onHand > 0 ? it.shelf * 2 : 0;
    const inc = (incidentDays.get(`${it.product_id}:${it.location_id}`) ?? []).filter((d) => d < day && d >= day - 365).length;
    return [Math.min(1, n ? (5 * exc) / n : 0), n ? hum / n : 0, Math.min(1, cover / it.shelf), Math.min(1, inc / 5)];
  };
  const totalIncidents = [...incidentDays.values()].reduce((s, d) => s + d.length, 0);
  const minIncidents = o.minIncidents ?? 30;
  let method = 'rules';
  let predictAll = (fs: number[][]) => fs.map(ruleRisk);
  if (totalIncidents >= minIncidents && items.length) {
    await initBackend(ctx.log);
    // Training rows: every 7th day of the last year per series; label: an incident within the next 7 days.
    const X: number[][] = [];
    const Y: number[] = [];
    // At most ~5,000 rows: the step between sampled days grows with the number of series.
    const step = Math.max(7, Math.ceil((items.length * 52 * 7) / 5000));
    items.forEach((it, k) => {
      const inc = incidentDays.get(`${it.product_id}:${it.location_id}`) ?? [];
      // Staggered start per series, so a sparse sample still spreads over the whole year.
      for (let day = end - 365 + ((k * 7919) % step); day < end - 7; day += step) {
        X.push(featuresAt(it, day));
        Y.push(inc.some((d) => d >= day && d < day + 7) ? 1 : 0);
      }
    });
    const pos = Y.filter((y) => y === 1).length;
    if (pos >= 5 && pos < Y.length) {
      const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, activation: 'sigmoid', inputShape: [4], kernelInitializer: 'zeros' })] });
      model.compile({ optimizer: tf.train.adam(0.05), loss: 'binaryCrossentropy' });
      // Balance the classes (repeat the rare incident rows) so they move the weights; the prior is restored below.
      const reps = Math.max(1, Math.round((Y.length - pos) / pos));
      const bx: number[][] = [];
      const by: number[] = [];
      X.forEach((x, k) => {
        for (let r = 0; r < (Y[k] ? reps : 1); r++) {
          bx.push(x);
          by.push(Y[k]);
        }
      });
      const xs = tf.tensor2d(bx);
      const ys = tf.tensor2d(by, [by.length, 1]);
      // Full-batch gradient steps: a 4-weight logistic regression needs no mini-batches.
      await model.fit(xs, ys, { epochs: 300, batchSize: by.length, verbose: 0, shuffle: false });
      xs.dispose();
      ys.dispose();
      predictAll = (fs: number[][]) => (fs.length ? Array.from(tf.tidy(() => (model.predict(tf.tensor2d(fs)) as tf.Tensor).dataSync())) : []);
      method = `logistic (TensorFlow.js, ${Y.length} rows, ${pos} with incidents)`;
    }
  }
  const feats = items.map((it) => featuresAt(it, end));
  const risks = predictAll(feats);
  const rows = items.map((it, k) => {
    const f = feats[k];
    const risk = Math.round(risks[k] * 1000) / 1000;
    return { sku: it.sku, location: it.location, storage: it.storage, shelf_life_days: it.shelf, risk, level: riskLevel(risk), excursion: roundTo(f[0], 3), humidity: roundTo(f[1], 3), age: roundTo(f[2], 3), incidents: roundTo(f[3], 3), product_id: it.product_id, location_id: it.location_id };
  });
  rows.sort((a, b) => b.risk - a.risk);
  const ins = sqlite.prepare('insert or replace into quality_risk (product_id, location_id, date, risk, level, method, details) values (?, ?, ?, ?, ?, ?, ?)');
  sqlite.transaction(() => {
    sqlite.prepare('delete from quality_risk where date = ?').run(asOf);
    for (const r of rows) ins.run(r.product_id, r.location_id, asOf, r.risk, r.level, method, JSON.stringify({ excursion: r.excursion, humidity: r.humidity, age: r.age, incidents: r.incidents }));
  })();
  const count = (l: string) => rows.filter((r) => r.level === l).length;
  return {
    summary: { series: rows.length, method, incidents: totalIncidents, low: count('low'), medium: count('medium'), high: count('high'), critical: count('critical') },
    rows: rows.map(withoutIds),
  };
}

export const qualityRiskJob: Job = {
  name: 'quality-risk',
  isolated: true,
  description: 'quality risk 0..1 per perishable series from storage conditions, stock age and incidents (feeds alerts)',
  dependsOn: [],
  run: (ctx) => assessQuality(ctx),
};
