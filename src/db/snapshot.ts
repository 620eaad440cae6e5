/**
 * What was known on the morning of D (the run date): the one point-in-time
 * definition every job reads, so replaying a past date gives what the night
 * of that date would have given, whatever was recorded since.
 *
 *   history       sales and stock rows dated before D
 *   stock         the end-of-day stock of D-1: the latest stock row dated before D
 *                 (rows are written when stock changes and carry forward);
 *                 a series with no such row has UNKNOWN stock, never zero
 *   models        the model in force: the newest active/fallback version with train_end < D
 *   open orders   ordered on or before D-1, not cancelled, and not received before D
 *                 (received_on null or >= D), whatever their status today
 *   retrain flags raised on or before D, and newer than the data of the model in force
 *   alerts        in force on D: raised on or before D and not resolved by D
 *
 * Queries are point lookups on primary keys or indexes, or one set-based query
 * over the series a job reads.
 */
import { sql } from 'kysely';
import { addDays } from '../dates.js';
import { chunks, fastSqlite, qOf, seriesValues, type DbOrQ, type SeriesId } from './handle.js';
import { num } from './query.js';

/** Current stock: the latest end-of-day stock row dated before D. The only definition. */
export const STOCK_BEFORE_SQL = 'select on_hand, date from stock_levels where product_id = ? and location_id = ? and date < ? order by date desc limit 1';

export interface StockOnMorning {
  onHand: number;
  /** Date of the stock row the value comes from. */
  date: string;
}

/** Current stock of a set of series on one morning, read once: undefined = unknown. */
export type StockTable = (productId: number, locationId: number) => StockOnMorning | undefined;

/**
 * "Current stock" on the morning of `day` of every series in `series`, in one
 * pass; then synchronous lookups. SQLite: a point read on the primary key per
 * series (an embedded file answers them in microseconds); PostgreSQL: one
 * query per chunk of series (the latest row before `day` of each, by index).
 */
export async function stockOn(db: DbOrQ, day: string, series: readonly SeriesId[]): Promise<StockTable> {
  const map = new Map<string, StockOnMorning>();
  const sqlite = fastSqlite(db);
  if (sqlite) {
    const q = sqlite.prepare(STOCK_BEFORE_SQL);
    for (const { productId: p, locationId: l } of series) {
      const r = q.get(p, l, day) as { on_hand: number; date: string } | undefined;
      if (r) map.set(`${p}:${l}`, { onHand: r.on_hand, date: r.date });
    }
  } else {
    for (const part of chunks(series, 2000)) {
      const r = await sql<{ p: number; l: number; on_hand: number; date: string }>`with ${seriesValues(part)}
        select v.p, v.l, k.on_hand, k.date from v join stock_levels k on k.product_id = v.p and k.location_id = v.l
        and k.date = (select max(x.date) from stock_levels x where x.product_id = v.p and x.location_id = v.l and x.date < ${day})`.execute(qOf(db));
      for (const x of r.rows) map.set(`${num(x.p)}:${num(x.l)}`, { onHand: num(x.on_hand), date: x.date });
    }
  }
  return (p, l) => map.get(`${p}:${l}`);
}

/** Open on the morning of D, decided by the order's dates, not by its status now. */
export const OPEN_ORDER_WHERE = `status != 'cancelled' and ordered_on < :day and (received_on is null or received_on >= :day)`;

export interface OpenOrder {
  id: number;
  productId: number;
  locationId: number;
  quantity: number;
  expectedOn: string;
}

/** Orders open on the morning of `day` (all series, or one), by id. */
export async function openOrdersOn(db: DbOrQ, day: string, series?: SeriesId): Promise<OpenOrder[]> {
  let q = qOf(db)
    .selectFrom('purchase_orders')
    .select(['id', 'product_id', 'location_id', 'quantity', 'expected_on'])
    .where('status', '!=', 'cancelled')
    .where('ordered_on', '<', day)
    .where((e) => e.or([e('received_on', 'is', null), e('received_on', '>=', day)]));
  if (series) q = q.where('product_id', '=', series.productId).where('location_id', '=', series.locationId);
  const rows = await q.orderBy('id').execute();
  return rows.map((r) => ({ id: num(r.id), productId: num(r.product_id), locationId: num(r.location_id), quantity: num(r.quantity), expectedOn: r.expected_on as string }));
}

/** The model in force on D: the newest active or fallback version trained on data before D. */
export const MODEL_IN_FORCE_WHERE = `status in ('active', 'fallback') and train_end < :day`;

export interface ModelInForce {
  id: number;
  productId: number;
  locationId: number;
  params: string;
}

/**
 * Models in force on `day` (all series, one series, or the series of the
 * products with ids in [from, to]), by version: the last one of a series is the one in force.
 */
export async function modelsInForce(db: DbOrQ, day: string, series?: SeriesId | { from: number; to: number }): Promise<ModelInForce[]> {
  let q = qOf(db)
    .selectFrom('models')
    .select(['id', 'product_id', 'location_id', 'params'])
    .where('status', 'in', ['active', 'fallback'])
    .where('train_end', '<', day);
  if (series && 'productId' in series) q = q.where('product_id', '=', series.productId).where('location_id', '=', series.locationId);
  else if (series) q = q.where('product_id', '>=', series.from).where('product_id', '<=', series.to);
  const rows = await q.orderBy('version').execute();
  return rows.map((r) => ({ id: num(r.id), productId: num(r.product_id), locationId: num(r.location_id), params: r.params as string }));
}

/**
 * Series flagged for retraining as of D: a flag raised on or before D that saw
 * data the model in force did not (a flag raised on day F judged data up to
 * F-1; any model trained before D, candidate or not, saw data up to its train_end), so training twice on one day, or a
 * flag raised after D, never counts.
 */
export async function retrainFlagged(db: DbOrQ, day: string): Promise<{ p: number; l: number }[]> {
  const r = await sql<{ p: number; l: number; flagged_on: string; seen: string | null }>`select f.product_id as p, f.location_id as l, f.flagged_on,
       (select max(m.train_end) from models m where m.product_id = f.product_id and m.location_id = f.location_id
          and m.status in ('active', 'fallback') and m.train_end < ${day}) as seen
     from retrain_flags f where f.flagged_on <= ${day} order by f.product_id, f.location_id`.execute(qOf(db));
  const out: { p: number; l: number }[] = [];
  const done = new Set<string>();
  for (const x of r.rows) {
    // A flag counts when raised after the day following the model's last day of data.
    if (x.seen !== null && x.flagged_on <= addDays(x.seen, 1)) continue;
    const p = num(x.p);
    const l = num(x.l);
    if (done.has(`${p}:${l}`)) continue;
    done.add(`${p}:${l}`);
    out.push({ p, l });
  }
  return out;
}

/** Alerts in force on D (SQL condition on table alias `a`, parameter :day). */
export const ALERT_ACTIVE_ON = `a.created_on <= :day and (a.resolved_on is null or a.resolved_on > :day) and a.active = 1`;
