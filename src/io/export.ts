/**
 * Export: every importable entity in its canonical CSV columns (so an export
 * can be imported back), plus forecasts, alerts, models and metrics.
 */
import { createWriteStream, existsSync, renameSync, rmSync, statSync, type WriteStream } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Db } from '../db/connection.js';
import { EXPORT_QUERIES, exportRows, latestRunOnOrBefore } from '../db/export-queries.js';
import { JobError, OptiflowError, UsageError } from '../errors.js';
import { assertSafeOutput, describeIoError, type ProtectedPaths } from './file-safety.js';
import { csvRow } from './csv.js';

/** The entities `export` knows: the name of each, mapped to what it selects (src/db/export-queries.ts). */
export const EXPORTS = EXPORT_QUERIES;

export interface ExportOptions {
  entity: string;
  format: 'csv' | 'json';
  output?: string;
  runDate?: string;
  asOf: string;
  /** CSV cells as stored, without the formula guard (for re-import). */
  raw?: boolean;
  /** Files the output must never be (the database, its journal files, the state folder). */
  protect?: ProtectedPaths;
}

/**
 * A text cell a spreadsheet would run as a formula (starting with =, +, -, @,
 * tab or carriage return) gets a leading apostrophe, as OWASP advises for CSV
 * injection. Numbers stay numbers.
 */
export function guardFormula(v: unknown): unknown {
  return typeof v === 'string' && /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
}

export async function exportEntity(db: Db, opts: ExportOptions, stdout: NodeJS.WritableStream = process.stdout): Promise<{ rows: number; runDate?: string }> {
  if (!EXPORTS[opts.entity]) throw new UsageError(`export: unknown entity "${opts.entity}"; one of ${Object.keys(EXPORTS).join(', ')}`);
  if (!['csv', 'json'].includes(opts.format)) throw new UsageError(`--format: "${opts.format}" must be csv or json`);
  if (opts.output && opts.protect) assertSafeOutput(opts.output, '--output', opts.protect);
  let runDate = opts.runDate;
  if (opts.entity === 'forecasts' && !runDate) {
    runDate = (await latestRunOnOrBefore(db.kysely, opts.asOf)) ?? opts.asOf;
  }
  // A regular file is written under a temporary name and renamed when complete: a failed export leaves nothing half-written.
  const special = !!opts.output && existsSync(opts.output) && !statSync(opts.output).isFile();
  const tmp = opts.output && !special ? `${opts.output}.${process.pid}.tmp` : null;
  const out = (opts.output ? await openOutput(opts.output, tmp ?? opts.output) : stdout) as NodeJS.WritableStream;
  const failed = new Promise<never>((_, rej) => {
    if (opts.output) out.on('error', rej);
  });
  failed.catch(() => undefined);
  const write = (s: string) => (out.write(s) ? Promise.resolve() : Promise.race([new Promise<void>((res) => out.once('drain', res)), failed]));
  const cell = opts.raw ? (v: unknown) => v : guardFormula;
  let rows = 0;
  try {
    let header: string[] | null = null;
    const emit = async (row: Record<string, unknown>) => {
      if (!header) {
        header = Object.keys(row);
        if (opts.format === 'csv') await write(csvRow(header) + '\n');
        else await write('[');
      }
      if (opts.format === 'csv') await write(csvRow(header.map((h) => cell(row[h]))) + '\n');
      else await write((rows ? ',\n' : '\n') + JSON.stringify(row));
      rows++;
    };
    for await (const row of exportRows(db, opts.entity, runDate)) await emit(row);
    if (!header) {
      if (opts.format === 'json') await write('[');
    }
    if (opts.format === 'json') await write(rows ? '\n]\n' : ']\n');
    if (opts.output) await Promise.race([new Promise<void>((res, rej) => (out as WriteStream).end((err?: Error | null) => (err ? rej(err) : res()))), failed]);
    if (tmp) renameSync(tmp, opts.output!);
  } catch (e) {
    if (opts.output) (out as WriteStream).destroy();
    if (tmp) rmSync(tmp, { force: true });
    if (e instanceof OptiflowError) throw e;
    throw new JobError(`export: ${describeIoError(e, opts.output)}`);
  }
  return { rows, runDate };
}

/** Opens an output file, or says plainly why it cannot be written (exit 2). */
async function openOutput(path: string, file: string): Promise<WriteStream> {
  const dir = dirname(resolve(path));
  if (!existsSync(dir)) throw new UsageError(`--output: folder ${dir} does not exist; create it (mkdir -p ${dir}) or choose another path`);
  if (existsSync(path) && statSync(path).isDirectory()) throw new UsageError(`--output: ${path} is a folder; give a file path`);
  const out = createWriteStream(file);
  await new Promise<void>((res, rej) => {
    out.once('open', () => res());
    out.once('error', (e: NodeJS.ErrnoException) => rej(new UsageError(`--output: cannot write ${path} (${e.code ?? e.message}); choose a writable path`)));
  });
  return out;
}
