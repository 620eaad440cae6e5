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
 * Queries are point lookups on primary keys or indexes.
 */
import type BetterSqlite3 from 'better-sqlite3';

/** Current stock: the latest end-of-day stock row dated before D. The only definition. */
export const STOCK_BEFORE_SQL = 'select on_hand, date from stock_levels where product_id = ? and location_id = ? and date < ? order by date desc limit 1';

export interface StockOnMorning {
  onHand: number;
  /** Date of the stock row the value comes from. */
  date: string;
}

/** A reader of "current stock" on the morning of `day` for one series at a time; undefined = unknown. */
export function stockReader(sqlite: BetterSqlite3.Database): (productId: number, locationId: number, day: string) => StockOnMorning | undefined {
  const q = sqlite.prepare(STOCK_BEFORE_SQL);
  return (p, l, day) => {
    const r = q.get(p, l, day) as { on_hand: number; date: string } | undefined;
    return r ? { onHand: r.on_hand, date: r.date } : undefined;
  };
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

export function openOrdersOn(sqlite: BetterSqlite3.Database, day: string, series?: { productId: number; locationId: number }): OpenOrder[] {
  const sql = `select id, product_id as productId, location_id as locationId, quantity, expected_on as expectedOn from purchase_orders
               where ${OPEN_ORDER_WHERE}${series ? ' and product_id = :p and location_id = :l' : ''} order by id`;
  return sqlite.prepare(sql).all(series ? { day, p: series.productId, l: series.locationId } : { day }) as OpenOrder[];
}

/** The model in force on D: the newest active or fallback version trained on data before D. */
export const MODEL_IN_FORCE_WHERE = `status in ('active', 'fallback') and train_end < :day`;

export function modelsInForce(sqlite: BetterSqlite3.Database, day: string, series?: { productId: number; locationId: number }): { id: number; productId: number; locationId: number; params: string }[] {
  const sql = `select id, product_id as productId, location_id as locationId, params from models where ${MODEL_IN_FORCE_WHERE}
               ${series ? 'and product_id = :p and location_id = :l' : ''} order by version`;
  return sqlite.prepare(sql).all(series ? { day, p: series.productId, l: series.locationId } : { day }) as { id: number; productId: number; locationId: number; params: string }[];
}

/**
 * Series flagged for retraining as of D: a flag raised on or before D that saw
 * data the model in force did not (a flag raised on day F judged data up to
 * F-1; any model trained before D, candidate or not, saw data up to its train_end), so training twice on one day, or a
 * flag raised after D, never counts.
 */
export function retrainFlagged(sqlite: BetterSqlite3.Database, day: string): { p: number; l: number }[] {
  return sqlite
    .prepare(
      `select distinct f.product_id as p, f.location_id as l from retrain_flags f
       where f.flagged_on <= :day
         and f.flagged_on > date(coalesce((select max(m.train_end) from models m where m.product_id = f.product_id and m.location_id = f.location_id
                                            and m.status in ('active', 'fallback') and m.train_end < :day), '0000-01-01'), '+1 day')`,
    )
    .all({ day }) as { p: number; l: number }[];
}

/** Alerts in force on D (SQL condition on table alias `a`, parameter :day). */
export const ALERT_ACTIVE_ON = `a.created_on <= :day and (a.resolved_on is null or a.resolved_on > :day) and a.active = 1`;
