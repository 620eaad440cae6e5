/**
 * Alerts: today's quality inputs, writing a day's alerts (and queueing the
 * notifications of CRITIQUE ones) in one transaction, and the reads of the
 * dashboard (active alerts on a day, counts by severity).
 */
import { sql, type ExpressionBuilder } from 'kysely';
import type { Database } from './types.js';
import { alertsWithNotification } from './notifications.js';
import { insertMany, num, type Q } from './query.js';

type Severity = 'CRITIQUE' | 'ATTENTION' | 'INFO';
type Kind = 'stockout' | 'overstock' | 'expiry' | 'quality';

/**
 * An alert is active on `day`: raised on or before it, not resolved by then, still active
 * (the same condition as ALERT_ACTIVE_ON in snapshot.ts, as a kysely expression).
 */
export function activeOn(day: string) {
  return (e: ExpressionBuilder<Database & { a: Database['alerts'] }, 'a'>) =>
    e.and([e('a.created_on', '<=', day), e.or([e('a.resolved_on', 'is', null), e('a.resolved_on', '>', day)]), e('a.active', '=', 1)]);
}

export interface QualityRiskRow {
  product_id: number;
  location_id: number;
  risk: number;
  level: string;
  precision: number | null;
}

/** Quality risk computed for `date`, with the alert precision from its details (JSON parsed here). */
export async function qualityRiskOn(q: Q, date: string): Promise<QualityRiskRow[]> {
  const rows = await q.selectFrom('quality_risk').select(['product_id', 'location_id', 'risk', 'level', 'details']).where('date', '=', date).execute();
  return rows.map((r) => {
    let precision: number | null = null;
    try {
      const v = (JSON.parse(r.details) as { alert_precision?: unknown } | null)?.alert_precision;
      precision = typeof v === 'number' ? v : null;
    } catch {
      precision = null;
    }
    return { product_id: r.product_id, location_id: r.location_id, risk: r.risk, level: r.level, precision };
  });
}

/**
 * Serialises the writers of a day's alerts: call first in the transaction. SQLite's
 * write lock does it already; on PostgreSQL two runs at once with no earlier active
 * alert to resolve would both insert the day's alerts (neither sees the other's
 * uncommitted rows), so the table is locked against other writers until commit
 * (readers go on).
 */
export async function lockAlertsForWrite(trx: Q, dialect: 'sqlite' | 'postgres'): Promise<void> {
  if (dialect === 'postgres') await sql`lock table alerts in exclusive mode`.execute(trx);
}

export interface AlertDraft {
  productId: number;
  locationId: number;
  severity: Severity;
  kind: Kind;
  stockoutDate: string | null;
  daysOfCover: number | null;
  suggestedQty: number | null;
  revenueAtRisk: number | null;
  message: string;
}

export interface WrittenAlert extends AlertDraft {
  id: number;
  /** Inserted by this run (not an update of the same day's alert). */
  created: boolean;
  /** A CRITIQUE alert without a notification yet: the caller queues one. */
  needsNotification: boolean;
}

/**
 * Writes the alerts of `day` inside the caller's transaction: earlier active
 * alerts are resolved on `day`; alerts already raised today for the same
 * series and kind are updated in place (same id), new ones inserted, and
 * today's alerts not raised again deleted. Writes first, so the write lock is
 * taken at the first statement.
 */
export async function writeAlertsOfDay(trx: Q, day: string, drafts: AlertDraft[]): Promise<WrittenAlert[]> {
  await trx.updateTable('alerts').set({ active: 0, resolved_on: day }).where('active', '=', 1).where('created_on', '<', day).execute();
  const prior = new Map<string, number>();
  for (const a of await trx.selectFrom('alerts').select(['id', 'product_id', 'location_id', 'kind']).where('created_on', '=', day).execute())
    prior.set(`${a.product_id}:${a.location_id}:${a.kind}`, a.id);
  const out: WrittenAlert[] = new Array(drafts.length);
  const fresh: number[] = [];
  drafts.forEach((a, i) => {
    const key = `${a.productId}:${a.locationId}:${a.kind}`;
    const id = prior.get(key);
    if (id !== undefined) {
      prior.delete(key);
      out[i] = { ...a, id, created: false, needsNotification: false };
    } else fresh.push(i);
  });
  for (const i of out.keys()) {
    const a = out[i];
    if (!a) continue;
    await trx
      .updateTable('alerts')
      .set({ severity: a.severity, stockout_date: a.stockoutDate, days_of_cover: a.daysOfCover, suggested_qty: a.suggestedQty, revenue_at_risk: a.revenueAtRisk, message: a.message, active: 1, resolved_on: null })
      .where('id', '=', a.id)
      .execute();
  }
  // New alerts: multi-row inserts returning their ids (SQLite >= 3.35 and PostgreSQL), matched back by series and kind.
  const per = 2000;
  for (let i = 0; i < fresh.length; i += per) {
    const part = fresh.slice(i, i + per).map((j) => drafts[j]);
    const ids = await trx
      .insertInto('alerts')
      .values(part.map((a) => ({ product_id: a.productId, location_id: a.locationId, created_on: day, severity: a.severity, kind: a.kind, stockout_date: a.stockoutDate, days_of_cover: a.daysOfCover, suggested_qty: a.suggestedQty, revenue_at_risk: a.revenueAtRisk, message: a.message, active: 1 })))
      .returning(['id', 'product_id', 'location_id', 'kind'])
      .execute();
    const byKey = new Map(ids.map((r) => [`${r.product_id}:${r.location_id}:${r.kind}`, r.id]));
    for (const j of fresh.slice(i, i + per)) {
      const a = drafts[j];
      out[j] = { ...a, id: byKey.get(`${a.productId}:${a.locationId}:${a.kind}`)!, created: true, needsNotification: false };
    }
  }
  const critique = out.filter((a) => a.severity === 'CRITIQUE');
  const notified = await alertsWithNotification(trx, critique.map((a) => a.id));
  for (const a of critique) a.needsNotification = !notified.has(a.id);
  const gone = [...prior.values()];
  for (let i = 0; i < gone.length; i += 5000) await trx.deleteFrom('alerts').where('id', 'in', gone.slice(i, i + 5000)).execute();
  return out;
}

