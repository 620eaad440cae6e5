/**
 * Integrity of kept state:
 * - `meta(key, value)`: facts about the database itself; `instance_id` is a
 *   random id set once, so files kept beside the database (the history cache)
 *   can tell which database they were built from.
 * - notifications: a send is claimed before it is attempted (`claimed_by`,
 *   `claim_until`: a lease), and carries an idempotency key (alert id + run
 *   date) that receivers use to drop a retry they already saw.
 */
import { Kysely, sql } from 'kysely';
import { randomUUID } from 'node:crypto';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('meta')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .execute();
  await db.insertInto('meta').values({ key: 'instance_id', value: randomUUID() }).execute();
  await db.schema.alterTable('notifications').addColumn('claimed_by', 'text').execute();
  await db.schema.alterTable('notifications').addColumn('claim_until', 'text').execute();
  await db.schema.alterTable('notifications').addColumn('idempotency_key', 'text').execute();
  await sql`update notifications set idempotency_key = cast(alert_id as text) || ':' || substr(created_at, 1, 10) where alert_id is not null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('notifications').dropColumn('idempotency_key').execute();
  await db.schema.alterTable('notifications').dropColumn('claim_until').execute();
  await db.schema.alterTable('notifications').dropColumn('claimed_by').execute();
  await db.schema.dropTable('meta').ifExists().execute();
}
