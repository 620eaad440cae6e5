/**
 * One subcommand per job: it runs that one job object (the same object the
 * batch runs) and renders its result.
 */
import type { Command } from 'commander';
import type { Action } from '../cli.js';
import type { Context } from './context.js';
import type { Job, JobContext, JobResult } from '../jobs/types.js';
import { table, keyValues, type Cell } from './render.js';

export async function jobContext(ctx: Context): Promise<JobContext> {
  const db = await ctx.db();
  return { db, config: ctx.config, asOf: ctx.config.asOf, log: ctx.log };
}

export function renderResult(ctx: Context, name: string, r: JobResult, columns?: string[]): void {
  if (ctx.json) {
    ctx.out(JSON.stringify({ job: name, as_of: ctx.config.asOf, ...r }, null, 2) + '\n');
    return;
  }
  if (r.rows && r.rows.length) ctx.out(table(r.rows.slice(0, 200) as Record<string, Cell>[], columns) + (r.rows.length > 200 ? `... ${r.rows.length - 200} more rows (use --json for all)\n` : ''));
  else if (r.rows) ctx.out('(no rows)\n');
  ctx.out(keyValues(r.summary));
}

export function registerJob(program: Command, action: Action, job: Job, configure?: (c: Command) => Command, mapOpts?: (o: Record<string, unknown>) => Record<string, unknown>, columns?: string[]): Command {
  let cmd = program.command(job.name).description(job.description + (job.dependsOn.length ? ` (needs: ${job.dependsOn.join(', ')})` : ''));
  if (configure) cmd = configure(cmd);
  cmd.action(action(async (ctx, o: Record<string, unknown>) => {
    const jc = await jobContext(ctx);
    const r = await job.run(jc, mapOpts ? mapOpts(o) : o);
    renderResult(ctx, job.name, r, columns);
  }));
  return cmd;
}
