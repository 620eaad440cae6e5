/**
 * orders: today's draft purchase order per supplier, as planners place them.
 *
 * For each supplier whose review day is today (every supplier with
 * `allSuppliers`): every product of that supplier at the location gets the
 * shared order quantity (order.ts: forecast until lead time + the days to the
 * supplier's next review day, safety stock, pack, MOQ, price breaks, shelf
 * life, cover cap); the products with a quantity are the lines of one order;
 * the order is topped up to the supplier's minimum order value when that is
 * cheaper than a second order (purchase-order.ts), or marked why not.
 * Suppliers with something due but no review day today are listed with their
 * next review day.
 */
import { addDays, dayNumber } from '../dates.js';
import { seriesWithForecasts, StateReader, type SeriesState } from '../db/state.js';
import { MissingInputError } from '../errors.js';
import { latestForecastRun } from '../db/planning.js';
import { recordDrafts } from '../db/orders.js';
import { coverCapDays, longStockoutOrder, orderFor, orderTiming } from '../inventory/order.js';
import { outOfStockSince } from '../db/stockouts.js';
import { projectStock, sum } from '../inventory/projection.js';
import { buildDraft, type DraftCandidate } from '../inventory/purchase-order.js';
import { isReviewDay, reviewGap, WEEKDAYS } from '../inventory/review.js';
import { roundTo } from '../numbers.js';
import type { JobContext } from './types.js';

export interface OrdersOptions {
  /** Draft for every supplier, not only those whose review day is today. */
  allSuppliers?: boolean;
  /** Store the drafts (order_drafts, order_draft_lines). */
  record?: boolean;
}

export interface DraftOut {
  supplier: string;
  supplier_name: string;
  location: string;
  review_days: string;
  lead_time_days: number;
  lead_time_source: string;
  expected_arrival: string;
  covers_until: string;
  lines: { sku: string; quantity: number; pack_size: number; moq: number; unit_cost: number; value: number; reason: string }[];
  total: number;
  min_order_value: number;
  order_cost: number;
  status: 'ok' | 'below_minimum';
  note: string | null;
  draft_id: number | null;
}

