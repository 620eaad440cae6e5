/**
 * alerts: in one transaction, deactivate earlier active alerts and write
 * today's (rules in src/inventory/alert-rules.ts). Re-running the same day
 * updates today's alerts in place (same ids, no second notification).
 * CRITIQUE alerts queue a notification, sent after commit (src/jobs/notify.ts).
 */
import { seriesWithForecasts, StateReader, type ProductRef } from '../db/state.js';
import { requireCoverage, STOCK_FIX } from '../db/coverage.js';
import { evaluateAlerts, type AlertThresholds } from '../inventory/alert-rules.js';
import { MissingInputError } from '../errors.js';
import { addDays } from '../dates.js';
import { outOfStockSince } from '../db/stockouts.js';
import { activeOverridesBySeries } from '../db/overrides.js';
import { describeOverride } from '../inventory/overrides.js';
import { idempotencyKey, sendPending } from './notify.js';
import { activeAlerts, lockAlertsForWrite, qualityRiskOn, queueNotifications, writeAlertsOfDay } from '../db/alerts.js';
import { inTransaction } from '../db/query.js';
import { productParts } from '../db/handle.js';
import { join } from 'node:path';
import { stateDir } from '../config.js';
import { nowIso, type Job, type JobContext } from './types.js';
import { collectGarbage } from '../gc.js';

/** Series whose state is read at once by `alerts`. */
const SERIES_PER_PART = 2000;

/** Text order by code point, the same on every database (SQL `order by` on PostgreSQL follows the collation). */
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function thresholds(ctx: JobContext): AlertThresholds {
  return {
    ...ctx.config.alerts,
    defaultLeadTimeDays: ctx.config.leadTimeDefaultDays,
    serviceLevel: ctx.config.service.levelB,
    holdingRatePerYear: ctx.config.service.holdingRatePerYear,
    horizonDays: ctx.config.horizon,
  };
}

