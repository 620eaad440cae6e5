/**
 * The whole data model of optiflow (SPEC section 2). Works on SQLite (default)
 * and PostgreSQL: ids are autoincrement integers / serial, reals are double
 * precision on Postgres, JSON payloads are text.
 */
import { Kysely, sql, type ColumnDefinitionBuilder, type CreateTableBuilder } from 'kysely';

type Db = Kysely<any>;

export function isPostgres(db: Db): boolean {
  return db.getExecutor().adapter.constructor.name.startsWith('Postgres');
}

export async function up(db: Db): Promise<void> {
  const pg = isPostgres(db);
  const real = pg ? sql`double precision` : sql`real`;
  const id = (t: CreateTableBuilder<any, any>) =>
    pg ? t.addColumn('id', 'serial', (c) => c.primaryKey()) : t.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
  const noRowid = <T extends CreateTableBuilder<any, any>>(t: T): T => (pg ? t : (t.modifyEnd(sql`without rowid`) as T));
  const nn = (c: ColumnDefinitionBuilder) => c.notNull();
  const ref = (table: string) => (c: ColumnDefinitionBuilder) => c.notNull().references(`${table}.id`).onDelete('cascade');

  await id(db.schema.createTable('locations')).addColumn('code', 'text', (c) => c.notNull().unique()).addColumn('name', 'text').execute();

  await id(db.schema.createTable('products'))
    .addColumn('sku', 'text', (c) => c.notNull().unique())
    .addColumn('name', 'text')
    .addColumn('category', 'text')
    .addColumn('unit_cost', real, (c) => c.notNull().defaultTo(0))
    .addColumn('unit_price', real, (c) => c.notNull().defaultTo(0))
    .addColumn('shelf_life_days', 'integer')
    .addColumn('storage', 'text')
    .addColumn('active', 'integer', (c) => c.notNull().defaultTo(1))
    .execute();

  await id(db.schema.createTable('suppliers'))
    .addColumn('code', 'text', (c) => c.notNull().unique())
    .addColumn('name', 'text')
    .addColumn('lead_time_days', 'integer', (c) => c.notNull().defaultTo(7))
    .addColumn('lead_time_sd_days', real, (c) => c.notNull().defaultTo(0))
    .addColumn('order_cost', real, (c) => c.notNull().defaultTo(0))
    .execute();

  await db.schema
    .createTable('supplier_products')
    .addColumn('supplier_id', 'integer', ref('suppliers'))
    .addColumn('product_id', 'integer', ref('products'))
    .addColumn('pack_size', real, (c) => c.notNull().defaultTo(1))
    .addColumn('min_order_qty', real, (c) => c.notNull().defaultTo(0))
    .addColumn('unit_cost', real)
    .addColumn('is_primary', 'integer', (c) => c.notNull().defaultTo(1))
    .addPrimaryKeyConstraint('supplier_products_pk', ['supplier_id', 'product_id'])
    .execute();

  await db.schema
    .createTable('price_breaks')
    .addColumn('supplier_id', 'integer', ref('suppliers'))
    .addColumn('product_id', 'integer', ref('products'))
    .addColumn('min_qty', real, nn)
    .addColumn('unit_cost', real, nn)
    .addPrimaryKeyConstraint('price_breaks_pk', ['supplier_id', 'product_id', 'min_qty'])
    .execute();

  await noRowid(
    db.schema
      .createTable('sales')
      .addColumn('product_id', 'integer', ref('products'))
      .addColumn('location_id', 'integer', ref('locations'))
      .addColumn('date', 'text', nn)
      .addColumn('quantity', real, nn)
      .addColumn('revenue', real)
      .addColumn('unit_price', real)
      .addColumn('on_promo', 'integer', (c) => c.notNull().defaultTo(0))
      .addPrimaryKeyConstraint('sales_pk', ['product_id', 'location_id', 'date']),
  ).execute();

  await noRowid(
    db.schema
      .createTable('stock_levels')
      .addColumn('product_id', 'integer', ref('products'))
      .addColumn('location_id', 'integer', ref('locations'))
      .addColumn('date', 'text', nn)
      .addColumn('on_hand', real, nn)
      .addPrimaryKeyConstraint('stock_levels_pk', ['product_id', 'location_id', 'date']),
  ).execute();

  await id(db.schema.createTable('purchase_orders'))
    .addColumn('supplier_id', 'integer', ref('suppliers'))
    .addColumn('product_id', 'integer', ref('products'))
    .addColumn('location_id', 'integer', ref('locations'))
    .addColumn('quantity', real, nn)
    .addColumn('unit_cost', real)
    .addColumn('ordered_on', 'text', nn)
    .addColumn('expected_on', 'text', nn)
    .addColumn('received_on', 'text')
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('open'))
    .addColumn('suggestion_id', 'integer')
    .addColumn('ref', 'text')
    .execute();
  await db.schema.createIndex('purchase_orders_series').on('purchase_orders').columns(['product_id', 'location_id', 'status']).execute();
  await db.schema.createIndex('purchase_orders_status').on('purchase_orders').columns(['status', 'product_id']).execute();
  await db.schema.createIndex('purchase_orders_ref').on('purchase_orders').column('ref').unique().execute();

  await id(db.schema.createTable('events'))
    .addColumn('name', 'text', nn)
    .addColumn('kind', 'text', (c) => c.notNull().defaultTo('other'))
    .addColumn('start_date', 'text', nn)
    .addColumn('end_date', 'text', nn)
    .addColumn('product_id', 'integer', (c) => c.references('products.id').onDelete('cascade'))
    .addColumn('category', 'text')
    .addColumn('location_id', 'integer', (c) => c.references('locations.id').onDelete('cascade'))
    .addColumn('planned_uplift', real)
    .addColumn('ref', 'text', (c) => c.notNull().unique())
    .execute();

  await db.schema
    .createTable('weather')
    .addColumn('location_id', 'integer', ref('locations'))
    .addColumn('date', 'text', nn)
    .addColumn('temp_max_c', real)
    .addColumn('precipitation_mm', real)
    .addPrimaryKeyConstraint('weather_pk', ['location_id', 'date'])
    .execute();

  await db.schema
    .createTable('sensor_readings')
    .addColumn('location_id', 'integer', ref('locations'))
    .addColumn('zone', 'text', nn)
    .addColumn('ts', 'text', nn)
    .addColumn('temperature_c', real)
    .addColumn('humidity_pct', real)
    .addPrimaryKeyConstraint('sensor_readings_pk', ['location_id', 'zone', 'ts'])
    .execute();

  await db.schema
    .createTable('quality_incidents')
    .addColumn('product_id', 'integer', ref('products'))
    .addColumn('location_id', 'integer', ref('locations'))
    .addColumn('date', 'text', nn)
    .addColumn('quantity_lost', real, nn)
    .addColumn('cause', 'text')
    .addPrimaryKeyConstraint('quality_incidents_pk', ['product_id', 'location_id', 'date'])
    .execute();

  await id(db.schema.createTable('models'))
    .addColumn('product_id', 'integer', ref('products'))
    .addColumn('location_id', 'integer', ref('locations'))
    .addColumn('version', 'integer', nn)
    .addColumn('algorithm', 'text', nn)
    .addColumn('params', 'text', nn)
    .addColumn('trained_at', 'text', nn)
    .addColumn('train_end', 'text', nn)
    .addColumn('metrics', 'text', nn)
    .addColumn('reason', 'text')
    .addColumn('status', 'text', nn)
    .execute();
  await db.schema.createIndex('models_series').on('models').columns(['product_id', 'location_id', 'status']).execute();

  await noRowid(
    db.schema
      .createTable('forecasts')
      .addColumn('product_id', 'integer', ref('products'))
      .addColumn('location_id', 'integer', ref('locations'))
      .addColumn('run_date', 'text', nn)
      .addColumn('date', 'text', nn)
      .addColumn('model_id', 'integer')
      .addColumn('yhat', real, nn)
      .addColumn('yhat_lo', real, nn)
      .addColumn('yhat_hi', real, nn)
      .addColumn('event_factor', real, (c) => c.notNull().defaultTo(1))
      .addColumn('base_yhat', real, nn)
      .addColumn('base_lo', real, nn)
      .addColumn('base_hi', real, nn)
      .addPrimaryKeyConstraint('forecasts_pk', ['product_id', 'location_id', 'run_date', 'date']),
  ).execute();
  await db.schema.createIndex('forecasts_run').on('forecasts').columns(['run_date', 'date']).execute();

  await id(db.schema.createTable('alerts'))
    .addColumn('product_id', 'integer', ref('products'))
    .addColumn('location_id', 'integer', ref('locations'))
    .addColumn('created_on', 'text', nn)
    .addColumn('severity', 'text', nn)
    .addColumn('kind', 'text', nn)
    .addColumn('stockout_date', 'text')
    .addColumn('days_of_cover', real)
    .addColumn('suggested_qty', real)
    .addColumn('revenue_at_risk', real)
    .addColumn('message', 'text', nn)
    .addColumn('active', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('resolved_on', 'text')
    .execute();
  await db.schema.createIndex('alerts_created').on('alerts').columns(['created_on', 'active']).execute();

  await id(db.schema.createTable('notifications'))
    .addColumn('alert_id', 'integer', (c) => c.references('alerts.id').onDelete('set null'))
    .addColumn('channel', 'text', nn)
    .addColumn('payload', 'text', nn)
    .addColumn('created_at', 'text', nn)
    .addColumn('sent_at', 'text')
    .addColumn('error', 'text')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.createIndex('notifications_alert').on('notifications').column('alert_id').execute();
  await db.schema.createIndex('notifications_unsent').on('notifications').column('sent_at').execute();

  await db.schema
    .createTable('forecast_metrics')
    .addColumn('product_id', 'integer', ref('products'))
    .addColumn('location_id', 'integer', ref('locations'))
    .addColumn('date', 'text', nn)
    .addColumn('mape', real)
    .addColumn('wape', real)
    .addColumn('rmse', real)
    .addColumn('bias', real)
    .addColumn('n', 'integer', nn)
    .addPrimaryKeyConstraint('forecast_metrics_pk', ['product_id', 'location_id', 'date'])
    .execute();

  await db.schema
    .createTable('retrain_flags')
    .addColumn('product_id', 'integer', ref('products'))
    .addColumn('location_id', 'integer', ref('locations'))
    .addColumn('flagged_on', 'text', nn)
    .addColumn('reason', 'text', nn)
    .addPrimaryKeyConstraint('retrain_flags_pk', ['product_id', 'location_id', 'flagged_on'])
    .execute();

  await db.schema
    .createTable('metrics_history')
    .addColumn('date', 'text', nn)
    .addColumn('scope', 'text', nn)
    .addColumn('payload', 'text', nn)
    .addPrimaryKeyConstraint('metrics_history_pk', ['date', 'scope'])
    .execute();

  await db.schema
    .createTable('kpi_cache')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('payload', 'text', nn)
    .addColumn('computed_at', 'text', nn)
    .addColumn('expires_at', 'text', nn)
    .execute();

  await db.schema
    .createTable('savings')
    .addColumn('date', 'text', (c) => c.primaryKey())
    .addColumn('avoided_stockouts', real, nn)
    .addColumn('reduced_overstock', real, nn)
    .addColumn('optimized_orders', real, nn)
    .addColumn('details', 'text', nn)
    .execute();

  await db.schema
    .createTable('trends')
    .addColumn('date', 'text', nn)
    .addColumn('scope', 'text', nn) // 'series' | 'category'
    .addColumn('key', 'text', nn) // SKU@LOCATION or category name
    .addColumn('product_id', 'integer')
    .addColumn('location_id', 'integer')
    .addColumn('category', 'text')
    .addColumn('growth_28d', real)
    .addColumn('growth_yoy', real)
    .addColumn('slope', real)
    .addColumn('weekly_strength', real)
    .addColumn('yearly_strength', real)
    .addColumn('label', 'text', nn)
    .addPrimaryKeyConstraint('trends_pk', ['date', 'scope', 'key'])
    .execute();

  await db.schema
    .createTable('event_factors')
    .addColumn('computed_on', 'text', nn)
    .addColumn('event_key', 'text', nn) // kind:name
    .addColumn('category', 'text', nn) // '*' = all categories
    .addColumn('factor', real, nn)
    .addColumn('sd', real)
    .addColumn('n', 'integer', nn)
    .addColumn('source', 'text', nn) // measured | planned
    .addPrimaryKeyConstraint('event_factors_pk', ['computed_on', 'event_key', 'category'])
    .execute();

  await db.schema
    .createTable('revenue_daily')
    .addColumn('computed_on', 'text', nn)
    .addColumn('date', 'text', nn)
    .addColumn('predicted', real, nn)
    .addColumn('actual', real, nn)
    .addColumn('variance_pct', real)
    .addPrimaryKeyConstraint('revenue_daily_pk', ['computed_on', 'date'])
    .execute();

  await db.schema
    .createTable('dormant_stock')
    .addColumn('computed_on', 'text', nn)
    .addColumn('product_id', 'integer', ref('products'))
    .addColumn('location_id', 'integer', ref('locations'))
    .addColumn('on_hand', real, nn)
    .addColumn('value', real, nn)
    .addColumn('last_sale', 'text')
    .addColumn('days_since_sale', 'integer')
    .addPrimaryKeyConstraint('dormant_stock_pk', ['computed_on', 'product_id', 'location_id'])
    .execute();

  await db.schema
    .createTable('inventory_policies')
    .addColumn('product_id', 'integer', ref('products'))
    .addColumn('location_id', 'integer', ref('locations'))
    .addColumn('computed_on', 'text', nn)
    .addColumn('abc', 'text', nn)
    .addColumn('xyz', 'text', nn)
    .addColumn('service_level', real, nn)
    .addColumn('safety_stock', real, nn)
    .addColumn('reorder_point', real, nn)
    .addColumn('order_up_to', real, nn)
    .addPrimaryKeyConstraint('inventory_policies_pk', ['product_id', 'location_id'])
    .execute();

  await db.schema
    .createTable('quality_risk')
    .addColumn('product_id', 'integer', ref('products'))
    .addColumn('location_id', 'integer', ref('locations'))
    .addColumn('date', 'text', nn)
    .addColumn('risk', real, nn)
    .addColumn('level', 'text', nn)
    .addColumn('method', 'text', nn)
    .addColumn('details', 'text', nn)
    .addPrimaryKeyConstraint('quality_risk_pk', ['product_id', 'location_id', 'date'])
    .execute();

  await id(db.schema.createTable('batch_runs'))
    .addColumn('run_uid', 'text', (c) => c.notNull().unique())
    .addColumn('kind', 'text', nn)
    .addColumn('run_date', 'text', nn)
    .addColumn('started_at', 'text', nn)
    .addColumn('finished_at', 'text')
    .addColumn('status', 'text', nn)
    .addColumn('metrics', 'text')
    .execute();

  await db.schema
    .createTable('batch_steps')
    .addColumn('run_id', 'integer', ref('batch_runs'))
    .addColumn('step', 'text', nn)
    .addColumn('status', 'text', nn)
    .addColumn('attempts', 'integer', nn)
    .addColumn('started_at', 'text')
    .addColumn('finished_at', 'text')
    .addColumn('error', 'text')
    .addColumn('output', 'text')
    .addPrimaryKeyConstraint('batch_steps_pk', ['run_id', 'step'])
    .execute();
}

export async function down(db: Db): Promise<void> {
  for (const t of [
    'batch_steps', 'batch_runs', 'quality_risk', 'inventory_policies', 'dormant_stock', 'revenue_daily', 'event_factors', 'trends',
    'savings', 'kpi_cache', 'metrics_history', 'retrain_flags', 'forecast_metrics', 'notifications', 'alerts', 'forecasts', 'models',
    'quality_incidents', 'sensor_readings', 'weather', 'events', 'purchase_orders', 'stock_levels', 'sales', 'price_breaks',
    'supplier_products', 'suppliers', 'products', 'locations',
  ])
    await db.schema.dropTable(t).ifExists().execute();
}
