/**
 * Operator commands: backup, restore, metrics, doctor, audit, security-check,
 * compliance, tenants, batch report.
 */
import type { Command } from 'commander';
import type { Action } from '../cli.js';
import type { Context } from './context.js';
import { runAllTenants } from '../ops/all-tenants.js';
import { UsageError } from '../errors.js';
import { backup, restore } from '../ops/backup.js';
import { serveMetrics, textfilePath, writeTextfile, metricsText } from '../ops/metrics.js';
import { runDoctor } from '../ops/doctor.js';
import { listAudit } from '../ops/audit.js';
import { readConfigData, securityCheck } from '../ops/security.js';
import { complianceReport } from '../ops/compliance.js';
import { createTenant, listTenants, removeTenant, checkTenantName } from '../ops/tenants.js';
import { batchReport } from '../ops/batch-report.js';
import { dateOption, intOption } from './options.js';
import { keyValues, table, type Cell } from './render.js';

const json = (v: unknown) => JSON.stringify(v, null, 2) + '\n';

export function registerOpsAdmin(program: Command, action: Action): void {
  program
    .command('backup')
    .description('online, verified copy of the database (and its state folder) while a batch may run; keeps the newest N')
    .option('--to <dir>', 'backup folder (default: config backup.dir, else `backups` beside the database)')
    .option('--keep <n>', 'backups to keep (default: config backup.keep, 7)', intOption('--keep', 1))
    .addHelpText('after', '\nExample:\n  optiflow backup --to /var/backups/optiflow --keep 14')
    .action(action(async (ctx, o: { to?: string; keep?: number }) => {
      const r = await backup(ctx.config, o);
      ctx.out(ctx.json ? json(r) : keyValues({ backup: r.file, created_at: r.created_at, integrity: r.integrity, tables: Object.keys(r.tables).length, rows: Object.values(r.tables).reduce((a, b) => a + b, 0), size_bytes: r.size_bytes, state: r.state_dir, removed: r.removed.length ? r.removed.join(', ') : null, seconds: r.seconds }));
    }));

  program
    .command('restore')
    .description('replace the database with a verified backup; an existing database only with --force, and the replaced file is kept')
    .argument('<file>', 'backup file (.db) written by `optiflow backup`')
    .option('--force', 'replace an existing database (never while a batch runs on it)')
    .addHelpText('after', '\nExample:\n  optiflow restore backups/optiflow-20261123-010500Z.db --db optiflow.db --force')
    .action(action(async (ctx, file: string, o: { force?: boolean }) => {
      const r = restore(ctx.config, file, o);
      ctx.out(ctx.json ? json(r) : keyValues({ restored: r.restored, from: r.from, rows: Object.values(r.tables).reduce((a, b) => a + b, 0), replaced_kept_as: r.replaced, state_restored: r.state_restored, state_replaced_kept_as: r.state_replaced }));
    }));

  const metrics = program.command('metrics').description('Prometheus metrics: serve /metrics, or write the textfile now');
  metrics.command('serve')
    .description('serve the metrics on http://HOST:PORT/metrics until stopped')
    .option('--port <n>', 'port (default 9464; 0 = any free port)', (v) => { const n = Number(v); if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError('--port must be an integer 0..65535'); return n; }, 9464)
    .option('--host <addr>', 'address to listen on (default 127.0.0.1)', '127.0.0.1')
    .addHelpText('after', '\nExample:\n  optiflow metrics serve --port 9464')
    .action(action(async (ctx, o: { port: number; host: string }) => {
      let server;
      try {
        server = await serveMetrics(ctx.config, { ...o, tenant: ctx.tenant });
      } catch (e) {
        throw new UsageError(`metrics serve: cannot listen on ${o.host}:${o.port} (${(e as Error).message}); pick another --port`);
      }
      const a = server.address();
      const port = typeof a === 'object' && a ? a.port : o.port;
      ctx.out(ctx.json ? JSON.stringify({ url: `http://${o.host}:${port}/metrics`, port }) + '\n' : `serving http://${o.host}:${port}/metrics (Ctrl-C to stop)\n`);
      await new Promise<void>((res) => server.on('close', () => res()));
    }));
  metrics.command('write')
    .description('write the textfile for node_exporter now (written after every data change and batch anyway)')
    .option('--stdout', 'print the metrics instead of writing the file')
    .addHelpText('after', '\nExample:\n  optiflow metrics write')
    .action(action(async (ctx, o: { stdout?: boolean }) => {
      if (o.stdout) return ctx.out(await metricsText(ctx.config, ctx.tenant));
      if (!textfilePath(ctx.config)) throw new UsageError('metrics write: metrics.textfile is "off"; set it to a path (or leave it empty for the state folder)');
      const file = await writeTextfile(ctx.config, ctx.tenant);
      ctx.out(ctx.json ? json({ textfile: file }) : `wrote ${file}\n`);
    }));

  program
    .command('doctor')
    .description('health checks plus the known causes of a failed night, each with the command that fixes it; exit 0/1/2 like health')
    .addHelpText('after', '\nExample:\n  optiflow doctor --as-of 2026-11-23')
    .action(action(async (ctx) => {
      const r = await runDoctor(ctx.config);
      if (ctx.json) ctx.out(json(r));
      else {
        ctx.out(table(r.checks.map((c) => ({ check: c.check, status: c.status, detail: c.detail }))));
        const fixes = r.checks.filter((c) => c.fix);
        if (fixes.length) ctx.out('\nto fix:\n' + fixes.map((c) => `  ${c.check}: ${c.fix}`).join('\n') + '\n');
        ctx.out(`overall: ${r.status}\n`);
      }
      return r.exitCode;
    }));

  program
    .command('audit')
    .description('who changed what: the audit trail of data-changing commands')
    .option('--since <date>', 'from this date (YYYY-MM-DD)', dateOption('--since'))
    .option('--limit <n>', 'at most this many rows, the newest (default 1000)', intOption('--limit', 1), 1000)
    .addHelpText('after', '\nExample:\n  optiflow audit --since 2026-11-01 --json')
    .action(action(async (ctx, o: { since?: string; limit: number }) => {
      const rows = await listAudit((await ctx.db()).kysely, o.since, o.limit);
      ctx.out(ctx.json ? json(rows) : table(rows.map((r) => ({ started_at: r.started_at, user: r.os_user, command: r.command, outcome: r.outcome, exit: r.exit_code, command_line: r.command_line })) as Record<string, Cell>[]));
    }));

  program
    .command('security-check')
    .description('permissions of database, state, logs, backups; secrets in the config; the notification command; exit 1 on findings')
    .addHelpText('after', '\nExample:\n  optiflow security-check --json')
    .action(action(async (ctx) => {
      const r = securityCheck(ctx.config, ctx.configFile, readConfigData(ctx.configFile));
      if (ctx.json) ctx.out(json(r));
      else {
        ctx.out(r.findings.length ? table(r.findings as unknown as Record<string, Cell>[]) : 'no findings\n');
        ctx.out(`${r.checked.length} path(s) checked\n`);
      }
      return r.exitCode;
    }));

  program
    .command('compliance')
    .description('retention rules in force and what is older than them, free-text fields, audit completeness; exit 1 on findings')
    .addHelpText('after', '\nExample:\n  optiflow compliance --json')
    .action(action(async (ctx) => {
      const r = await complianceReport(await ctx.db(), ctx.config);
      if (ctx.json) ctx.out(json(r));
      else {
        ctx.out(`compliance report, ${r.as_of}\n\nretention\n` + table(r.retention as unknown as Record<string, Cell>[]));
        ctx.out(`backups: ${r.backups.present} kept, rule keeps ${r.backups.keep}\n\nwhere personal data could sit\n` + table(r.personal_data as unknown as Record<string, Cell>[]));
        ctx.out(`\naudit trail: ${r.audit.complete ? 'complete' : 'INCOMPLETE'}, ${r.audit.entries} entries since ${r.audit.since ?? '-'}\n`);
        for (const n of r.audit.notes) ctx.out(`  ${n}\n`);
        ctx.out(r.findings.length ? `\nfindings\n${r.findings.map((f) => '  - ' + f).join('\n')}\n` : '\nno findings\n');
      }
      return r.exitCode;
    }));

  const tenants = program.command('tenants').description('tenants: one database and state folder per shop under tenants.root');
  tenants.command('list').description('the tenants, their database and last nightly batch')
    .addHelpText('after', '\nExample:\n  OPTIFLOW_TENANTS_ROOT=/srv/optiflow optiflow tenants list')
    .action(action(async (ctx) => {
      const rows = await listTenants(ctx.config);
      ctx.out(ctx.json ? json(rows) : table(rows as unknown as Record<string, Cell>[]));
    }));
  tenants.command('create').description('create a tenant: its folder and an initialised database').argument('<name>')
    .addHelpText('after', '\nExample:\n  optiflow tenants create shop-lyon && optiflow --tenant shop-lyon import sales sales.csv')
    .action(action(async (ctx, name: string) => {
      const r = await createTenant(ctx.config, checkTenantName(name));
      ctx.out(ctx.json ? json(r) : `created tenant ${r.tenant}: ${r.db}\n`);
    }));
  tenants.command('remove').description('remove a tenant: its folder is moved aside under .removed (or deleted with --purge)').argument('<name>')
    .option('--purge', 'delete the folder instead of moving it aside')
    .addHelpText('after', '\nExample:\n  optiflow tenants remove shop-lyon')
    .action(action(async (ctx, name: string, o: { purge?: boolean }) => {
      const r = removeTenant(ctx.config, checkTenantName(name), o.purge);
      ctx.out(ctx.json ? json(r) : r.kept_in ? `removed tenant ${r.tenant}; its files are kept in ${r.kept_in}\n` : `removed tenant ${r.tenant} and deleted ${r.removed}\n`);
    }));

  const batch = program.commands.find((c) => c.name() === 'batch');
  if (batch)
    batch.command('report')
      .description('per job: duration over the last N runs, trend, the job that grew most; where the last run\'s time went')
      .option('--runs <n>', 'runs to look at (default 10)', intOption('--runs', 1), 10)
      .option('--kind <kind>', 'nightly (default) or weekly', 'nightly')
      .addHelpText('after', '\nExample:\n  optiflow batch report --runs 14')
      .action(action(async (ctx, o: { runs: number; kind: string }) => {
        if (o.kind !== 'nightly' && o.kind !== 'weekly') throw new UsageError(`batch report: --kind "${o.kind}" must be nightly or weekly`);
        const r = await batchReport((await ctx.db()).kysely, o);
        if (ctx.json) return ctx.out(json(r));
        if (!r.runs.length) return ctx.out(`no ${o.kind} batch run recorded yet\n`);
        ctx.out(`last ${r.runs.length} ${r.kind} run(s), ${r.runs[0].run_date} .. ${r.runs.at(-1)!.run_date}\n`);
        ctx.out(table(r.jobs.map((j) => ({ job: j.job, runs: j.runs, durations_s: j.durations.map((d) => (d === null ? '-' : d.toFixed(1))).join(' '), mean_s: j.mean_seconds, trend_s_per_run: j.slope_seconds_per_run, growth_s: j.growth_seconds }))));
        ctx.out(r.grew_most ? `grew most: ${r.grew_most.job} (+${r.grew_most.growth_seconds.toFixed(1)} s, newer half against older half of the runs)\n` : 'no job grew\n');
        if (r.last_run) {
          ctx.out(`\nlast run ${r.last_run.run_id.slice(0, 8)} (${r.last_run.run_date}, ${r.last_run.status}, ${r.last_run.wall_seconds?.toFixed(1) ?? '-'} s wall)\n`);
          ctx.out(table(r.last_run.jobs.map((j) => ({ job: j.job, status: j.status, seconds: j.seconds, share_pct: j.share === null ? null : Math.round(1000 * j.share) / 10 }))));
        }
      }));
}

