/**
 * data_changes: every import (and `sample`) of sales or stock records the date
 * range it touched, so the demand-history cache knows which days to reload.
 */
import { Kysely } from 'kysely';
import { isPostgres } from './001-initial.js';

export async function up(db: Kysely<any>): Promise<void> {
  let t = db.schema.createTable('data_changes');
  t = isPostgres(db) ? t.addColumn('id', 'serial', (c) => c.primaryKey()) : t.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
  await t
    .addColumn('entity', 'text', (c) => c.notNull())
    .addColumn('min_date', 'text')
    .addColumn('max_date', 'text')
    .addColumn('rows', 'integer', (c) => c.notNull())
    .addColumn('changed_at', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('data_changes').ifExists().execute();
}
