/**
 * `optiflow demo`: the whole product on an embedded sample. Creates a sample
 * database if there is none, trains the models, runs the nightly batch and
 * returns the dashboard summary.
 */
import type { Db } from '../db/connection.js';
import { migrateToLatest, redactUrl } from '../db/connection.js';
import { hasSales, seriesForecastOn } from '../db/ops.js';
import { generateSample } from '../io/sample.js';
import { trainJob } from '../jobs/forecasting.js';
import { computeKpis, topUrgentJob } from '../jobs/dashboard.js';
import type { JobContext } from '../jobs/types.js';
import { JobError } from '../errors.js';
import { runBatch, type BatchResult } from './batch.js';

export interface DemoResult {
  db: string;
  sampleCreated: boolean;
  series: number;
  train: Record<string, unknown>;
  trainSeconds: number;
  batch: BatchResult;
  kpis: Awaited<ReturnType<typeof computeKpis>>;
  topUrgent: Record<string, unknown>[];
}

export async function runDemo(db: Db, base: Omit<JobContext, 'db'>, opts: { products?: number } = {}): Promise<DemoResult> {
  const m = await migrateToLatest(db);
  if (m.error) throw new JobError(`migration failed: ${(m.error as Error).message}`);
  const ctx: JobContext = { ...base, db };
  const hasData = await hasSales(db.kysely);
  if (!hasData) {
    base.log.info(`demo: writing a sample data set (${opts.products ?? 250} products, 730 days to ${base.asOf})`);
    await generateSample(db, { products: opts.products ?? 250, locations: 1, days: 730, seed: 42, today: base.asOf }); // refreshes the planner's statistics
  }
  const t0 = Date.now();
  const train = await trainJob.run(ctx, {});
  const trainSeconds = (Date.now() - t0) / 1000;
  const batch = await runBatch(ctx, { kind: 'nightly', fresh: true });
  const series = await seriesForecastOn(db.kysely, base.asOf);
  const top = await topUrgentJob.run(ctx, { n: 5 });
  return { db: redactUrl(db.location), sampleCreated: !hasData, series, train: train.summary, trainSeconds, batch, kpis: await computeKpis(ctx), topUrgent: top.rows ?? [] };
}
