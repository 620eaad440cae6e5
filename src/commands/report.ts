/** `optiflow report`: the HTML report (charts as inline SVG, no network needed to open it). */
import type { Command } from 'commander';
import type { Action } from '../cli.js';
import { writeReport } from '../report/index.js';
import { jobContext } from './jobs.js';
import { listOption, intOption } from './options.js';
import { keyValues } from './render.js';

export function registerReport(program: Command, action: Action): void {
  program.command('report').description('write one self-contained HTML report: KPIs, alerts, urgent series charts, ABC/XYZ, accuracy, savings')
    .option('--out <file>', 'HTML file to write (default: config report.out, else ./report.html)')
    .option('--sku <list>', 'also chart these series, SKU or SKU@LOCATION (comma-separated)', listOption)
    .option('--weeks <n>', 'weeks of forecast accuracy (default: config report.weeks, 8)', intOption('--weeks', 1))
    .addHelpText('after', '\nExample:\n  optiflow report --out report.html --sku P0001,P0002')
    .action(action(async (ctx, o: { out?: string; sku?: string[]; weeks?: number }) => {
      const r = await writeReport(await jobContext(ctx), { out: o.out ?? (ctx.config.report.out || 'report.html'), skus: o.sku, ...(o.weeks ? { weeks: o.weeks } : {}) });
      if (ctx.json) return ctx.out(JSON.stringify(r, null, 2) + '\n');
      ctx.out(keyValues({ file: r.file, size_kb: Math.round(r.bytes / 1024), alerts: r.alerts, series: r.series.join(', ') || '-', charts: r.charts }));
      for (const n of r.notes) ctx.out(`note: ${n}\n`);
    }));
}
