/**
 * What the nightly batch does before and after its jobs when configured:
 * `batch.checkFirst` runs the data-quality check and refuses to run on a
 * blocking failure; `report.afterBatch` writes the HTML report at the end.
 */
import { runCheck } from '../check/index.js';
import { JobError, errorMessage } from '../errors.js';
import type { JobContext } from '../jobs/types.js';
import { writeReport } from '../report/index.js';

export async function refuseOnBlockingFaults(ctx: JobContext): Promise<void> {
  const r = await runCheck(ctx);
  if (r.status !== 'fail') return;
  const first = r.findings.filter((f) => r.blocking_failures.includes(f.rule)).slice(0, 3)
    .map((f) => `${f.rule}: ${[f.table, f.sku, f.location, f.date].filter(Boolean).join(' ')}: ${f.message}`);
  throw new JobError(`data quality check failed on blocking rule(s) ${r.blocking_failures.join(', ')}; the batch did not run. ${first.join('; ')}. See \`optiflow check --as-of ${ctx.asOf}\`, fix the data, then run the batch again`);
}

/** The report is a by-product: a failure to write it is logged, it does not fail the run. */
export async function reportAfterBatch(ctx: JobContext): Promise<void> {
  try {
    await writeReport(ctx);
  } catch (e) {
    ctx.log.error(`report: not written: ${errorMessage(e)}`);
  }
}
