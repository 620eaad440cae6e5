/**
 * The notification outbox (table `notifications`): queueing, claiming with a
 * lease, recording the outcome. The same statements on SQLite and PostgreSQL.
 *
 * The claim is one conditional UPDATE (`where id = ? and sent_at is null and
 * (claim_until is null or claim_until < now)`): atomic on both databases. On
 * PostgreSQL a concurrent sender's UPDATE of the same row waits for the first
 * to commit and then re-checks the condition (READ COMMITTED), so exactly one
 * sender sees one updated row; on SQLite writes are serialised by the database lock.
 */
import { Kysely, SqliteDialect } from 'kysely';
import type { Db } from './connection.js';
import type { Database } from './types.js';
import { num, type Q } from './query.js';
import type { SqliteHandle } from './sample-writer.js';

/** A database handle in any of the forms callers hold: the `Db`, a kysely handle or transaction, or a raw SQLite handle. */
export type AnyHandle = Db | Q | SqliteHandle;

const wrapped = new WeakMap<object, Kysely<Database>>();

/** The kysely handle for any of those forms (a raw SQLite handle is wrapped once, never closed here). */
export function queryHandle(h: AnyHandle): Q {
  if ('kysely' in h && 'dialect' in h) return (h as Db).kysely;
  if ('selectFrom' in h) return h as Q;
  let k = wrapped.get(h);
  if (!k) {
    k = new Kysely<Database>({ dialect: new SqliteDialect({ database: h as SqliteHandle }) });
    wrapped.set(h, k);
  }
  return k;
}

export async function unsentCount(q: Q): Promise<number> {
  const r = await q.selectFrom('notifications').select((e) => e.fn.countAll().as('n')).where('sent_at', 'is', null).executeTakeFirst();
  return num(r?.n);
}

/** Unsent notifications not held by a live lease at `now`, oldest first. */
export async function claimableIds(q: Q, now: string): Promise<number[]> {
  const rows = await q
    .selectFrom('notifications')
    .select('id')
    .where('sent_at', 'is', null)
    .where((e) => e.or([e('claim_until', 'is', null), e('claim_until', '<', now)]))
    .orderBy('id')
    .execute();
  return rows.map((r) => r.id);
}

/** Claims one notification for `owner` until `until`; false when it is sent or another sender holds a live lease. */
export async function claimNotification(q: Q, id: number, owner: string, until: string, now: string): Promise<boolean> {
  const r = await q
    .updateTable('notifications')
    .set({ claimed_by: owner, claim_until: until })
    .where('id', '=', id)
    .where('sent_at', 'is', null)
    .where((e) => e.or([e('claim_until', 'is', null), e('claim_until', '<', now)]))
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export interface QueuedNotification {
  payload: string;
  idempotency_key: string | null;
  alert_id: number | null;
  created_on: string | null;
}

export async function notificationToSend(q: Q, id: number): Promise<QueuedNotification | undefined> {
  return q
    .selectFrom('notifications as n')
    .leftJoin('alerts as a', 'a.id', 'n.alert_id')
    .select(['n.payload', 'n.idempotency_key', 'n.alert_id', 'a.created_on'])
    .where('n.id', '=', id)
    .executeTakeFirst();
}

/** Records the outcome of a send by the claim's owner: sent (error null) or failed (error kept, retried later). */
export async function recordSend(q: Q, id: number, owner: string, outcome: { sentAt: string } | { error: string }): Promise<void> {
  await q
    .updateTable('notifications')
    .set((e) => ({
      ...('sentAt' in outcome ? { sent_at: outcome.sentAt, error: null } : { error: outcome.error }),
      attempts: e('attempts', '+', 1),
      claimed_by: null,
      claim_until: null,
    }))
    .where('id', '=', id)
    .where('claimed_by', '=', owner)
    .execute();
}

/** Alert ids (of those given) that already have a notification queued or sent. */
export async function alertsWithNotification(q: Q, alertIds: number[]): Promise<Set<number>> {
  const out = new Set<number>();
  for (let i = 0; i < alertIds.length; i += 5000) {
    const part = alertIds.slice(i, i + 5000);
    for (const r of await q.selectFrom('notifications').select('alert_id').where('alert_id', 'in', part).execute()) if (r.alert_id !== null) out.add(r.alert_id);
  }
  return out;
}
