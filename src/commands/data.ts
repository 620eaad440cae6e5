/** Data commands: init, db migrate, db status, sample, import, export. */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { dbStatus, migrateToLatest, redactUrl } from '../db/connection.js';
import { describeDatabase } from '../db/ops.js';
import { holdsData } from '../db/sample-writer.js';
import { generateSample } from '../io/sample.js';
import { FAMILY_NAMES, sampleFamily } from '../io/sample-families.js';
import { importCsv } from '../io/import.js';
import { exportEntity } from '../io/export.js';
import { ENTITIES } from '../io/entities.js';
import { EXPORTS } from '../io/export.js';
import { JobError, UsageError } from '../errors.js';
import { keyValues, table } from './render.js';
import type { Action } from '../cli.js';
import { intOption } from './options.js';
import { stateDir } from '../config.js';

export function registerData(program: Command, action: Action): void {
  program
    .command('init')
    .description('create the database and run all migrations')
    .action(action(async (ctx) => {
      const db = await ctx.db({ migrated: false });
      const r = await migrateToLatest(db);
      if (r.error) throw new JobError(`migration failed: ${(r.error as Error).message}`);
      const applied = (r.results ?? []).filter((x) => x.status === 'Success').map((x) => x.migrationName);
      if (ctx.json) ctx.out(JSON.stringify({ db: redactUrl(ctx.config.db), applied }) + '\n');
      else ctx.out(`database ${redactUrl(ctx.config.db)} ready (${applied.length ? 'applied ' + applied.join(', ') : 'already current'})\n`);
    }));

  const dbCmd = program.command('db').description('database maintenance: migrate, status');
  dbCmd
    .command('migrate')
    .description('apply pending migrations')
    .action(action(async (ctx) => {
      const db = await ctx.db({ migrated: false });
      const r = await migrateToLatest(db);
      if (r.error) throw new JobError(`migration failed: ${(r.error as Error).message}`);
      const results = (r.results ?? []).map((x) => ({ migration: x.migrationName, status: x.status }));
      ctx.out(ctx.json ? JSON.stringify({ results }) + '\n' : results.length ? table(results) : 'no pending migrations\n');
    }));
  dbCmd
    .command('status')
    .description('migrations applied and row counts per table')
    .action(action(async (ctx) => {
      if (!/^postgres/.test(ctx.config.db) && !existsSync(ctx.config.db)) throw new UsageError(`--db: ${ctx.config.db} does not exist; run \`optiflow init\` or \`optiflow sample\``);
      const db = await ctx.db({ migrated: false });
      const s = { ...(await dbStatus(db)), engine: await describeDatabase(db) };
      if (ctx.json) return ctx.out(JSON.stringify(s, null, 2) + '\n');
      ctx.out(`database ${s.location} (${s.dialect}), migrations ${s.allApplied ? 'current' : 'PENDING'}\n`);
      ctx.out(keyValues(s.engine) + '\n');
      ctx.out(table(s.migrations.map((m) => ({ migration: m.name, applied: m.applied, at: m.executedAt }))));
      ctx.out('\n' + table(Object.entries(s.rowCounts).map(([t, n]) => ({ table: t, rows: n }))));
    }));

  program
    .command('sample')
    .description('write a realistic synthetic data set (deterministic for a seed) into a new database')
    .option('--products <n>', 'number of products', intOption('--products', 1), 250)
    .option('--locations <n>', 'number of locations', intOption('--locations', 1), 1)
    .option('--days <n>', 'days of history ending the day before today (default 730; family intermittent 365, yearly 548)', intOption('--days', 60))
    .option('--seed <n>', 'random seed', intOption('--seed', 0), 42)
    .option('--family <name>', `mix of series: ${FAMILY_NAMES.join(' | ')} (intermittent: slow movers with stock-outs; yearly: strong yearly cycles, short history)`, 'default')
    .addHelpText('after', '\nExample:\n  optiflow sample --db sample.db --products 250 --seed 42\n  optiflow sample --db slow.db --family intermittent --products 200')
    .action(action(async (ctx, o: { products: number; locations: number; days?: number; seed: number; family: string }) => {
      if (!(FAMILY_NAMES as readonly string[]).includes(o.family)) throw new UsageError(`--family: unknown family "${o.family}"; use one of ${FAMILY_NAMES.join(', ')}`);
      const family = sampleFamily(o.family);
      const db = await ctx.db({ migrated: false });
      const r = await migrateToLatest(db);
      if (r.error) throw new JobError(`migration failed: ${(r.error as Error).message}`);
      if (await holdsData(db.kysely)) throw new UsageError(`sample: database ${redactUrl(ctx.config.db)} already holds data; use a new --db path`);
      const t0 = performance.now();
      const { summary } = await generateSample(db, {
        ...o,
        days: o.days ?? family.days,
        family: family.name,
        today: ctx.config.asOf,
        onProgress: (done, total) => ctx.log.debug(`sample: ${done}/${total} products`),
      });
      const seconds = Math.round((performance.now() - t0) / 100) / 10;
      if (ctx.json) return ctx.out(JSON.stringify({ ...summary, seconds }, null, 2) + '\n');
      ctx.out(`sample data written to ${ctx.config.db} in ${seconds}s: ${summary.products} products x ${summary.locations} location(s), ${summary.firstDate} .. ${summary.lastDate}\n`);
      ctx.out(table(Object.entries(summary.rows).map(([t, rows]) => ({ table: t, rows }))));
    }));

  program
    .command('import')
    .description(`import a CSV file (one transaction; a bad row changes nothing). Entities: ${Object.keys(ENTITIES).join(', ')}`)
    .argument('<entity>', 'what the file holds')
    .argument('<file>', 'CSV file with a header line')
    .option('--columns <map>', 'map canonical columns to the file\'s headers: canonical=theirs,...')
    .option('--dry-run', 'validate only, write nothing')
    .addHelpText('after', '\nExample:\n  optiflow import sales train.csv --columns sku=item,location=store,quantity=sales')
    .action(action(async (ctx, entity: string, file: string, o: { columns?: string; dryRun?: boolean }) => {
      if (!ENTITIES[entity]) throw new UsageError(`import: unknown entity "${entity}"; one of ${Object.keys(ENTITIES).join(', ')}`);
      if (!existsSync(file)) throw new UsageError(`import: file not found: ${file}`);
      const db = await ctx.db({ migrated: false });
      const m = await migrateToLatest(db);
      if (m.error) throw new JobError(`migration failed: ${(m.error as Error).message}`);
      const r = await importCsv(db, { entity, file, columns: o.columns, dryRun: o.dryRun, limits: ctx.config.data });
      if (ctx.json) return ctx.out(JSON.stringify(r) + '\n');
      ctx.out(`${r.dryRun ? 'validated' : 'imported'} ${r.rows} ${r.entity} rows from ${r.file} in ${r.seconds.toFixed(1)}s` +
        (r.created.products || r.created.locations ? ` (created ${r.created.products} products, ${r.created.locations} locations)` : '') + '\n');
    }));

  program
    .command('export')
    .description(`export an entity as CSV or JSON. Entities: ${Object.keys(EXPORTS).join(', ')}`)
    .argument('<entity>', 'what to export')
    .option('--format <fmt>', 'csv or json', 'csv')
    .option('--output <file>', 'write to a file instead of stdout')
    .option('--run-date <date>', 'forecasts: the run date (default: the latest run on or before today)')
    .option('--raw', 'CSV: write text cells as stored, without the leading \' that stops spreadsheets running =, +, -, @ cells as formulas')
    .addHelpText('after', '\nExample:\n  optiflow export forecasts --format csv > forecasts.csv')
    .action(action(async (ctx, entity: string, o: { format: string; output?: string; runDate?: string; raw?: boolean }) => {
      const db = await ctx.db();
      const protect = { db: ctx.config.db, stateDir: stateDir(ctx.config) };
      const r = await exportEntity(db, { entity, format: o.format as 'csv' | 'json', output: o.output, runDate: o.runDate, asOf: ctx.config.asOf, raw: o.raw, protect });
      ctx.log.info(`exported ${r.rows} ${entity} rows${r.runDate ? ' of run ' + r.runDate : ''}${o.output ? ' to ' + o.output : ''}`);
    }));
}
