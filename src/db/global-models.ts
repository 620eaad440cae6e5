/**
 * Storage of the global forecasting model (table global_models, migration
 * 009): `train` saves the model it fitted, `predict` and `validate` load the
 * one trained before their run date. One row is active at a time; saving a
 * new one retires the previous ones in the same transaction.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { globalFromJSON, globalSummary, type GlobalModel } from '../ml/global-model.js';

export interface StoredGlobalModel {
  id: number;
  trainedAt: string;
  trainEnd: string;
  model: GlobalModel;
  metrics: Record<string, unknown>;
}

/** Saves a fitted model as the active one (train_end: the last day it saw, ISO). Returns its id. */
export function saveGlobalModel(
  sqlite: BetterSqlite3.Database,
  m: { model: GlobalModel; trainedAt: string; trainEnd: string; metrics?: Record<string, unknown> },
): number {
  const params = JSON.stringify(globalSummary(m.model));
  const body = JSON.stringify(m.model.toJSON());
  return sqlite.transaction(() => {
    sqlite.prepare(`update global_models set status = 'retired' where status = 'active'`).run();
    const r = sqlite
      .prepare(`insert into global_models (trained_at, train_end, params, model, metrics, status) values (?, ?, ?, ?, ?, 'active')`)
      .run(m.trainedAt, m.trainEnd, params, body, JSON.stringify(m.metrics ?? {}));
    return Number(r.lastInsertRowid);
  })();
}

/**
 * The model for a run on `asOf`: the active one if it was trained on data
 * before `asOf` (train_end < asOf), else the latest earlier one (a replayed
 * past date never uses a model that saw its future); null
 * when there is none (the caller names the fix: `optiflow train`). A stored
 * model this version cannot read throws with the same advice.
 */
export function loadGlobalModel(sqlite: BetterSqlite3.Database, asOf: string): StoredGlobalModel | null {
  const row = sqlite
    .prepare(`select id, trained_at, train_end, model, metrics from global_models where train_end < ? order by status = 'active' desc, train_end desc, id desc limit 1`)
    .get(asOf) as { id: number; trained_at: string; train_end: string; model: string; metrics: string } | undefined;
  if (!row) return null;
  return { id: row.id, trainedAt: row.trained_at, trainEnd: row.train_end, model: globalFromJSON(row.model), metrics: JSON.parse(row.metrics) as Record<string, unknown> };
}
