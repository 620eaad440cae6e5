/**
 * Batch records: one `batch_runs` row per run (its uid, kind, run date, status,
 * metrics as JSON text) and one `batch_steps` row per job of the run. Read by
 * resume, `health`, `doctor`, `metrics`, `batch report` and `tenants`.
 */
import { sql } from 'kysely';
import { inTransaction, num, type Q } from './query.js';
import type { Db } from './connection.js';

export interface StepRecord {
  name: string;
  status: string;
  attempts: number;
  startedAt: string | null;
  finishedAt: string | null;
  error: string | null;
  output: Record<string, unknown> | null;
}

export interface RunRow {
  id: number;
  run_uid: string;
  run_date: string;
  status: string;
  started_at: string;
  finished_at: string | null;
}

/** Creates the run's row, or reopens it on resume; returns its id. */
export async function openRun(q: Q, r: { runUid: string; kind: string; runDate: string; startedAt: string }): Promise<number> {
  return inTransaction(q, async (trx) => {
    await trx
      .insertInto('batch_runs')
      .values({ run_uid: r.runUid, kind: r.kind, run_date: r.runDate, started_at: r.startedAt, status: 'running' })
      .onConflict((oc) => oc.column('run_uid').doUpdateSet({ status: 'running', finished_at: null }))
      .execute();
    const row = await trx.selectFrom('batch_runs').select('id').where('run_uid', '=', r.runUid).executeTakeFirstOrThrow();
    return num(row.id);
  });
}

/** Writes the state of every step of a run (one transaction). */
export async function saveSteps(q: Q, runId: number, steps: readonly StepRecord[]): Promise<void> {
  if (!steps.length) return;
  const rows = steps.map((s) => ({
    run_id: runId, step: s.name, status: s.status, attempts: s.attempts, started_at: s.startedAt, finished_at: s.finishedAt,
    error: s.error, output: s.output ? JSON.stringify(s.output) : null,
  }));
  await inTransaction(q, async (trx) => {
    await trx
      .insertInto('batch_steps')
      .values(rows)
      .onConflict((oc) =>
        oc.columns(['run_id', 'step']).doUpdateSet((eb) => ({
          status: eb.ref('excluded.status'), attempts: eb.ref('excluded.attempts'), started_at: eb.ref('excluded.started_at'),
          finished_at: eb.ref('excluded.finished_at'), error: eb.ref('excluded.error'), output: eb.ref('excluded.output'),
        })),
      )
      .execute();
  });
}

export async function finishRun(q: Q, runId: number, status: string, finishedAt: string, metrics: unknown): Promise<void> {
  await q.updateTable('batch_runs').set({ status, finished_at: finishedAt, metrics: JSON.stringify(metrics) }).where('id', '=', runId).execute();
}

/** The steps a run's records call succeeded. */
export async function succeededSteps(q: Q, runUid: string): Promise<Set<string>> {
  const rows = await q
    .selectFrom('batch_steps as s')
    .innerJoin('batch_runs as r', 'r.id', 's.run_id')
    .select('s.step')
    .where('r.run_uid', '=', runUid)
    .where('s.status', '=', 'success')
    .execute();
  return new Set(rows.map((r) => r.step));
}

/**
 * Whether a job's output rows for a run date are in the database (jobs that
 * write rows keyed by the run date whenever they succeed); null for jobs
 * without such rows.
 */
export async function hasOutputRows(q: Q, job: string, runDate: string): Promise<boolean | null> {
  const one = async (b: { executeTakeFirst(): Promise<unknown> }) => (await b.executeTakeFirst()) !== undefined;
  switch (job) {
    case 'predict':
      return one(q.selectFrom('forecasts').select(sql`1`.as('x')).where('run_date', '=', runDate).limit(1));
    case 'monitor':
      return one(q.selectFrom('metrics_history').select(sql`1`.as('x')).where('date', '=', runDate).limit(1));
    case 'kpis':
      return one(q.selectFrom('kpi_cache').select(sql`1`.as('x')).where('key', '=', `dashboard_kpis:${runDate}`).limit(1));
    case 'top-urgent':
      return one(q.selectFrom('kpi_cache').select(sql`1`.as('x')).where('key', '=', `top_urgent:${runDate}`).limit(1));
    case 'savings':
      return one(q.selectFrom('savings').select(sql`1`.as('x')).where('date', '=', runDate).limit(1));
    case 'revenue':
      return one(q.selectFrom('revenue_daily').select(sql`1`.as('x')).where('computed_on', '=', runDate).limit(1));
    case 'trends':
      return one(q.selectFrom('trends').select(sql`1`.as('x')).where('date', '=', runDate).limit(1));
    default:
      return null;
  }
}

