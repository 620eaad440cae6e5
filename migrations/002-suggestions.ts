/** Recorded order suggestions (`suggest --record`): purchase orders refer to them by suggestion_id. */
import { Kysely, sql } from 'kysely';
import { isPostgres } from './001-initial.js';

export async function up(db: Kysely<any>): Promise<void> {
  const pg = isPostgres(db);
  const real = pg ? sql`double precision` : sql`real`;
  let t = db.schema.createTable('suggestions');
  t = pg ? t.addColumn('id', 'serial', (c) => c.primaryKey()) : t.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
  await t
    .addColumn('product_id', 'integer', (c) => c.notNull().references('products.id').onDelete('cascade'))
    .addColumn('location_id', 'integer', (c) => c.notNull().references('locations.id').onDelete('cascade'))
    .addColumn('created_on', 'text', (c) => c.notNull())
    .addColumn('supplier_id', 'integer')
    .addColumn('quantity', real, (c) => c.notNull())
    .addColumn('unit_cost', real, (c) => c.notNull())
    .addColumn('list_unit_cost', real, (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('suggestions').ifExists().execute();
}
