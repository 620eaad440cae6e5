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
 * (exact penalised maximum likelihood by Newton steps, at most ~5,000 sampled days) learned from past days: features of day t
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
import { incidentsBefore, perishableSales, perishableSeries, perishableStockRows, replaceQualityRisk, zoneDays as readZoneDays, type Perishable } from '../db/quality.js';
import { addDays, dayNumber, fromDayNumber } from '../dates.js';
import { type Job, type JobContext, withoutIds } from './types.js';
import { roundTo } from '../numbers.js';
import { collectGarbage } from '../gc.js';

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

export async function assessQuality(ctx: JobContext, o: { minIncidents?: number } = {}) {
  const { asOf } = ctx;
  const q = ctx.db.kysely;
  const items = await perishableSeries(q);
  const end = dayNumber(asOf);
  // Daily zone conditions per location and storage class over the last 400 days.
  const zoneDays = new Map<string, { exc: number; hum: number }>();
  for (const [zone, [lo, hi]] of Object.entries(RANGES))
    for (const r of await readZoneDays(q, zone, lo, hi, addDays(asOf, -400), asOf))
      zoneDays.set(`${r.location_id}|${zone}|${dayNumber(r.d)}`, { exc: r.out / r.n, hum: r.hum / r.n });
  const incidentDays = new Map<string, number[]>();
  for (const r of await incidentsBefore(q, asOf)) {
    const k = `${r.product_id}:${r.location_id}`;
    (incidentDays.get(k) ?? incidentDays.set(k, []).get(k)!).push(dayNumber(r.date));
  }
  // Features are read on mornings in [end - 365, end]: daily sales from 28 days before the first,
  // stock rows from the latest before the first.
  const firstDay = end - 365;
  const salesStart = firstDay - 28;
  // Read a chunk of products at a time: the rows of a query are objects, and a year of rows for every
  // perishable series at once held gigabytes on large databases; the arrays kept per series are small.
  const sales = new Map<string, Float64Array>();
  // Stock rows per series as typed arrays (day numbers, units): a year of daily rows as JavaScript arrays held several times more.
  const stock = new Map<string, { days: Int32Array; onHand: Float64Array }>();
  const productIds = [...new Set(items.map((it) => it.product_id))].sort((a, b) => a - b);
  const CHUNK = 500; // products per read: a chunk's rows are objects until they are folded into the arrays (100 made the night's quality-risk about twice as slow)
  for (let c = 0; c < productIds.length; c += CHUNK) {
    // The last chunk's row objects are garbage now: collected before this chunk reads its own (they piled up
    // over the chunks, beside whatever the rest of the night holds, before V8 collected them).
    if (c > 0) collectGarbage();
    const range = { from: productIds[c], to: productIds[Math.min(c + CHUNK, productIds.length) - 1] };
    for (const r of await perishableSales(q, fromDayNumber(salesStart), asOf, range)) {
      const k = `${r.product_id}:${r.location_id}`;
      (sales.get(k) ?? sales.set(k, new Float64Array(end - salesStart)).get(k)!)[dayNumber(r.date) - salesStart] = Number(r.quantity);
    }
    const rows = await perishableStockRows(q, fromDayNumber(firstDay), asOf, range);
    for (let a = 0; a < rows.length; ) {
      const { product_id: p, location_id: l } = rows[a];
      let b = a;
      while (b < rows.length && rows[b].product_id === p && rows[b].location_id === l) b++;
      const s = { days: new Int32Array(b - a), onHand: new Float64Array(b - a) };
      for (let j = a; j < b; j++) {
        s.days[j - a] = dayNumber(rows[j].date);
        s.onHand[j - a] = Number(rows[j].on_hand);
      }
      stock.set(`${p}:${l}`, s);
      a = b;
    }
  }
  /** Current stock on the morning of `day`: the latest stock row dated before it (0 when none). */
  const onHandBefore = (k: string, day: number): number => {
    const s = stock.get(k);
    if (!s) return 0;
    let lo = 0;
    let hi = s.days.length; // first index with days >= day
    while (lo < hi) {
      const m = (lo + hi) >> 1;
      if (s.days[m] < day) lo = m + 1;
      else hi = m;
    }
    return lo > 0 ? s.onHand[lo - 1] : 0;
  };
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
    const key = `${it.product_id}:${it.location_id}`;
    const ys = sales.get(key);
    let sold = 0;
    if (ys) for (let d = day - 28; d < day; d++) sold += ys[d - salesStart];
    const rate = sold / 28;
    const onHand = onHandBefore(key, day);
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
        const fit = fitLogistic(trainIdx.map((k) => X[k]), trainIdx.map((k) => Y[k]));
        fit(testIdx.map((k) => X[k])).forEach((p, j) => (oof[testIdx[j]] = p));
      }
      const ok = oof.map((_, k) => k).filter((k) => Number.isFinite(oof[k]));
      calibration = calibrationTable(ok.map((k) => oof[k]), ok.map((k) => Y[k]), ok.map((k) => who[k]));
      alert = alertThreshold(ok.map((k) => oof[k]), ok.map((k) => Y[k]), baseRate);
      noAlertWhy = alert ? null : `no risk level reaches a precision of ${MIN_ALERT_PRECISION * 100} % (and twice the base rate ${(baseRate * 100).toFixed(1)} %) over at least 20 past series-weeks: the risk is stated, no alert is raised`;
      predictAll = fitLogistic(X, Y);
      method = `logistic (${Y.length} rows, ${pos} with incidents)`;
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
  // What the assessment read is garbage now (the closures above hold the maps until this function returns): collected
  // before the write, which may wait a while for another job's write lock (predict's, on a large night).
  sales.clear();
  stock.clear();
  zoneDays.clear();
  incidentDays.clear();
  collectGarbage();
  const precision = alert ? roundTo(alert.precision, 4) : null;
  await replaceQualityRisk(q, asOf, method, rows.map((r) => ({
    product_id: r.product_id, location_id: r.location_id, risk: r.risk, level: r.level,
    details: JSON.stringify({ excursion: r.excursion, humidity: r.humidity, age: r.age, incidents: r.incidents, alert_threshold: alert?.threshold ?? null, alert_precision: precision }),
  })));
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

