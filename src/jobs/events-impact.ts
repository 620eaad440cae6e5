/**
 * events-impact: measured uplift of past events, pooled, applied to upcoming ones.
 *
 * For each past event occurrence and each series in its scope, on the event's
 * days with known demand:
 *   uplift = sum(actual) / sum(baseline)
 * where the baseline of a day is the mean demand of the same weekday in the 4
 * weeks before the event, skipping other event days and stock-out days. Pairs
 * whose baseline totals less than 5 units are too noisy and are skipped.
 * Factors are pooled by event (kind:name) and category: the baseline-weighted
 * mean uplift, its spread (standard deviation of the uplifts) and the number of
 * observations n; and by event over all categories ('*').
 *
 * Application to today's forecasts, for days inside upcoming events: factor of
 * (event, category) when n >= 3, else (event, '*') when n >= 3, else
 * 1 + planned_uplift, else 1. (A planned uplift applied beside a measured
 * pooled row with n < 3 is not listed again: the measured row keeps the key.)
 * When several events overlap a day the largest factor applies, except a
 * closure (factor 0, planned_uplift -1), which wins. Series whose model
 * already carries the event kind as a regressor (regression: holidays and promotions) keep factor 1: no double
 * counting. yhat = base_yhat x factor (and the interval bounds alike), so
 * re-running is idempotent.
 */
import { addDays, dayNumber, fromDayNumber } from '../dates.js';
import { historyFor } from '../db/history.js';
import { applyEventFactors, eventsBetween, forecastCount, runSeries, type DayFactor, type EventRow } from '../db/forecasts.js';
import { carriedEvents } from '../db/models.js';
import { MissingInputError } from '../errors.js';
import type { Job } from './types.js';
import { roundTo } from '../numbers.js';


