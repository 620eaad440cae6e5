/**
 * `optiflow check`: runs every data-quality rule and scores it.
 *
 *   rule score    = 100 x (1 - failed units / checked units)   (0..100, rounded down to 0.1 so a rule
 *                   with a finding never shows 100; 100 when nothing to check)
 *   overall score = mean of the rule scores                    (0..100)
 *   status        = fail (a blocking rule has findings), warn (another rule has), pass
 *
 * Information rules (demand anomalies) are listed and scored but never turn
 * the status to warn or fail: an anomaly is a fact to look at, not a fault.
 */
import { stringify } from 'csv-stringify/sync';
import type { JobContext } from '../jobs/types.js';
import { RULES, seriesPass, type CheckRun, type CheckSettings, type Finding, type Rule, type SeriesPass, type Severity } from './rules.js';
import { UsageError } from '../errors.js';

export interface RuleReport {
  rule: string;
  category: Rule['category'];
  severity: Severity;
  description: string;
  status: 'pass' | 'warn' | 'fail' | 'info';
  checked: number;
  failed: number;
  findings: number;
  score: number;
}

export interface CheckReport {
  as_of: string;
  status: 'pass' | 'warn' | 'fail';
  score: number;
  blocking_failures: string[];
  rules: RuleReport[];
  findings: Finding[];
}

export function checkSettings(ctx: JobContext): CheckSettings {
  return { asOf: ctx.asOf, ...ctx.config.check };
}

export async function runCheck(ctx: JobContext, o: { rules?: string[] } = {}): Promise<CheckReport> {
  const known = new Set(RULES.map((r) => r.id));
  for (const r of o.rules ?? []) if (!known.has(r)) throw new UsageError(`--rule: unknown rule "${r}"; rules are ${[...known].join(', ')}`);
  const rules = o.rules?.length ? RULES.filter((r) => o.rules!.includes(r.id)) : RULES;
  const s = checkSettings(ctx);
  const q = ctx.db.kysely;
  // The per-series rules share one read of every series, made on first use.
  let pass: Promise<SeriesPass> | null = null;
  const run: CheckRun = { q, db: ctx.db, s, series: () => (pass ??= seriesPass(ctx.db, s)) };
  const reports: RuleReport[] = [];
  const findings: Finding[] = [];
  for (const rule of rules) {
    const t = Date.now();
    const out = await rule.run(run);
    ctx.log.debug(`check ${rule.id}: ${out.findings.length} finding(s) in ${Date.now() - t} ms`);
    const status = !out.findings.length ? 'pass' : rule.severity === 'blocking' ? 'fail' : rule.severity === 'warning' ? 'warn' : 'info';
    const score = out.checked > 0 ? Math.max(0, 100 * (1 - out.failed / out.checked)) : 100;
    reports.push({ rule: rule.id, category: rule.category, severity: rule.severity, description: rule.description, status, checked: out.checked, failed: out.failed, findings: out.findings.length, score: Math.floor(score * 10 + 1e-9) / 10 });
    findings.push(...out.findings);
  }
  const blocking = reports.filter((r) => r.status === 'fail').map((r) => r.rule);
  const status = blocking.length ? 'fail' : reports.some((r) => r.status === 'warn') ? 'warn' : 'pass';
  const score = reports.length ? Math.floor((reports.reduce((a, r) => a + r.score, 0) / reports.length) * 10 + 1e-9) / 10 : 100;
  ctx.log.info(`check: ${status}, score ${score}; ${findings.length} finding(s)${blocking.length ? `; blocking: ${blocking.join(', ')}` : ''}`);
  return { as_of: ctx.asOf, status, score, blocking_failures: blocking, rules: reports, findings };
}

/** One line per finding, with its rule's severity. */
export function checkCsv(r: CheckReport): string {
  const sev = new Map(r.rules.map((x) => [x.rule, x.severity]));
  return stringify(r.findings.map((f) => ({ rule: f.rule, severity: sev.get(f.rule), table: f.table, sku: f.sku, location: f.location, date: f.date, to: f.to, id: f.id, value: f.value, message: f.message })), {
    header: true, columns: ['rule', 'severity', 'table', 'sku', 'location', 'date', 'to', 'id', 'value', 'message'],
  });
}

const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** A self-contained HTML page: the rule table, then the findings of each rule. */
export function checkHtml(r: CheckReport, maxPerRule = 200): string {
  const color = { pass: '#2e8b57', warn: '#d9822b', fail: '#c23b3b', info: '#2f6fdb' } as const;
  const rows = r.rules.map((x) => `<tr><td><span class="st" style="background:${color[x.status]}">${x.status}</span></td><td>${esc(x.rule)}</td><td>${esc(x.category)}</td><td>${esc(x.severity)}</td><td class="n">${x.checked}</td><td class="n">${x.findings}</td><td class="n">${x.score.toFixed(1)}</td><td>${esc(x.description)}</td></tr>`).join('\n');
  const sections = r.rules.filter((x) => x.findings > 0).map((x) => {
    const fs = r.findings.filter((f) => f.rule === x.rule);
    const body = fs.slice(0, maxPerRule).map((f) => `<tr><td>${esc(f.table)}</td><td>${esc(f.sku ?? '')}</td><td>${esc(f.location ?? '')}</td><td class="k">${esc(f.date ?? '')}${f.to && f.to !== f.date ? ' → ' + esc(f.to) : ''}</td><td class="n">${esc(f.id ?? '')}</td><td class="n">${esc(f.value ?? '')}</td><td>${esc(f.message)}</td></tr>`).join('\n');
    return `<section><h2>${esc(x.rule)} <small>${fs.length} finding(s)${fs.length > maxPerRule ? `, first ${maxPerRule} shown (all with --format csv)` : ''}</small></h2><table><thead><tr><th>table</th><th>sku</th><th>location</th><th>date</th><th class="n">id</th><th class="n">value</th><th>message</th></tr></thead><tbody>${body}</tbody></table></section>`;
  }).join('\n');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>optiflow data check ${esc(r.as_of)}</title>
<style>body{font:14px/1.45 system-ui,sans-serif;color:#1f2933;max-width:1200px;margin:0 auto;padding:20px}table{border-collapse:collapse;width:100%;font-size:12.5px}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #e4e7eb;vertical-align:top}th{color:#616e7c;font-size:11.5px;text-transform:uppercase}.n{text-align:right}.k{white-space:nowrap}.st{color:#fff;border-radius:3px;padding:1px 6px;font-size:11px;font-weight:600}small{color:#616e7c;font-weight:normal}section{margin-top:20px}@media print{section{break-inside:avoid}}</style></head>
<body><h1>Data quality check · ${esc(r.as_of)}</h1><p>Status <span class="st" style="background:${color[r.status]}">${r.status}</span> · overall score <b>${r.score.toFixed(1)}</b> / 100${r.blocking_failures.length ? ` · blocking: ${esc(r.blocking_failures.join(', '))}` : ''}</p>
<table><thead><tr><th>status</th><th>rule</th><th>category</th><th>severity</th><th class="n">checked</th><th class="n">findings</th><th class="n">score</th><th>what it checks</th></tr></thead><tbody>${rows}</tbody></table>
${sections}</body></html>
`;
}