/** Series the batch works on: active products x locations. */
export async function activeSeriesCount(q: Q): Promise<number> {
  const p = await q.selectFrom('products').select((eb) => eb.fn.countAll().as('n')).where('active', '=', 1).executeTakeFirst();
  const l = await q.selectFrom('locations').select((eb) => eb.fn.countAll().as('n')).executeTakeFirst();
  return num(p?.n) * num(l?.n);
}

/** The latest run of a kind (by id), or undefined. */
export async function lastRun(q: Q, kind: string): Promise<RunRow | undefined> {
  const r = await q.selectFrom('batch_runs').select(['id', 'run_uid', 'run_date', 'status', 'started_at', 'finished_at']).where('kind', '=', kind).orderBy('id', 'desc').limit(1).executeTakeFirst();
  return r ? { ...r, id: num(r.id) } : undefined;
}

/** When the last successful run of a kind finished, or null. */
export async function lastSuccessFinishedAt(q: Q, kind: string): Promise<string | null> {
  const r = await q
    .selectFrom('batch_runs')
    .select('finished_at')
    .where('kind', '=', kind)
    .where('status', '=', 'success')
    .where('finished_at', 'is not', null)
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return r?.finished_at ?? null;
}

/** The last `n` runs of a kind, oldest first. */
export async function recentRuns(q: Q, kind: string, n: number): Promise<RunRow[]> {
  const rows = await q.selectFrom('batch_runs').select(['id', 'run_uid', 'run_date', 'status', 'started_at', 'finished_at']).where('kind', '=', kind).orderBy('id', 'desc').limit(n).execute();
  return rows.map((r) => ({ ...r, id: num(r.id) })).reverse();
}

export interface StepTimes { run_id: number; step: string; status: string; started_at: string | null; finished_at: string | null }

/** The steps of the given runs (one query), ordered by run then step. */
export async function stepsOfRuns(q: Q, runIds: readonly number[]): Promise<StepTimes[]> {
  if (!runIds.length) return [];
  const rows = await q.selectFrom('batch_steps').select(['run_id', 'step', 'status', 'started_at', 'finished_at']).where('run_id', 'in', [...runIds]).orderBy('run_id').orderBy('step').execute();
  return rows.map((r) => ({ ...r, run_id: num(r.run_id) }));
}

/** Which of these run uids the database has records of. */
export async function knownRunUids(q: Q, uids: readonly string[]): Promise<Set<string>> {
  if (!uids.length) return new Set();
  const rows = await q.selectFrom('batch_runs').select('run_uid').where('run_uid', 'in', [...uids]).execute();
  return new Set(rows.map((r) => r.run_uid));
}

/**
 * Writes the steps' state at once where the database allows it: on SQLite in one
 * synchronous transaction (the record is on disk before the caller goes on, even
 * when the next job then holds the event loop for a long computation), returning
 * undefined; on PostgreSQL it returns the promise of `saveSteps`.
 */
export function saveStepsNow(db: Db, runId: number, steps: readonly StepRecord[]): Promise<void> | undefined {
  const s = db.sqlite;
  if (!s) return saveSteps(db.kysely, runId, steps);
  const up = s.prepare(
    `insert into batch_steps (run_id, step, status, attempts, started_at, finished_at, error, output) values (?, ?, ?, ?, ?, ?, ?, ?)
     on conflict(run_id, step) do update set status = excluded.status, attempts = excluded.attempts, started_at = excluded.started_at,
     finished_at = excluded.finished_at, error = excluded.error, output = excluded.output`,
  );
  s.transaction(() => {
    for (const st of steps) up.run(runId, st.name, st.status, st.attempts, st.startedAt, st.finishedAt, st.error, st.output ? JSON.stringify(st.output) : null);
  })();
  return undefined;
}