export const alertsJob: Job = {
  name: 'alerts',
  description: 'project stock per series and raise stock-out, overstock, expiry and quality alerts; notify CRITIQUE',
  dependsOn: ['events-impact', 'quality-risk'],
  async run(ctx, opts = {}) {
    const { asOf } = ctx;
    const refs = await seriesWithForecasts(ctx.db, asOf);
    if (!refs.length) throw new MissingInputError(`forecasts for run date ${asOf}`, `optiflow predict --as-of ${asOf}`);
    await requireCoverage(ctx);
    const reader = new StateReader(ctx.db, asOf);
    const t = thresholds(ctx);
    const quality = new Map<string, { risk: number; level: string; precision?: number | null }>();
    for (const q of await qualityRiskOn(ctx.db.kysely, asOf)) quality.set(`${q.product_id}:${q.location_id}`, q);
    const overrides = await activeOverridesBySeries(ctx.db.kysely, asOf, addDays(asOf, ctx.config.horizon));
    // A series without a stock row has unknown stock: no stock-out, overstock or expiry alert (and no notification).
    let unknownStock = 0;
    const drafts: { r: ProductRef; alerts: ReturnType<typeof evaluateAlerts> }[] = [];
    // A part of the series at a time (whole products, ascending ids): the states of every series at once held
    // the backtest errors of every model in memory; only the alerts are kept.
    const parts = productParts(refs, SERIES_PER_PART);
    for (const part of parts) {
      // Each part's parsed model parameters are garbage once its alerts are made: collected before the next part
      // builds its own (on a large database they piled up to some 0.3 GB before V8 collected them).
      if (parts.length > 1) collectGarbage();
      await reader.preload(part);
      const states = part.map((r) => reader.read(r));
      const since = await outOfStockSince(ctx.db, asOf, states.filter((st) => st.stockKnown && st.onHand <= 0));
      part.forEach((r, i) => {
        const k = `${r.productId}:${r.locationId}`;
        const st = states[i];
        if (!st.stockKnown) {
          unknownStock++;
          drafts.push({ r, alerts: [] });
          return;
        }
        const ov = overrides.get(k);
        drafts.push({ r, alerts: evaluateAlerts(st, asOf, t, quality.get(k), st.onHand <= 0 ? since(r.productId, r.locationId) : null, ov?.length ? ov.map(describeOverride).join('; ') : null) });
      });
    }
    if (unknownStock)
      ctx.log.warn(`alerts: ${unknownStock} of ${refs.length} series have no stock record before ${asOf}: stock unknown, no stock alert raised for them; import stock levels with \`${STOCK_FIX}\``);

    const counts = { CRITIQUE: 0, ATTENTION: 0, INFO: 0 } as Record<string, number>;
    let created = 0;
    let queued = 0;
    const ref = new Map(refs.map((r) => [`${r.productId}:${r.locationId}`, r]));
    await inTransaction(ctx.db, async (trx) => {
      await lockAlertsForWrite(trx, ctx.db.dialect);
      const written = await writeAlertsOfDay(
        trx,
        asOf,
        drafts.flatMap(({ r, alerts }) => alerts.map((a) => ({ productId: r.productId, locationId: r.locationId, severity: a.severity, kind: a.kind, stockoutDate: a.stockoutDate, daysOfCover: a.daysOfCover, suggestedQty: a.suggestedQty, revenueAtRisk: a.revenueAtRisk, message: a.message }))),
      );
      const outbox = [];
      for (const a of written) {
        counts[a.severity]++;
        if (a.created) created++;
        if (!a.needsNotification) continue;
        const r = ref.get(`${a.productId}:${a.locationId}`)!;
        const key = idempotencyKey(a.id, asOf);
        const payload = { alert_id: a.id, idempotency_key: key, severity: a.severity, kind: a.kind, sku: r.sku, location: r.location, created_on: asOf, stockout_date: a.stockoutDate, suggested_qty: a.suggestedQty, message: a.message };
        outbox.push({ alert_id: a.id, channel: ctx.config.notify.channel, payload: JSON.stringify(payload), created_at: nowIso(), idempotency_key: key });
      }
      await queueNotifications(trx, outbox);
      queued = outbox.length;
    });
    const sent = await sendPending(ctx.db, ctx.config.notify, join(stateDir(ctx.config), 'notifications.jsonl'), opts.emit as ((l: string) => void) | undefined);
    if (sent.failed) ctx.log.warn(`alerts: ${sent.failed} notification(s) failed to send; they stay queued and are retried on the next run`);
    if (sent.pending > sent.failed) ctx.log.warn(`alerts: ${sent.pending - sent.failed} notification(s) still queued (time budget notify.budgetSeconds spent, or being sent by another run); the next run sends them`);
    // Today's active alerts, most urgent first: severity, earliest stock-out (none last), SKU.
    const sev = (x: string) => (x === 'CRITIQUE' ? 0 : x === 'ATTENTION' ? 1 : 2);
    const rows = (await activeAlerts(ctx.db.kysely, asOf, asOf))
      .sort((x, y) => sev(x.severity) - sev(y.severity) || (x.stockout_date === null ? 1 : 0) - (y.stockout_date === null ? 1 : 0) || cmp(x.stockout_date ?? '', y.stockout_date ?? '') || cmp(x.sku, y.sku) || x.id - y.id)
      .map((a) => ({ severity: a.severity, kind: a.kind, sku: a.sku, location: a.location, stockout_date: a.stockout_date, days_of_cover: a.days_of_cover, suggested_qty: a.suggested_qty, message: a.message }));
    ctx.log.info(`alerts: ${rows.length} active (${counts.CRITIQUE} CRITIQUE, ${counts.ATTENTION} ATTENTION, ${counts.INFO} INFO); ${queued} notification(s) queued, ${sent.sent} sent`);
    return { summary: { series: refs.length, unknown_stock: unknownStock, ...(unknownStock ? { unknown_stock_fix: STOCK_FIX } : {}), alerts: rows.length, created, critique: counts.CRITIQUE, attention: counts.ATTENTION, info: counts.INFO, notifications_queued: queued, notifications_sent: sent.sent, notifications_failed: sent.failed }, rows };
  },
};