/**
 * A logistic regression fitted by Newton steps (iteratively reweighted least
 * squares) to its exact penalised maximum likelihood: every row counts once,
 * the bias starts at logit(base rate) and is not penalised, so at convergence
 * the mean fitted risk equals the base rate of the rows. Hand-written for
 * speed: five fits (four folds and the final one) of a 5-parameter model take
 * milliseconds this way, against seconds each with TensorFlow.js gradient steps
 * on the CPU backends, and Newton converges without a learning rate to tune.
 */
export function fitLogistic(X: number[][], Y: number[], l2 = L2): (fs: number[][]) => number[] {
  const k = (X[0]?.length ?? 0) + 1;
  const n = Y.length;
  const p0 = Math.min(0.99, Math.max(0.01, Y.reduce((a, b) => a + b, 0) / Math.max(1, n)));
  const w = new Array<number>(k).fill(0);
  w[k - 1] = Math.log(p0 / (1 - p0));
  const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
  const score = (x: number[]) => sigmoid(x.reduce((a, v, j) => a + v * w[j], w[k - 1]));
  for (let it = 0; it < 50; it++) {
    // Gradient g and Hessian H of the penalised negative log-likelihood (penalty l2 |w|^2 on the mean log-loss, the weights only).
    const g = new Array<number>(k).fill(0);
    const H = Array.from({ length: k }, () => new Array<number>(k).fill(0));
    for (let r = 0; r < n; r++) {
      const x = [...X[r], 1];
      const p = score(X[r]);
      const v = p * (1 - p);
      for (let a = 0; a < k; a++) {
        g[a] += (p - Y[r]) * x[a];
        for (let b = 0; b <= a; b++) H[a][b] += v * x[a] * x[b];
      }
    }
    for (let a = 0; a < k; a++) for (let b = 0; b < a; b++) H[b][a] = H[a][b];
    for (let a = 0; a < k - 1; a++) {
      g[a] += 2 * l2 * n * w[a];
      H[a][a] += 2 * l2 * n;
    }
    const step = solve(H, g);
    let size = 0;
    for (let a = 0; a < k; a++) {
      w[a] -= step[a];
      size = Math.max(size, Math.abs(step[a]));
    }
    if (size < 1e-8) break;
  }
  return (fs: number[][]) => fs.map(score);
}

/** Gaussian elimination with partial pivoting for the small Newton system H s = g. */
function solve(H: number[][], g: number[]): number[] {
  const k = g.length;
  const A = H.map((row, i) => [...row, g[i]]);
  for (let c = 0; c < k; c++) {
    let piv = c;
    for (let r = c + 1; r < k; r++) if (Math.abs(A[r][c]) > Math.abs(A[piv][c])) piv = r;
    [A[c], A[piv]] = [A[piv], A[c]];
    const d = A[c][c] || 1e-12;
    for (let r = 0; r < k; r++) {
      if (r === c) continue;
      const f = A[r][c] / d;
      for (let j = c; j <= k; j++) A[r][j] -= f * A[c][j];
    }
  }
  return A.map((row, i) => row[k] / (A[i][i] || 1e-12));
}

export const qualityRiskJob: Job = {
  name: 'quality-risk',
  isolated: true,
  description: 'calibrated risk of a quality incident within 7 days per perishable series, with a calibration table and an alert level of stated precision (feeds alerts)',
  dependsOn: [],
  run: (ctx) => assessQuality(ctx),
};
