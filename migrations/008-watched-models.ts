/**
 * Watched models: forecasts made in shadow (a challenger engine setting, and
 * the previous setting of series under a canary), the daily scores of every
 * forecast role on the same days, drift per series, and the record of each
 * challenger promotion and canary trial.
 */
import { Kysely, sql, type ColumnDefinitionBuilder } from 'kysely';
import { isPostgres } from './001-initial.js';

export async function up(db: Kysely<any>): Promise<void> {
  const pg = isPostgres(db);
  const real = pg ? sql`double precision` : sql`real`;
  const nn = (c: ColumnDefinitionBuilder) => c.notNull();
  const ref = (table: string) => (c: ColumnDefinitionBuilder) => c.notNull().references(`${table}.id`).onDelete('cascade');

  await db.schema.createTable('shadow_forecasts')
    .addColumn('product_id', 'integer', ref('products'))
    .addColumn('location_id', 'integer', ref('locations'))
    .addColumn('run_date', 'text', nn)
    .addColumn('date', 'text', nn)
    .addColumn('role', 'text', nn)
    .addColumn('setting', 'text', nn)
    .addColumn('yhat', real, nn)
    .addPrimaryKeyConstraint('shadow_forecasts_pk', ['product_id', 'location_id', 'role', 'run_date', 'date'])
    .execute();
  await db.schema.createIndex('shadow_forecasts_run').on('shadow_forecasts').columns(['role', 'run_date', 'date']).execute();

  await db.schema.createTable('model_scores')
    .addColumn('product_id', 'integer', ref('products'))
    .addColumn('location_id', 'integer', ref('locations'))
    .addColumn('date', 'text', nn)
    .addColumn('role', 'text', nn)
    .addColumn('setting', 'text', nn)
    .addColumn('forecast', real, nn)
    .addColumn('actual', real, nn)
    .addPrimaryKeyConstraint('model_scores_pk', ['product_id', 'location_id', 'role', 'date'])
    .execute();

  await db.schema.createTable('model_drift')
    .addColumn('product_id', 'integer', ref('products'))
    .addColumn('location_id', 'integer', ref('locations'))
    .addColumn('date', 'text', nn)
    .addColumn('psi', real)
    .addColumn('error_ratio', real)
    .addColumn('flagged', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('reason', 'text')
    .addPrimaryKeyConstraint('model_drift_pk', ['product_id', 'location_id', 'date'])
    .execute();

  let t = db.schema.createTable('model_trials');
  t = pg ? t.addColumn('id', 'serial', (c) => c.primaryKey()) : t.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
  await t
    .addColumn('kind', 'text', nn)
    .addColumn('product_id', 'integer', ref('products'))
    .addColumn('location_id', 'integer', ref('locations'))
    .addColumn('setting', 'text', nn)
    .addColumn('model_id', 'integer')
    .addColumn('previous_model_id', 'integer')
    .addColumn('started_on', 'text', nn)
    .addColumn('decided_on', 'text')
    .addColumn('status', 'text', nn)
    .addColumn('details', 'text')
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['model_trials', 'model_drift', 'model_scores', 'shadow_forecasts']) await db.schema.dropTable(t).ifExists().execute();
}
