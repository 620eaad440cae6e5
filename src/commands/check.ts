/** `optiflow check`: data quality, as a table, JSON, CSV or HTML; exit 1 when a blocking rule fails. */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import writeFileAtomic from 'write-file-atomic';
import type { Action } from '../cli.js';
import { runCheck, checkCsv, checkHtml } from '../check/index.js';
import { jobContext } from './jobs.js';
import { listOption } from './options.js';
import { table, type Cell } from './render.js';

const FORMATS = ['table', 'json', 'csv', 'html'];

export function registerCheck(program: Command, action: Action): void {
  program.command('check').description('data quality: completeness, uniqueness, validity, consistency, demand anomalies; a score per rule; exit 1 when a blocking rule fails')
    .option('--format <format>', 'table (default), json, csv (one line per finding) or html', (v: string) => {
      if (!FORMATS.includes(v)) throw new InvalidArgumentError(`--format must be one of ${FORMATS.join(', ')}`);
      return v;
    })
    .option('--out <file>', 'write the output to this file instead of stdout')
    .option('--rule <list>', 'only these rules (comma-separated)', listOption)
    .addHelpText('after', '\nExamples:\n  optiflow check\n  optiflow check --format html --out check.html\n  optiflow check --format csv --rule negative-stock,sales-gaps')
    .action(action(async (ctx, o: { format?: string; out?: string; rule?: string[] }) => {
      const r = await runCheck(await jobContext(ctx), { rules: o.rule });
      const format = o.format ?? (ctx.json ? 'json' : 'table');
      let text: string;
      if (format === 'json') text = JSON.stringify(r, null, 2) + '\n';
      else if (format === 'csv') text = checkCsv(r);
      else if (format === 'html') text = checkHtml(r);
      else {
        text = table(r.rules.map((x) => ({ status: x.status, rule: x.rule, category: x.category, severity: x.severity, checked: x.checked, findings: x.findings, score: x.score })) as Record<string, Cell>[]);
        const shown = r.findings.filter((f) => f.rule !== 'demand-anomalies').slice(0, 30);
        if (shown.length) text += '\n' + table(shown.map((f) => ({ rule: f.rule, table: f.table, sku: f.sku, location: f.location, date: f.date, to: f.to, id: f.id, message: f.message })) as Record<string, Cell>[]);
        const anomalies = r.findings.filter((f) => f.rule === 'demand-anomalies').length;
        text += `\nstatus ${r.status}, score ${r.score} / 100; ${r.findings.length} finding(s)${anomalies ? ` (${anomalies} demand anomalies)` : ''}${r.findings.length > shown.length + anomalies ? '; all of them with --format csv or html' : ''}\n`;
        if (r.blocking_failures.length) text += `blocking: ${r.blocking_failures.join(', ')}: fix the data before the nightly batch\n`;
      }
      if (o.out) {
        await writeFileAtomic(o.out, text, 'utf8');
        if (!ctx.quiet) ctx.log.info(`check: written to ${o.out}`);
      } else ctx.out(text);
      return r.status === 'fail' ? 1 : 0;
    }));
}
