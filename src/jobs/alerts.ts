/**
 * alerts: in one transaction, deactivate earlier active alerts and write
 * today's (rules in src/inventory/alert-rules.ts). Re-running the same day
 * updates today's alerts in place (same ids, no second notification).
 * CRITIQUE alerts queue a notification, sent after commit (src/jobs/notify.ts).
 */
import { seriesWithForecasts, StateReader } from '../db/state.js';
import { requireCoverage, STOCK_FIX } from '../db/coverage.js';
import { evaluateAlerts, type AlertThresholds } from '../inventory/alert-rules.js';
import { MissingInputError } from '../errors.js';
import { addDays } from '../dates.js';
import { outOfStockSince } from '../db/stockouts.js';
import { overridesBySeries } from './overrides.js';
import { describeOverride } from '../inventory/overrides.js';
import { idempotencyKey, sendPending } from './notify.js';
import { join } from 'node:path';
import { stateDir } from '../config.js';
import { nowIso, type Job, type JobContext } from './types.js';

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
    const { sqlite, asOf } = ctx;
    const refs = await seriesWithForecasts(ctx.db, asOf);
    if (!refs.length) throw new MissingInputError(`forecasts for run date ${asOf}`, `optiflow predict --as-of ${asOf}`);
    await requireCoverage(ctx);
    const reader = await new StateReader(ctx.db, asOf).preload(refs);
    const t = thresholds(ctx);
    const quality = new Map<string, { risk: number; level: string; precision?: number | null }>();
    for (const q of sqlite.prepare(`select product_id, location_id, risk, level, json_extract(details, '$.alert_precision') as precision from quality_risk where date = ?`).all(asOf) as { product_id: number; location_id: number; risk: number; level: string; precision: number | null }[])
      quality.set(`${q.product_id}:${q.location_id}`, q);
    const overrides = overridesBySeries(sqlite, asOf, addDays(asOf, ctx.config.horizon));
    const states = refs.map((r) => reader.read(r));
    const since = await outOfStockSince(ctx.db, asOf, states.filter((st) => st.stockKnown && st.onHand <= 0));
    // A series without a stock row has unknown stock: no stock-out, overstock or expiry alert (and no notification).
    let unknownStock = 0;
    const drafts = refs.map((r, i) => {
      const k = `${r.productId}:${r.locationId}`;
      const st = states[i];
      if (!st.stockKnown) {
        unknownStock++;
        return { r, alerts: [] };
      }
      const ov = overrides.get(k);
      return { r, alerts: evaluateAlerts(st, asOf, t, quality.get(k), st.onHand <= 0 ? since(r.productId, r.locationId) : null, ov?.length ? ov.map(describeOverride).join('; ') : null) };
    });
    if (unknownStock)
      ctx.log.warn(`alerts: ${unknownStock} of ${refs.length} series have no stock record before ${asOf}: stock unknown, no stock alert raised for them; import stock levels with \`${STOCK_FIX}\``);

    const deactivate = sqlite.prepare(`update alerts set active = 0, resolved_on = ? where active = 1 and created_on < ?`);
    const existing = sqlite.prepare(`select id, product_id, location_id, kind from alerts where created_on = ?`);
    const update = sqlite.prepare(`update alerts set severity = ?, stockout_date = ?, days_of_cover = ?, suggested_qty = ?, revenue_at_risk = ?, message = ?, active = 1, resolved_on = null where id = ?`);
    const insert = sqlite.prepare(`insert into alerts (product_id, location_id, created_on, severity, kind, stockout_date, days_of_cover, suggested_qty, revenue_at_risk, message, active) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`);
    const remove = sqlite.prepare('delete from alerts where id = ?');
    const queue = sqlite.prepare('insert into notifications (alert_id, channel, payload, created_at, idempotency_key) values (?, ?, ?, ?, ?)');
    const hasNotification = sqlite.prepare('select 1 from notifications where alert_id = ?');
    const counts = { CRITIQUE: 0, ATTENTION: 0, INFO: 0 } as Record<string, number>;
    let created = 0;
    let queued = 0;
    sqlite.transaction(() => {
      deactivate.run(asOf, asOf);
      const prior = new Map<string, number>();
      for (const a of existing.all(asOf) as { id: number; product_id: number; location_id: number; kind: string }[]) prior.set(`${a.product_id}:${a.location_id}:${a.kind}`, a.id);
      for (const { r, alerts } of drafts) {
        for (const a of alerts) {
          counts[a.severity]++;
          const key = `${r.productId}:${r.locationId}:${a.kind}`;
          let id = prior.get(key);
          if (id !== undefined) {
            update.run(a.severity, a.stockoutDate, a.daysOfCover, a.suggestedQty, a.revenueAtRisk, a.message, id);
            prior.delete(key);
          } else {
            id = Number(insert.run(r.productId, r.locationId, asOf, a.severity, a.kind, a.stockoutDate, a.daysOfCover, a.suggestedQty, a.revenueAtRisk, a.message).lastInsertRowid);
            created++;
          }
          if (a.severity === 'CRITIQUE' && !hasNotification.get(id)) {
            const key = idempotencyKey(id, asOf);
            const payload = { alert_id: id, idempotency_key: key, severity: a.severity, kind: a.kind, sku: r.sku, location: r.location, created_on: asOf, stockout_date: a.stockoutDate, suggested_qty: a.suggestedQty, message: a.message };
            queue.run(id, ctx.config.notify.channel, JSON.stringify(payload), nowIso(), key);
            queued++;
          }
        }
      }
      for (const id of prior.values()) remove.run(id);
    })();
    const sent = await sendPending(sqlite, ctx.config.notify, join(stateDir(ctx.config), 'notifications.jsonl'), opts.emit as ((l: string) => void) | undefined);
    if (sent.failed) ctx.log.warn(`alerts: ${sent.failed} notification(s) failed to send; they stay queued and are retried on the next run`);
    if (sent.pending > sent.failed) ctx.log.warn(`alerts: ${sent.pending - sent.failed} notification(s) still queued (time budget notify.budgetSeconds spent, or being sent by another run); the next run sends them`);
    const rows = sqlite
      .prepare(
        `select a.severity, a.kind, p.sku, l.code as location, a.stockout_date, a.days_of_cover, a.suggested_qty, a.message from alerts a
         join products p on p.id = a.product_id join locations l on l.id = a.location_id where a.created_on = ? and a.active = 1
         order by case a.severity when 'CRITIQUE' then 0 when 'ATTENTION' then 1 else 2 end, a.stockout_date is null, a.stockout_date, p.sku`,
      )
      .all(asOf) as Record<string, unknown>[];
    ctx.log.info(`alerts: ${rows.length} active (${counts.CRITIQUE} CRITIQUE, ${counts.ATTENTION} ATTENTION, ${counts.INFO} INFO); ${queued} notification(s) queued, ${sent.sent} sent`);
    return { summary: { series: refs.length, unknown_stock: unknownStock, ...(unknownStock ? { unknown_stock_fix: STOCK_FIX } : {}), alerts: rows.length, created, critique: counts.CRITIQUE, attention: counts.ATTENTION, info: counts.INFO, notifications_queued: queued, notifications_sent: sent.sent, notifications_failed: sent.failed }, rows };
  },
};

