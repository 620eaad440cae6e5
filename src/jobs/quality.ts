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
 * -> an incident on t..t+6. Every row counts once (no oversampling of the rare
 * incident rows) and the bias starts at logit(base rate), so the fitted risk is
 * a probability that keeps the true base rate.
 *
 * Calibration: the rows are cut into 4 consecutive time blocks; each block is
 * scored by a model fitted on the other three (out of fold), so every row gets
 * a risk from a model that never saw it. The calibration table puts those
 * rows in risk deciles (0-10 %, 10-20 %, ... 90-100 %): per decile, the rows,
 * the distinct series, the mean predicted risk and the observed incident
 * frequency. Today's risks come from the model fitted on every row.
 *
 * Alert level: the lowest risk t among the out-of-fold risks whose precision
 * (share of rows with risk >= t that had an incident within 7 days) is at least
 * MIN_ALERT_PRECISION and at least twice the base rate, over at least 20 rows.
 * Levels: high = risk >= t, critical = risk >= max(t, 0.5) (an incident more
 * likely than not), medium = risk >= base rate, low otherwise. `alerts` raises kind `quality` for high (ATTENTION) and
 * critical (CRITIQUE), with that precision in the message. With no level that
 * meets the rule (or under the rules below) there are no quality alerts, and
 * the summary says why.
 *
 * Fewer incidents: the documented rule, a score (not a probability):
 *   risk = 1 - (1 - 0.6 excursion)(1 - 0.2 humidity)(1 - 0.4 age)(1 - 0.3 incidents)
 *
 * A series whose inputs cannot give a risk (shelf life 0 or missing, a
 * non-finite feature) is skipped and named in `skipped`; the others go on.
 */
import { STOCK_BEFORE_SQL } from '../db/snapshot.js';
import { addDays, dayNumber, fromDayNumber } from '../dates.js';
import { initBackend, tf } from '../ml/backend.js';
import { type Job, type JobContext, withoutIds } from './types.js';
import { roundTo } from '../numbers.js';

const RANGES: Record<string, [number, number]> = { chilled: [0, 5], frozen: [-40, -15], ambient: [5, 25] };

export type RiskLevel = 'low' | 'medium' | 'high' | 'critical';

/** Level of a risk against the base rate and the alert threshold (null = no alert level). */
export function riskLevel(r: number, baseRate: number, alertAt: number | null): RiskLevel {
  if (alertAt !== null && r >= alertAt) return r >= Math.max(alertAt, 0.5) ? 'critical' : 'high';
  return r >= baseRate ? 'medium' : 'low';
}

/** An alert sends someone to inspect stock: at least one inspection in five should find a problem. */
export const MIN_ALERT_PRECISION = 0.2;

export interface CalibrationBin { decile: string; rows: number; series: number; predicted_mean: number; observed: number; incidents: number; ratio: number | null }

/** Out-of-fold risks in deciles of risk (0-10 %, ...): mean predicted risk against observed frequency. */
export function calibrationTable(pred: number[], y: number[], seriesOf: string[]): CalibrationBin[] {
  const out: CalibrationBin[] = [];
  for (let d = 0; d < 10; d++) {
    const part = pred.map((_, i) => i).filter((i) => Math.min(9, Math.floor(pred[i] * 10)) === d);
    if (!part.length) continue;
    const pos = part.reduce((s, i) => s + y[i], 0);
    const mean = part.reduce((s, i) => s + pred[i], 0) / part.length;
    const obs = pos / part.length;
    out.push({
      decile: `${d * 10}-${d * 10 + 10} %`, rows: part.length, series: new Set(part.map((i) => seriesOf[i])).size, predicted_mean: roundTo(mean, 4), observed: roundTo(obs, 4), incidents: pos,
      ratio: mean > 0 ? roundTo(obs / mean, 3) : null,
    });
  }
  return out;
}

