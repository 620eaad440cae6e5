/** A job: the unit the batch schedules and a single-job command runs. */
import type { Config } from '../config.js';
import type { Db } from '../db/connection.js';
import type { Logger } from '../log.js';

export interface JobContext {
  db: Db;
  config: Config;
  asOf: string;
  log: Logger;
  /** Shared by the jobs of one batch run (e.g. the demand history, loaded once). */
  cache?: Map<string, unknown>;
}

export interface JobResult {
  /** A few figures for the batch summary and the checkpoint. */
  summary: Record<string, number | string | null>;
  /** Rows for the table people see (and --json). */
  rows?: Record<string, unknown>[];
  [k: string]: unknown;
}

export interface Job {
  name: string;
  description: string;
  dependsOn: string[];
  /**
   * Reads nothing shared within a batch run and runs beside the long main-thread
   * jobs (predict, events-impact): the batch may run it in a worker thread.
   */
  isolated?: boolean;
  /**
   * Reads the demand history shared within a batch run (`historyFor`): the
   * batch drops that history once the last such job of the run is done.
   */
  readsHistory?: boolean;
  run(ctx: JobContext, opts?: Record<string, unknown>): Promise<JobResult>;
}

export function nowIso(): string {
  return new Date().toISOString();
}

/** A row without its database ids (what people and --json see). */
export function withoutIds<T extends { product_id: unknown; location_id: unknown }>(row: T): Omit<T, 'product_id' | 'location_id'> {
  const { product_id: _p, location_id: _l, ...rest } = row;
  return rest;
}
