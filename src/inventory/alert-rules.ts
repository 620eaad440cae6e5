/**
 * Alert rules (pure). For one series, with day 0 = today, L = supplier lead
 * time (days), R = review period, S = safety days (config `alerts`):
 *
 * - stockout CRITIQUE: stock is already out (on hand <= 0), or the projected
 *   stock-out day (expected forecast) is < L: an order placed now arrives too late.
 * - stockout ATTENTION: the projected stock-out day is < L + R + S, or the
 *   high path (upper interval bound as demand) runs out before L, or the stock
 *   position is at or below the reorder point of the series' policy (`optimize`).
 * - overstock: days of cover > `overstockDays` (INFO), > 2 x that (ATTENTION).
 * - expiry (perishables): units on hand that forecast demand cannot sell within
 *   the shelf life, assuming the stock on hand is fresh:
 *   expiring = on hand - sum(demand[0 .. shelf life)) >= `expiryMinUnits` -> ATTENTION.
 * - quality: from `quality-risk` (level high -> ATTENTION, critical -> CRITIQUE).
 *
 * Suggested quantity: the `suggest` computation with the series' safety stock.
 * Revenue at risk: forecast units not served between the stock-out day and the
 * day an order placed now arrives (L), x unit price.
 */
import { projectStock, sum } from './projection.js';
import { orderFor, orderTiming } from './order.js';
import { suggestQuantity } from './suggestion.js';
import { addDays } from '../dates.js';
import type { SeriesState } from '../db/state.js';

export interface AlertThresholds {
  reviewPeriodDays: number;
  safetyDays: number;
  overstockDays: number;
  expiryMinUnits: number;
  defaultLeadTimeDays: number;
  serviceLevel: number;
  holdingRatePerYear: number;
}

export interface AlertDraft {
  severity: 'CRITIQUE' | 'ATTENTION' | 'INFO';
  kind: 'stockout' | 'overstock' | 'expiry' | 'quality';
  stockoutDate: string | null;
  daysOfCover: number | null;
  suggestedQty: number | null;
  revenueAtRisk: number | null;
  message: string;
}

/** A series out of stock for a while: since when, and its sales rate before (units/day; null = none known). */
export interface OutOfStock {
  since: string;
  days: number;
  lastRate: number | null;
}

/** Out of stock longer than this, the forecast has no recent sales behind it: the order is sized on the rate before. */
export const LONG_STOCKOUT_DAYS = 28;