export async function draftOrders(ctx: JobContext, o: OrdersOptions = {}) {
  const { asOf, config } = ctx;
  const run = await latestForecastRun(ctx.db.kysely, asOf);
  if (!run) throw new MissingInputError(`forecasts on or before ${asOf}`, `optiflow predict --as-of ${asOf}`);
  if (run !== asOf) ctx.log.warn(`orders: the latest forecast is from ${run}, not today (${asOf}); run optiflow predict --as-of ${asOf} for today's`);
  const forecastRefs = await seriesWithForecasts(ctx.db, run);
  const reader = await new StateReader(ctx.db, asOf, run).preload(forecastRefs);
  const states = forecastRefs.map((r) => reader.read(r));
  const groups = new Map<string, SeriesState[]>();
  for (const s of states) {
    if (!s.supplier) continue;
    const k = `${s.supplier.supplierId}:${s.locationId}`;
    (groups.get(k) ?? groups.set(k, []).get(k)!).push(s);
  }
  const today = dayNumber(asOf);
  const since = await outOfStockSince(ctx.db, asOf, states.filter((s) => s.onHand <= 0));
  const h = config.service.holdingRatePerYear;
  const drafts: DraftOut[] = [];
  const later: { supplier: string; location: string; next_review: string; due: number }[] = [];
  for (const members of groups.values()) {
    const sup = members[0].supplier!;
    const reviewsToday = o.allSuppliers || isReviewDay(sup.reviewDays, today);
    const cands: DraftCandidate[] = members.map((s) => {
      const { L, R } = orderTiming(s, asOf, { leadTimeDays: config.leadTimeDefaultDays, reviewPeriodDays: config.alerts.reviewPeriodDays });
      const cap = coverCapDays({ overstockDays: config.alerts.overstockDays, horizonDays: config.horizon }, L, R);
      const long = longStockoutOrder(s, s.onHand <= 0 ? since(s.productId, s.locationId) : null, { leadTime: L, targetDays: L + R, holdingRatePerYear: h, maxCoverDays: cap });
      const sug = long?.suggestion ?? orderFor(s, {
        leadTime: L, targetDays: L + R, serviceLevel: s.policy?.serviceLevel ?? config.service.levelB, safetyMargin: 0, holdingRatePerYear: h, maxCoverDays: cap,
      }).suggestion;
      const rate = s.yhat.length ? sum(s.yhat) / s.yhat.length : 0;
      const p = projectStock(Math.max(0, s.onHand), s.receipts, s.yhat);
      const when = long ? 'out of stock for weeks' : s.onHand <= 0 ? 'out of stock now' : p.stockoutDay !== null ? `runs out on ${addDays(asOf, p.stockoutDay)}` : `covers ${Number.isFinite(p.daysOfCover) ? p.daysOfCover.toFixed(1) : 'all'} days`;
      const room = cap * rate - Math.max(0, s.onHand) - sum(s.receipts);
      return {
        key: `${s.productId}`, sku: s.sku, quantity: sug.quantity, reason: `${when}; ${sug.why}`, listUnitCost: s.supplier?.unitCost ?? s.unitCost, priceBreaks: s.supplier?.priceBreaks ?? [],
        packSize: s.supplier?.packSize ?? 1, moq: s.supplier?.moq ?? 0, rate, maxQuantity: Math.max(sug.quantity, Math.min(sug.maxSellable ?? Infinity, room)),
      };
    });
    const due = cands.filter((c) => c.quantity > 0).length;
    if (!due) continue;
    const R = reviewGap(sup.reviewDays, today, config.alerts.reviewPeriodDays);
    if (!reviewsToday) {
      let k = 1;
      while (!isReviewDay(sup.reviewDays, today + k)) k++;
      later.push({ supplier: sup.code, location: members[0].location, next_review: addDays(asOf, k), due });
      continue;
    }
    const d = buildDraft(cands, { minOrderValue: sup.minOrderValue, orderCost: sup.orderCost, holdingRatePerYear: h });
    const bySku = new Map(members.map((s) => [String(s.productId), s]));
    drafts.push({
      supplier: sup.code, supplier_name: sup.name, location: members[0].location,
      review_days: sup.reviewDays ? sup.reviewDays.map((x) => WEEKDAYS[x]).join(',') : 'every day',
      lead_time_days: sup.leadTimeDays, lead_time_source: sup.leadTimeSource === 'receipts' ? `learned from ${sup.receipts} receipts` : 'stated by the supplier',
      expected_arrival: addDays(asOf, sup.leadTimeDays), covers_until: addDays(asOf, sup.leadTimeDays + R),
      lines: d.lines.map((l) => {
        const s = bySku.get(l.key)!;
        return { sku: l.sku, quantity: l.quantity, pack_size: s.supplier?.packSize ?? 1, moq: s.supplier?.moq ?? 0, unit_cost: l.unitCost, value: roundTo(l.value, 2), reason: l.reason };
      }),
      total: roundTo(d.total, 2), min_order_value: sup.minOrderValue, order_cost: sup.orderCost, status: d.status === 'below_minimum' ? 'below_minimum' : 'ok', note: d.note, draft_id: null,
    });
  }
  drafts.sort((a, b) => a.supplier.localeCompare(b.supplier) || a.location.localeCompare(b.location));
  if (o.record && drafts.length) {
    const ids = await recordDrafts(ctx.db.kysely, asOf, drafts);
    drafts.forEach((d, i) => (d.draft_id = ids[i]));
  }
  return {
    summary: {
      as_of: asOf, forecast_run: run, drafts: drafts.length, lines: drafts.reduce((s, d) => s + d.lines.length, 0), total: roundTo(drafts.reduce((s, d) => s + d.total, 0), 2),
      below_minimum: drafts.filter((d) => d.status === 'below_minimum').length, suppliers_due_later: later.length,
    },
    drafts,
    due_later: later,
  };
}
