/** Draft purchase orders: stored with their lines in one transaction. */
import { inTransaction, insertMany, type Q } from './query.js';

export interface DraftToRecord {
  supplier: string;
  location: string;
  total: number;
  status: string;
  note: string | null;
  lines: { sku: string; quantity: number; unit_cost: number; reason: string }[];
}

async function idsBy(q: Q, table: 'suppliers' | 'locations' | 'products', col: 'code' | 'sku', keys: string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const uniq = [...new Set(keys)];
  for (let i = 0; i < uniq.length; i += 10_000) {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const rows = (await (q as any).selectFrom(table).select(['id', col]).where(col, 'in', uniq.slice(i, i + 10_000)).execute()) as { id: number; code?: string; sku?: string }[];
    for (const r of rows) out.set(String(r[col]), Number(r.id));
  }
  return out;
}

/**
 * Stores the drafts of `createdOn` (order_drafts, order_draft_lines): all of
 * them or none. Returns the draft ids in the order given.
 */
export async function recordDrafts(q: Q, createdOn: string, drafts: readonly DraftToRecord[]): Promise<number[]> {
  return inTransaction(q, async (trx) => {
    const sup = await idsBy(trx, 'suppliers', 'code', drafts.map((d) => d.supplier));
    const loc = await idsBy(trx, 'locations', 'code', drafts.map((d) => d.location));
    const prod = await idsBy(trx, 'products', 'sku', drafts.flatMap((d) => d.lines.map((l) => l.sku)));
    const need = (m: Map<string, number>, k: string, what: string) => {
      const v = m.get(k);
      if (v === undefined) throw new Error(`order draft: unknown ${what} "${k}"`);
      return v;
    };
    const ids: number[] = [];
    const lines: { draft_id: number; product_id: number; quantity: number; unit_cost: number; reason: string }[] = [];
    for (const d of drafts) {
      const { id } = await trx
        .insertInto('order_drafts')
        .values({ supplier_id: need(sup, d.supplier, 'supplier'), location_id: need(loc, d.location, 'location'), created_on: createdOn, total: d.total, status: d.status, note: d.note })
        .returning('id')
        .executeTakeFirstOrThrow();
      ids.push(Number(id));
      for (const l of d.lines) lines.push({ draft_id: Number(id), product_id: need(prod, l.sku, 'SKU'), quantity: l.quantity, unit_cost: l.unit_cost, reason: l.reason });
    }
    await insertMany(trx, 'order_draft_lines', lines);
    return ids;
  });
}