export const eventsImpactJob: Job = {
  name: 'events-impact',
  readsHistory: true,
  description: 'measure past event uplifts per event and category; apply them to upcoming event days in the forecasts',
  dependsOn: ['predict'],
  async run(ctx) {
    const { asOf } = ctx;
    const q = ctx.db.kysely;
    const nf = await forecastCount(q, asOf);
    if (!nf) throw new MissingInputError(`forecasts for run date ${asOf}`, `optiflow predict --as-of ${asOf}`);
    const days = ctx.config.train.historyDays;
    const hist = await historyFor(ctx, days, 0, { demandOnly: true });
    const events = await eventsBetween(q, addDays(asOf, -days), addDays(asOf, ctx.config.horizon + 60));
    const eventDays = new Set<number>();
    for (const e of events) for (let d = dayNumber(e.start_date); d <= dayNumber(e.end_date); d++) eventDays.add(d);
    const inScope = (e: EventRow, r: { productId: number; locationId: number; category: string }) =>
      (e.product_id === null || e.product_id === r.productId) && (e.category === null || e.category === r.category) && (e.location_id === null || e.location_id === r.locationId);

    // Measure.
    type Acc = { w: number; sum: number; xs: number[] };
    const acc = new Map<string, Acc>();
    const add = (key: string, ratio: number, weight: number) => {
      const a = acc.get(key) ?? { w: 0, sum: 0, xs: [] };
      a.w += weight;
      a.sum += ratio * weight;
      a.xs.push(ratio);
      acc.set(key, a);
    };
    for (const e of events) {
      const s0 = dayNumber(e.start_date);
      const s1 = Math.min(dayNumber(e.end_date), dayNumber(asOf) - 1);
      if (s0 > s1 || s0 - 28 < hist.startDay) continue;
      const ek = `${e.kind}:${e.name}`;
      hist.refs.forEach((r, i) => {
        if (!inScope(e, r)) return;
        const y = hist.series[i].y;
        let act = 0;
        let base = 0;
        for (let d = s0; d <= s1; d++) {
          const t = d - hist.startDay;
          if (Number.isNaN(y[t])) continue;
          let b = 0;
          let n = 0;
          for (let w = 1; w <= 4; w++) {
            // Same weekday, w weeks before the event's start.
            const u = t - 7 * (w + Math.floor((d - s0) / 7));
            if (u < 0 || eventDays.has(u + hist.startDay) || Number.isNaN(y[u])) continue;
            b += y[u];
            n++;
          }
          if (!n) continue;
          act += y[t];
          base += b / n;
        }
        if (base < 5) return;
        add(`${ek}|${r.category}`, act / base, base);
        add(`${ek}|*`, act / base, base);
      });
    }
    const factors = [...acc.entries()].map(([k, a]) => {
      const [ek, category] = k.split('|');
      const mean = a.sum / a.w;
      const sd = a.xs.length > 1 ? Math.sqrt(a.xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (a.xs.length - 1)) : null;
      return { event: ek, category, factor: roundTo(mean, 3), sd: sd === null ? null : roundTo(sd, 3), n: a.xs.length, source: 'measured' };
    });
    const byKey = new Map(factors.map((f) => [`${f.event}|${f.category}`, f]));

    // Apply to today's forecasts.
    const upcoming = events.filter((e) => e.end_date >= asOf);
    // One row per series of today's run, then each model's event kinds once.
    const series = await runSeries(q, asOf);
    const carriesOf = await carriedEvents(ctx.db);
    const planned: { event: string; category: string; factor: number; sd: null; n: number; source: string }[] = [];
    let skippedCarried = 0;
    const toApply: DayFactor[] = [];
    {
      for (const s of series) {
        const carries: string[] = s.model_id !== null ? (carriesOf.get(s.model_id) ?? []) : [];
        const dayFactor = new Map<number, number>();
        for (const e of upcoming) {
          if (!inScope(e, { productId: s.product_id, locationId: s.location_id, category: s.category })) continue;
          if (carries.includes(e.kind)) {
            skippedCarried++;
            continue;
          }
          const ek = `${e.kind}:${e.name}`;
          const f = pick(byKey.get(`${ek}|${s.category}`)) ?? pick(byKey.get(`${ek}|*`));
          const factor = f ?? (e.planned_uplift !== null ? 1 + e.planned_uplift : 1);
          // The planned uplift's row, unless a measured row (too few observations to apply) already holds that key.
          if (f === undefined && e.planned_uplift !== null && !byKey.has(`${ek}|*`) && !planned.some((p) => p.event === ek))
            planned.push({ event: ek, category: '*', factor: roundTo(factor, 3), sd: null, n: 0, source: 'planned' });
          // The largest factor of the day's events, except that a closure (factor 0: planned_uplift -1) wins.
          for (let d = Math.max(dayNumber(e.start_date), dayNumber(asOf)); d <= dayNumber(e.end_date); d++) {
            const was = dayFactor.get(d);
            dayFactor.set(d, was === undefined ? factor : was <= 0 || factor <= 0 ? 0 : Math.max(was, factor));
          }
        }
        for (const [d, f] of dayFactor) {
          if (f === 1) continue;
          toApply.push({ productId: s.product_id, locationId: s.location_id, date: fromDayNumber(d), factor: f });
        }
      }
    }
    // Forecast days = base x factor, rounded to 4 decimals as predict rounds them; the factors of the day replaced.
    const adjusted = await applyEventFactors(ctx.db, asOf, toApply, [...factors, ...planned], (x) => roundTo(x, 4));
    const rows = [...factors, ...planned].sort((a, b) => a.event.localeCompare(b.event) || a.category.localeCompare(b.category));
    ctx.log.info(`events-impact: ${factors.length} measured factors, ${adjusted} forecast days adjusted, ${skippedCarried} event/series pairs left to models that carry the event`);
    return { summary: { factors: factors.length, planned: planned.length, adjusted_days: adjusted, carried_by_model: skippedCarried }, rows };
  },
};

function pick(f: { factor: number; n: number } | undefined): number | undefined {
  return f && f.n >= 3 ? f.factor : undefined;
}