export interface QueuedNotificationRow {
  alert_id: number;
  channel: string;
  payload: string;
  created_at: string;
  idempotency_key: string;
}

export async function queueNotifications(trx: Q, rows: QueuedNotificationRow[]): Promise<void> {
  await insertMany(trx, 'notifications', rows as unknown as Record<string, unknown>[]);
}

export interface ActiveAlertRow {
  id: number;
  product_id: number;
  location_id: number;
  severity: Severity;
  kind: Kind;
  sku: string;
  location: string;
  stockout_date: string | null;
  days_of_cover: number | null;
  suggested_qty: number | null;
  revenue_at_risk: number | null;
  message: string;
  created_on: string;
}

/** Alerts active on `day`, with their SKU and location code. `raisedOn`: only those raised that day. */
export async function activeAlerts(q: Q, day: string, raisedOn?: string): Promise<ActiveAlertRow[]> {
  let b = q
    .selectFrom('alerts as a')
    .innerJoin('products as p', 'p.id', 'a.product_id')
    .innerJoin('locations as l', 'l.id', 'a.location_id')
    .select(['a.id', 'a.product_id', 'a.location_id', 'a.severity', 'a.kind', 'p.sku', 'l.code as location', 'a.stockout_date', 'a.days_of_cover', 'a.suggested_qty', 'a.revenue_at_risk', 'a.message', 'a.created_on']);
  b = raisedOn ? b.where('a.created_on', '=', raisedOn).where('a.active', '=', 1) : b.where(activeOn(day));
  return (await b.orderBy('a.id').execute()) as ActiveAlertRow[];
}

/** Alerts active on `day` by severity, and the number of distinct series with a CRITIQUE one. */
export async function alertCountsOn(q: Q, day: string): Promise<{ bySeverity: Record<string, number>; criticalSeries: number }> {
  const rows = await q
    .selectFrom('alerts as a')
    .select(['a.severity', (e) => e.fn.countAll().as('n')])
    .where(activeOn(day))
    .groupBy('a.severity')
    .execute();
  const crit = await q
    .selectFrom((s) => s.selectFrom('alerts as a').select(['a.product_id', 'a.location_id']).where(activeOn(day)).where('a.severity', '=', 'CRITIQUE').distinct().as('c'))
    .select((e) => e.fn.countAll().as('n'))
    .executeTakeFirst();
  return { bySeverity: Object.fromEntries(rows.map((r) => [r.severity, num(r.n)])), criticalSeries: num(crit?.n) };
}

/** The first day an alert was raised (when optiflow came into use), or null. */
export async function firstAlertDay(q: Q): Promise<string | null> {
  const r = await q.selectFrom('alerts').select((e) => e.fn.min('created_on').as('d')).executeTakeFirst();
  return (r?.d as string | null | undefined) ?? null;
}

/** A fingerprint of the alerts table (count, newest id, active ones by severity): it changes when alerts do. */
export async function alertsFingerprint(q: Q): Promise<string> {
  const r = await sql<Record<string, unknown>>`select count(*) as n, coalesce(max(id), 0) as max_id,
      coalesce(sum(active), 0) as active, coalesce(sum(case when active = 1 then id else 0 end), 0) as active_ids,
      coalesce(sum(case when active = 1 and severity = 'CRITIQUE' then 1 else 0 end), 0) as critique,
      coalesce(sum(case when active = 1 and severity = 'ATTENTION' then 1 else 0 end), 0) as attention
    from alerts`.execute(q);
  const x = r.rows[0];
  return ['n', 'max_id', 'active', 'active_ids', 'critique', 'attention'].map((k) => num(x[k])).join(':');
}
