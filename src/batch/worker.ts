/**
 * A worker thread that runs one job of a batch: it opens its own database
 * connection (SQLite WAL lets readers and one writer work side by side), runs
 * the job and posts its result; its log lines go to the batch's logger.
 */
import { parentPort, workerData } from 'node:worker_threads';
import winston from 'winston';
import Transport from 'winston-transport';
import { openDb } from '../db/connection.js';
import type { Job } from '../jobs/types.js';
import type { Config } from '../config.js';
import { OptiflowError } from '../errors.js';

interface Input {
  job: string;
  config: Config;
  asOf: string;
  meta: Record<string, unknown>;
  options: Record<string, unknown>;
}

class ToParent extends Transport {
  override log(info: { level: string; message: string; [k: string]: unknown }, next: () => void) {
    parentPort!.postMessage({ type: 'log', level: info.level, message: info.message });
    next();
  }
}

/** The module of each job that may run in a thread: importing only it keeps TensorFlow.js out of threads that do not need it. */
const MODULES: Record<string, [string, string]> = {
  'quality-risk': ['../jobs/quality.js', 'qualityRiskJob'],
  alerts: ['../jobs/alerts.js', 'alertsJob'],
  kpis: ['../jobs/dashboard.js', 'kpisJob'],
  savings: ['../jobs/dashboard.js', 'savingsJob'],
  revenue: ['../jobs/dashboard.js', 'revenueJob'],
  'top-urgent': ['../jobs/dashboard.js', 'topUrgentJob'],
  dormant: ['../jobs/dashboard.js', 'dormantJob'],
};

async function main() {
  const input = workerData as Input;
  const where = MODULES[input.job];
  const job = where ? ((await import(where[0])) as Record<string, Job>)[where[1]] : ((await import('../jobs/index.js')).jobByName(input.job) as Job | undefined);
  if (!job) throw new Error(`unknown job ${input.job}`);
  const db = openDb(input.config.db, { poolSize: input.config.dbPool });
  const log = winston.createLogger({ level: 'debug', transports: [new ToParent()] });
  try {
    const r = await job.run({ db, config: input.config, asOf: input.asOf, log }, input.options);
    parentPort!.postMessage({ type: 'done', result: { summary: r.summary } });
  } catch (e) {
    const err = e as Error & { exitCode?: number };
    parentPort!.postMessage({ type: 'error', name: err.name, message: err.message, exitCode: e instanceof OptiflowError ? e.exitCode : undefined });
  } finally {
    await db.close();
  }
}

main().catch((e) => parentPort!.postMessage({ type: 'error', name: 'Error', message: String((e as Error)?.message ?? e) }));
