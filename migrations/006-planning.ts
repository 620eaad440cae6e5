/**
 * Planning terms and planner overrides:
 * - suppliers.review_days: weekdays the supplier takes orders ("mon,thu"; NULL = every day)
 * - suppliers.min_order_value: smallest order the supplier accepts (currency; NULL = none)
 * - products.like_sku / like_factor: a new product borrows the weekly profile and level of another
 * - forecast_overrides: planner adjustments applied by `predict` on top of the model
 * - override_audit: who changed an override and when
 * - order_drafts / order_draft_lines: drafts stored by `orders --record`
 */
import { Kysely, sql } from 'kysely';
import { isPostgres } from './001-initial.js';

export async function up(db: Kysely<any>): Promise<void> {
  const pg = isPostgres(db);
  const real = pg ? sql`double precision` : sql`real`;
  const serial = <T extends { addColumn: (...a: any[]) => T }>(t: T): T =>
    pg ? t.addColumn('id', 'serial', (c: any) => c.primaryKey()) : t.addColumn('id', 'integer', (c: any) => c.primaryKey().autoIncrement());
  await db.schema.alterTable('suppliers').addColumn('review_days', 'text').execute();
  await db.schema.alterTable('suppliers').addColumn('min_order_value', real).execute();
  await db.schema.alterTable('products').addColumn('like_sku', 'text').execute();
  await db.schema.alterTable('products').addColumn('like_factor', real).execute();
  await serial(db.schema.createTable('forecast_overrides'))
    .addColumn('product_id', 'integer', (c) => c.notNull().references('products.id').onDelete('cascade'))
    .addColumn('location_id', 'integer', (c) => c.notNull().references('locations.id').onDelete('cascade'))
    .addColumn('from_date', 'text', (c) => c.notNull())
    .addColumn('to_date', 'text', (c) => c.notNull())
    .addColumn('factor', real)
    .addColumn('quantity', real)
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('active', 'integer', (c) => c.notNull().defaultTo(1))
    .execute();
  await serial(db.schema.createTable('override_audit'))
    .addColumn('override_id', 'integer', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('os_user', 'text', (c) => c.notNull())
    .addColumn('at', 'text', (c) => c.notNull())
    .addColumn('details', 'text', (c) => c.notNull())
    .execute();
  await serial(db.schema.createTable('order_drafts'))
    .addColumn('supplier_id', 'integer', (c) => c.notNull().references('suppliers.id').onDelete('cascade'))
    .addColumn('location_id', 'integer', (c) => c.notNull().references('locations.id').onDelete('cascade'))
    .addColumn('created_on', 'text', (c) => c.notNull())
    .addColumn('total', real, (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('note', 'text')
    .execute();
  await db.schema
    .createTable('order_draft_lines')
    .addColumn('draft_id', 'integer', (c) => c.notNull().references('order_drafts.id').onDelete('cascade'))
    .addColumn('product_id', 'integer', (c) => c.notNull().references('products.id').onDelete('cascade'))
    .addColumn('quantity', real, (c) => c.notNull())
    .addColumn('unit_cost', real, (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['order_draft_lines', 'order_drafts', 'override_audit', 'forecast_overrides']) await db.schema.dropTable(t).ifExists().execute();
  await db.schema.alterTable('products').dropColumn('like_factor').execute();
  await db.schema.alterTable('products').dropColumn('like_sku').execute();
  await db.schema.alterTable('suppliers').dropColumn('min_order_value').execute();
  await db.schema.alterTable('suppliers').dropColumn('review_days').execute();
}
