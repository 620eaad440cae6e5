/** Running a job in a worker thread (see worker.ts), with its errors rebuilt on this side. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { MissingInputError, OptiflowError } from '../errors.js';
import type { JobContext, JobResult } from '../jobs/types.js';

const WORKER = new URL('./worker.js', import.meta.url);

/** Threads need the built worker file; from TypeScript sources (tests) jobs run in this thread. */
export function threadsAvailable(): boolean {
  return WORKER.protocol === 'file:' && existsSync(fileURLToPath(WORKER));
}

export function runInThread(name: string, ctx: JobContext, options: Record<string, unknown> = {}): Promise<JobResult> {
  return new Promise((resolve, reject) => {
    const w = new Worker(WORKER, { workerData: { job: name, config: ctx.config, asOf: ctx.asOf, options } });
    let settled = false;
    w.on('message', (m: { type: string; level?: string; message?: string; result?: JobResult; name?: string; exitCode?: number }) => {
      if (m.type === 'log') ctx.log.log(m.level ?? 'info', m.message ?? '');
      else if (m.type === 'done') {
        settled = true;
        resolve(m.result!);
      } else if (m.type === 'error') {
        settled = true;
        if (m.name === 'MissingInputError') {
          const e = Object.create(MissingInputError.prototype) as MissingInputError;
          Object.assign(e, { message: m.message, name: m.name, exitCode: 1 });
          reject(e);
        } else reject(m.exitCode ? new OptiflowError(m.message ?? 'job failed', m.exitCode as 1 | 2) : new Error(m.message));
      }
    });
    w.on('error', (e) => {
      if (!settled) reject(e);
      settled = true;
    });
    w.on('exit', (code) => {
      if (!settled) reject(new Error(`job ${name} thread exited with code ${code}`));
    });
  });
}