/** `batch --all-tenants`: the batch options are passed on to each tenant's batch. */
export async function batchAllTenants(ctx: Context, kind: string, o: { resume?: boolean; fresh?: boolean; only?: string[]; skip?: string[]; dryRun?: boolean; concurrency?: number }): Promise<number> {
  if (ctx.tenant) throw new UsageError('batch: --all-tenants and --tenant (or OPTIFLOW_TENANT) exclude each other');
  const args = [kind];
  if (o.resume) args.push('--resume');
  if (o.fresh) args.push('--fresh');
  if (o.dryRun) args.push('--dry-run');
  if (o.only?.length) args.push('--only', o.only.join(','));
  if (o.skip?.length) args.push('--skip', o.skip.join(','));
  if (o.concurrency) args.push('--concurrency', String(o.concurrency));
  args.push('--as-of', ctx.config.asOf, '--log-level', ctx.config.logLevel);
  if (ctx.configFile) args.push('--config', ctx.configFile);
  if (ctx.quiet) args.push('--quiet');
  const r = await runAllTenants(ctx.config, process.argv[1], args, (t, line) => { if (!ctx.quiet) process.stderr.write(`[${t}] ${line}\n`); });
  if (ctx.json) ctx.out(json(r));
  else {
    ctx.out(table(r.tenants as unknown as Record<string, Cell>[]));
    ctx.out(r.failed.length ? `failed: ${r.failed.join(', ')}\n` : `all ${r.tenants.length} tenant(s) succeeded\n`);
  }
  if (!r.tenants.length) process.stderr.write(`warn: no tenants under ${ctx.config.tenants.root}; create one with \`optiflow tenants create NAME\`\n`);
  return r.failed.length ? 1 : 0;
}
