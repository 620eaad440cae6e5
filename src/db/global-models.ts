/**
 * Storage of the global forecasting model (table global_models, migration
 * 009): `train` saves the model it fitted, `predict` and `validate` load the
 * one trained before their run date. One row is active at a time; saving a
 * new one retires the previous ones in the same transaction.
 */
import { inTransaction, num } from './query.js';
import { qOf, type DbOrQ } from './handle.js';
import { globalFromJSON, globalSummary, type GlobalModel } from '../ml/global-model.js';

export interface StoredGlobalModel {
  id: number;
  trainedAt: string;
  trainEnd: string;
  model: GlobalModel;
  metrics: Record<string, unknown>;
}

/** Saves a fitted model as the active one (train_end: the last day it saw, ISO). Returns its id. */
export async function saveGlobalModel(
  db: DbOrQ,
  m: { model: GlobalModel; trainedAt: string; trainEnd: string; metrics?: Record<string, unknown> },
): Promise<number> {
  const params = JSON.stringify(globalSummary(m.model));
  const body = JSON.stringify(m.model.toJSON());
  return inTransaction(qOf(db), async (trx) => {
    await trx.updateTable('global_models').set({ status: 'retired' }).where('status', '=', 'active').execute();
    const r = await trx
      .insertInto('global_models')
      .values({ trained_at: m.trainedAt, train_end: m.trainEnd, params, model: body, metrics: JSON.stringify(m.metrics ?? {}), status: 'active' })
      .returning('id')
      .executeTakeFirstOrThrow();
    return num(r.id);
  });
}

/**
 * The model for a run on `asOf`: the active one if it was trained on data
 * before `asOf` (train_end < asOf), else the latest earlier one (a replayed
 * past date never uses a model that saw its future); null
 * when there is none (the caller names the fix: `optiflow train`). A stored
 * model this version cannot read throws with the same advice.
 */
export async function loadGlobalModel(db: DbOrQ, asOf: string): Promise<StoredGlobalModel | null> {
  const row = await qOf(db)
    .selectFrom('global_models')
    .select(['id', 'trained_at', 'train_end', 'model', 'metrics'])
    .where('train_end', '<', asOf)
    .orderBy((e) => e.case().when('status', '=', 'active').then(0).else(1).end())
    .orderBy('train_end', 'desc')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!row) return null;
  return { id: num(row.id), trainedAt: row.trained_at, trainEnd: row.train_end, model: globalFromJSON(row.model), metrics: JSON.parse(row.metrics) as Record<string, unknown> };
}