/** The alert threshold rule (see the header) and its precision on out-of-fold risks. */
export function alertThreshold(pred: number[], y: number[], baseRate: number): { threshold: number; precision: number; rows: number } | null {
  const order = pred.map((_, i) => i).sort((a, b) => pred[b] - pred[a]);
  let best: { threshold: number; precision: number; rows: number } | null = null;
  let n = 0;
  let pos = 0;
  for (let k = 0; k < order.length; k++) {
    n++;
    pos += y[order[k]];
    // Only at the end of a run of equal risks: a threshold takes all of them.
    if (k + 1 < order.length && pred[order[k + 1]] === pred[order[k]]) continue;
    if (n >= 20 && pos / n >= Math.max(MIN_ALERT_PRECISION, 2 * baseRate)) best = { threshold: roundTo(pred[order[k]], 4), precision: pos / n, rows: n };
  }
  return best;
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
  const featuresAt = (it: Perishable, day: number): number[] | null => {
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
    // No shelf life to age against (0 or missing): no risk, the series is skipped and named.
    if (!(it.shelf > 0)) return null;
    const f = [Math.min(1, n ? (5 * exc) / n : 0), n ? hum / n : 0, Math.min(1, cover / it.shelf), Math.min(1, inc / 5)];
    return f.every(Number.isFinite) ? f : null;
  };
  const totalIncidents = [...incidentDays.values()].reduce((s, d) => s + d.length, 0);
  const minIncidents = o.minIncidents ?? 30;
  let method = 'rules';
  let predictAll = (fs: number[][]) => fs.map(ruleRisk);
  let calibration: CalibrationBin[] = [];
  let alert: { threshold: number; precision: number; rows: number } | null = null;
  let baseRate = 0;
  let noAlertWhy: string | null = `fewer than ${minIncidents} recorded incidents (${totalIncidents}): the risk is a rule score, not a probability, so no alert level has a known precision`;
  if (totalIncidents >= minIncidents && items.length) {
    await initBackend(ctx.log);
    // Training rows: every 7th day of the last year per series; label: an incident within the next 7 days.
    const X: number[][] = [];
    const Y: number[] = [];
    const day: number[] = [];
    const who: string[] = [];
    // At most ~5,000 rows: the step between sampled days grows with the number of series.
    const step = Math.max(7, Math.ceil((items.length * 52 * 7) / 5000));
    items.forEach((it, k) => {
      const inc = incidentDays.get(`${it.product_id}:${it.location_id}`) ?? [];
      // Staggered start per series, so a sparse sample still spreads over the whole year.
      for (let d = end - 365 + ((k * 7919) % step); d < end - 7; d += step) {
        const f = featuresAt(it, d);
        if (!f) continue;
        X.push(f);
        Y.push(inc.some((x) => x >= d && x < d + 7) ? 1 : 0);
        day.push(d);
        who.push(`${it.sku}@${it.location}`);
      }
    });
    const pos = Y.filter((y) => y === 1).length;
    baseRate = Y.length ? pos / Y.length : 0;
    if (pos >= 5 && pos < Y.length) {
      // Out of fold: 4 consecutive time blocks, each scored by a model fitted on the other three.
      const first = end - 365;
      const oof = new Array<number>(Y.length).fill(NaN);
      for (let b = 0; b < 4; b++) {
        const inBlock = (k: number) => Math.min(3, Math.floor(((day[k] - first) * 4) / 358)) === b;
        const trainIdx = X.map((_, k) => k).filter((k) => !inBlock(k));
        const testIdx = X.map((_, k) => k).filter(inBlock);
        if (!testIdx.length) continue;
        const fit = await fitLogistic(trainIdx.map((k) => X[k]), trainIdx.map((k) => Y[k]));
        fit(testIdx.map((k) => X[k])).forEach((p, j) => (oof[testIdx[j]] = p));
      }
      const ok = oof.map((_, k) => k).filter((k) => Number.isFinite(oof[k]));
      calibration = calibrationTable(ok.map((k) => oof[k]), ok.map((k) => Y[k]), ok.map((k) => who[k]));
      alert = alertThreshold(ok.map((k) => oof[k]), ok.map((k) => Y[k]), baseRate);
      noAlertWhy = alert ? null : `no risk level reaches a precision of ${MIN_ALERT_PRECISION * 100} % (and twice the base rate ${(baseRate * 100).toFixed(1)} %) over at least 20 past series-weeks: the risk is stated, no alert is raised`;
      predictAll = await fitLogistic(X, Y);
      method = `logistic (TensorFlow.js, ${Y.length} rows, ${pos} with incidents)`;
    } else noAlertWhy = `only ${pos} sampled weeks with an incident: too few to learn a risk`;
  }
  const skipped: { sku: string; location: string; reason: string }[] = [];
  const scored: { it: Perishable; f: number[] }[] = [];
  for (const it of items) {
    const f = featuresAt(it, end);
    if (f) scored.push({ it, f });
    else skipped.push({ sku: it.sku, location: it.location, reason: !(it.shelf > 0) ? `shelf_life_days is ${it.shelf}: no shelf life to age the stock against; fix it with optiflow import products` : 'a feature could not be computed (non-finite)' });
  }
  for (const sk of skipped) ctx.log.warn(`quality-risk: ${sk.sku}@${sk.location} skipped: ${sk.reason}`);
  const risks = predictAll(scored.map((x) => x.f));
  const rows = scored.map(({ it, f }, k) => {
    const risk = Math.round(risks[k] * 1000) / 1000;
    const level = method === 'rules' ? (risk >= 0.3 ? 'medium' : 'low') : riskLevel(risk, baseRate, alert?.threshold ?? null);
    return { sku: it.sku, location: it.location, storage: it.storage, shelf_life_days: it.shelf, risk, level, excursion: roundTo(f[0], 3), humidity: roundTo(f[1], 3), age: roundTo(f[2], 3), incidents: roundTo(f[3], 3), product_id: it.product_id, location_id: it.location_id };
  });
  rows.sort((a, b) => b.risk - a.risk);
  const precision = alert ? roundTo(alert.precision, 4) : null;
  const ins = sqlite.prepare('insert or replace into quality_risk (product_id, location_id, date, risk, level, method, details) values (?, ?, ?, ?, ?, ?, ?)');
  sqlite.transaction(() => {
    sqlite.prepare('delete from quality_risk where date = ?').run(asOf);
    for (const r of rows) ins.run(r.product_id, r.location_id, asOf, r.risk, r.level, method, JSON.stringify({ excursion: r.excursion, humidity: r.humidity, age: r.age, incidents: r.incidents, alert_threshold: alert?.threshold ?? null, alert_precision: precision }));
  })();
  const count = (l: string) => rows.filter((r) => r.level === l).length;
  return {
    summary: {
      series: rows.length, method, incidents: totalIncidents, base_rate: roundTo(baseRate, 4), alert_threshold: alert?.threshold ?? null, alert_precision: precision,
      alert_rule: alert ? `risk >= ${alert.threshold}: ${(alert.precision * 100).toFixed(1)} % of ${alert.rows} past series-weeks (out of fold) at this risk had an incident within 7 days` : `no quality alerts: ${noAlertWhy}`,
      low: count('low'), medium: count('medium'), high: count('high'), critical: count('critical'), skipped: skipped.length,
    },
    calibration,
    skipped,
    rows: rows.map(withoutIds),
  };
}