export function evaluateAlerts(s: SeriesState, asOf: string, t: AlertThresholds, quality?: { risk: number; level: string; precision?: number | null } | null, out0?: OutOfStock | null, overrideNote?: string | null): AlertDraft[] {
  const out: AlertDraft[] = [];
  const { L, R } = orderTiming(s, asOf, { leadTimeDays: t.defaultLeadTimeDays, reviewPeriodDays: t.reviewPeriodDays });
  const p = projectStock(s.onHand, s.receipts, s.yhat);
  const high = projectStock(s.onHand, s.receipts, s.hi);
  const cover = Number.isFinite(p.daysOfCover) ? Math.round(p.daysOfCover * 10) / 10 : null;
  const so = p.stockoutDay;
  const position = s.onHand + sum(s.receipts, 0, L + R);
  let severity: AlertDraft['severity'] | null = null;
  let why = '';
  if (s.onHand <= 0 && sum(s.yhat, 0, L) > 0) {
    severity = 'CRITIQUE';
    why = 'is out of stock now';
  } else if (so !== null && so < L) {
    severity = 'CRITIQUE';
    why = so === 0 ? `runs out today (${asOf})` : `runs out on ${addDays(asOf, so)}, in ${so} day${so === 1 ? '' : 's'}`;
  } else if (so !== null && so < L + R + t.safetyDays) {
    severity = 'ATTENTION';
    why = `runs out on ${addDays(asOf, so)}, in ${so} days`;
  } else if (high.stockoutDay !== null && high.stockoutDay < L) {
    severity = 'ATTENTION';
    why = `may run out on ${addDays(asOf, high.stockoutDay)} if demand reaches the high forecast`;
  } else if (s.policy && position <= s.policy.reorderPoint) {
    severity = 'ATTENTION';
    why = `stock position ${fmt(position)} is at or below its reorder point ${fmt(s.policy.reorderPoint)}`;
  }
  if (severity) {
    let sug = orderFor(s, {
      leadTime: L, targetDays: L + R, serviceLevel: s.policy?.serviceLevel ?? t.serviceLevel, safetyMargin: 0, holdingRatePerYear: t.holdingRatePerYear, maxCoverDays: t.overstockDays,
    }).suggestion;
    // Units forecast but not served before an order placed now can arrive (open orders count on their day).
    let lost = 0;
    let avail = Math.max(0, s.onHand);
    for (let d = 0; d < Math.min(L, s.yhat.length); d++) {
      avail += s.receipts[d] ?? 0;
      const served = Math.min(avail, s.yhat[d]);
      lost += s.yhat[d] - served;
      avail -= served;
    }
    let act = sug.quantity > 0 ? `order ${fmt(sug.quantity)} now` : 'open orders cover the expected demand and safety stock, watch it';
    if (!(sug.quantity > 0) && lost > 0) {
      let due = -1;
      for (let d = so ?? 0; d < s.receipts.length; d++) if (s.receipts[d] > 0) {
        due = d;
        break;
      }
      act = due >= 0
        ? `open orders cover demand after that, but the one due ${addDays(asOf, due)} arrives after the stock-out: ask the supplier to expedite it`
        : 'nothing ordered now arrives in time: expedite or transfer stock';
    }
    if (s.onHand <= 0 && out0 && out0.days > LONG_STOCKOUT_DAYS) {
      // No sale for weeks: today's forecast learned nothing recent, so the order is sized on the rate before the stock-out,
      // the smallest that covers L + R days (no economic lot on a demand that may be gone).
      if (out0.lastRate && out0.lastRate > 0) {
        const rate = out0.lastRate;
        sug = suggestQuantity({
          onHand: 0, receipts: s.receipts, demand: new Float64Array(Math.max(L + R, 1)).fill(rate), leadTimeDays: L, targetDays: L + R, safetyStock: 0, safetyMargin: 0,
          packSize: s.supplier?.packSize ?? 1, moq: s.supplier?.moq ?? 0, listUnitCost: s.supplier?.unitCost ?? s.unitCost, priceBreaks: [], holdingRatePerYear: t.holdingRatePerYear,
          shelfLifeDays: s.shelfLifeDays, orderCost: 0, maxCoverDays: t.overstockDays, unitPrice: s.unitPrice,
        });
        lost = rate * L;
        act = `no sale since, so demand now is unknown; at the ${fmt(rate)}/day it sold before, ${sug.quantity > 0 ? `order ${fmt(sug.quantity)}` : 'open orders cover it'} once you confirm it is still sold`;
      } else act = 'no sales on record before it: confirm the product is still sold before ordering';
      why = `has been out of stock since ${out0.since} (${out0.days} days)`;
    }
    if (overrideNote) act += ` [forecast ${overrideNote}]`;
    out.push({
      severity, kind: 'stockout', stockoutDate: so !== null ? addDays(asOf, so) : s.onHand <= 0 ? asOf : null, daysOfCover: cover,
      suggestedQty: sug.quantity, revenueAtRisk: Math.round(lost * s.unitPrice * 100) / 100,
      message: `${s.sku}${s.location !== 'MAIN' ? '@' + s.location : ''} ${why}; supplier lead time ${L} day${L === 1 ? '' : 's'}: ${act}`,
    });
  }
  if (cover === null ? s.onHand > 0 && sum(s.yhat) === 0 : cover > t.overstockDays) {
    const sev = cover === null || cover > 2 * t.overstockDays ? 'ATTENTION' : 'INFO';
    out.push({
      severity: sev, kind: 'overstock', stockoutDate: null, daysOfCover: cover, suggestedQty: 0, revenueAtRisk: null,
      message: cover === null
        ? `${s.sku} holds ${fmt(s.onHand)} units and no demand is forecast: do not reorder`
        : `${s.sku} holds ${Math.round(cover)} days of cover (threshold ${t.overstockDays}): hold orders`,
    });
  }
  if (s.shelfLifeDays !== null && s.onHand > 0) {
    const sellable = sum(s.yhat, 0, s.shelfLifeDays) + (s.shelfLifeDays > s.yhat.length ? ((s.shelfLifeDays - s.yhat.length) * sum(s.yhat)) / Math.max(1, s.yhat.length) : 0);
    const expiring = s.onHand - sellable;
    if (expiring >= t.expiryMinUnits) {
      out.push({
        severity: 'ATTENTION', kind: 'expiry', stockoutDate: null, daysOfCover: cover, suggestedQty: 0, revenueAtRisk: Math.round(expiring * s.unitCost * 100) / 100,
        message: `${s.sku}: ${fmt(expiring)} of ${fmt(s.onHand)} units will not sell within the ${s.shelfLifeDays}-day shelf life: promote or transfer them`,
      });
    }
  }
  if (quality && (quality.level === 'high' || quality.level === 'critical')) {
    out.push({
      severity: quality.level === 'critical' ? 'CRITIQUE' : 'ATTENTION', kind: 'quality', stockoutDate: null, daysOfCover: cover, suggestedQty: null,
      revenueAtRisk: Math.round(Math.max(0, s.onHand) * s.unitCost * quality.risk * 100) / 100,
      message: `${s.sku}: quality risk ${(quality.risk * 100).toFixed(1)} % of an incident within 7 days (${quality.level}${quality.precision != null ? `; ${(quality.precision * 100).toFixed(0)} % of past series-weeks at this level had one` : ''}) from storage conditions and stock age: inspect the stock`,
    });
  }
  return out;
}

function fmt(x: number): string {
  return Number.isInteger(x) ? x.toLocaleString('en-US') : x.toLocaleString('en-US', { maximumFractionDigits: 1 });
}
