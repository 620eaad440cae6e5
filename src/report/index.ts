/** `optiflow report`: collect, render, write atomically. */
import writeFileAtomic from 'write-file-atomic';
import { dirname, join, resolve } from 'node:path';
import { existsSync, mkdirSync } from 'node:fs';
import { stateDir } from '../config.js';
import { UsageError } from '../errors.js';
import type { JobContext } from '../jobs/types.js';
import { collectReport, type ReportOptions } from './data.js';
import { renderReport } from './html.js';

export interface WriteReportOptions extends ReportOptions {
  /** Output file; default `report.out` from config, else report-DATE.html in the state folder. */
  out?: string;
}

export interface ReportResult {
  file: string;
  bytes: number;
  as_of: string;
  alerts: number;
  series: string[];
  charts: number;
  notes: string[];
}

export function defaultReportFile(ctx: JobContext): string {
  return ctx.config.report.out || join(stateDir(ctx.config), `report-${ctx.asOf}.html`);
}

export async function writeReport(ctx: JobContext, o: WriteReportOptions = {}): Promise<ReportResult> {
  const file = resolve(o.out ?? defaultReportFile(ctx));
  const dir = dirname(file);
  if (o.out !== undefined && !existsSync(dir)) throw new UsageError(`--out: folder ${dir} does not exist`);
  mkdirSync(dir, { recursive: true });
  const data = await collectReport(ctx, { weeks: ctx.config.report.weeks, historyDays: ctx.config.report.historyDays, ...o });
  const html = renderReport(data);
  await writeFileAtomic(file, html, 'utf8');
  const charts = (html.match(/<figure class="chart" /g) ?? []).length;
  ctx.log.info(`report: ${file} (${Math.round(html.length / 1024)} KB, ${data.series.length} series, ${charts} charts)`);
  return { file, bytes: Buffer.byteLength(html), as_of: ctx.asOf, alerts: data.alerts.length, series: data.series.map((s) => `${s.sku}@${s.location}`), charts, notes: data.notes };
}