/**
 * A weak signal (a few incident days shared by many series) would otherwise be
 * fitted as a strong one: a small L2 penalty on the weights (not the bias)
 * pulls an uninformative feature back to zero, so the risk falls back on the
 * base rate instead of overstating it. Features are all on a 0..1 scale, so
 * one penalty fits them all.
 */
const L2 = 0.01;

/** A 4-weight logistic regression by full-batch gradient steps; every row counts once, bias starts at logit(base rate). */
async function fitLogistic(X: number[][], Y: number[]): Promise<(fs: number[][]) => number[]> {
  const p = Math.min(0.99, Math.max(0.01, Y.reduce((a, b) => a + b, 0) / Math.max(1, Y.length)));
  const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, activation: 'sigmoid', inputShape: [4], kernelInitializer: 'zeros', kernelRegularizer: tf.regularizers.l2({ l2: L2 }), biasInitializer: tf.initializers.constant({ value: Math.log(p / (1 - p)) }) })] });
  model.compile({ optimizer: tf.train.adam(0.05), loss: 'binaryCrossentropy' });
  const xs = tf.tensor2d(X);
  const ys = tf.tensor2d(Y, [Y.length, 1]);
  // Full-batch gradient steps: a 4-weight logistic regression needs no mini-batches.
  await model.fit(xs, ys, { epochs: 300, batchSize: Y.length, verbose: 0, shuffle: false });
  xs.dispose();
  ys.dispose();
  return (fs: number[][]) => (fs.length ? Array.from(tf.tidy(() => (model.predict(tf.tensor2d(fs)) as tf.Tensor).dataSync())) : []);
}

export const qualityRiskJob: Job = {
  name: 'quality-risk',
  isolated: true,
  description: 'quality risk 0..1 per perishable series from storage conditions, stock age and incidents (feeds alerts)',
  dependsOn: [],
  run: (ctx) => assessQuality(ctx),
};
