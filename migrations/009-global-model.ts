/**
 * global_models: the global forecasting model learned across all series
 * (src/ml/global-model.ts), one row per training. `model` holds the whole
 * serialised network (its parameters and base64 float32 weights, JSON text);
 * `params` a readable summary (features, rows, loss, backend); `metrics` what
 * training measured. One row is `active`: the latest trained before a run date.
 */
import { Kysely } from 'kysely';
import { isPostgres } from './001-initial.js';

export async function up(db: Kysely<any>): Promise<void> {
  let t = db.schema.createTable('global_models');
  t = isPostgres(db) ? t.addColumn('id', 'serial', (c) => c.primaryKey()) : t.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
  await t
    .addColumn('trained_at', 'text', (c) => c.notNull())
    .addColumn('train_end', 'text', (c) => c.notNull())
    .addColumn('params', 'text', (c) => c.notNull())
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('metrics', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('active'))
    .execute();
  await db.schema.createIndex('global_models_status').on('global_models').columns(['status', 'train_end']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('global_models').ifExists().execute();
}
