/**
 * `optiflow compliance`: the retention rules in force (config `cleanup`,
 * `backup.keep`) and how many rows are older than them (what `optiflow
 * cleanup` would remove today), the free-text columns where personal data
 * could sit (with how many values look like an e-mail address or a phone
 * number), and whether the audit trail is complete (every batch run since the
 * trail began lies within an audited batch command). Exit 1 when
 * something is older than its rule or the audit trail has gaps.
 */
import type { Config } from '../config.js';
import type { Db } from '../db/connection.js';
import { auditCoverage, columnsOf, textValues } from '../db/ops.js';
import { cleanup } from '../batch/cleanup.js';
import { listBackups } from './backup.js';

export interface ComplianceReport {
  as_of: string;
  retention: { table: string; rule: string; older_than_rule: number }[];
  backups: { keep: number; present: number; beyond_rule: number };
  personal_data: { column: string; holds: string; non_empty: number; looks_personal: number }[];
  audit: { complete: boolean; entries: number; since: string | null; batch_runs_without_entry: number; notes: string[] };
  findings: string[];
  exitCode: 0 | 1;
}

/** The cleanup rule of each table, in words (the rules themselves live in batch/cleanup.ts). */
function ruleText(c: Config['cleanup']): Record<string, string> {
  return {
    forecasts: `forecast runs older than ${c.forecastsDays} days (the latest run is kept)`,
    alerts: `inactive alerts older than ${c.alertsDays} days`,
    notifications: `sent notifications older than ${c.notificationsDays} days`,
    forecast_metrics: `older than ${c.metricsDays} days`,
    metrics_history: `older than ${c.metricsDays} days`,
    retrain_flags: `older than ${c.metricsDays} days`,
    trends: `older than ${c.metricsDays} days`,
    revenue_daily: `older than ${c.metricsDays} days`,
    dormant_stock: `older than ${c.metricsDays} days`,
    event_factors: `older than ${c.metricsDays} days`,
    kpi_cache: 'expired entries',
    batch_runs: `runs older than ${c.batchRunsDays} days`,
    models: `retired and rejected models trained on data older than ${c.metricsDays} days`,
  };
}

/** Free-text columns: what a person may have typed or an import may have carried. */
const FREE_TEXT: [string, string, string][] = [
  ['products', 'name', 'product names'],
  ['locations', 'name', 'shop names (may name a person for a one-person business)'],
  ['suppliers', 'name', 'supplier names (may be a sole trader)'],
  ['events', 'name', 'event names'],
  ['quality_incidents', 'cause', 'incident descriptions'],
  ['purchase_orders', 'ref', 'order references'],
  ['alerts', 'message', 'alert messages (built from product names)'],
  ['notifications', 'payload', 'notification payloads sent to people'],
  ['notifications', 'error', 'errors from the notification channel'],
  ['audit_log', 'os_user', 'the OS user who ran each command'],
  ['audit_log', 'command_line', 'command lines (secrets masked)'],
];

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/;
/** A phone number: starts with + or a national 0, at least 9 digits; ISO dates and times are not candidates. */
function looksLikePhone(v: string): boolean {
  const text = v.replace(/\d{4}-\d{2}-\d{2}(T[\d:.]+Z?)?/g, ' ');
  for (const m of text.matchAll(/(?:\+|\b0)\d[\d\s.()-]{7,}\d/g)) if ((m[0].match(/\d/g) ?? []).length >= 9) return true;
  return false;
}

export async function complianceReport(db: Db, config: Config): Promise<ComplianceReport> {
  const findings: string[] = [];
  const counts = (await cleanup(db, config, { dryRun: true })).removed;
  const rules = ruleText(config.cleanup);
  const retention = Object.entries(counts).map(([table, n]) => ({ table, rule: rules[table] ?? 'see cleanup', older_than_rule: n }));
  retention.push({ table: 'audit_log', rule: 'kept (no rule): the record of who changed what', older_than_rule: 0 });
  for (const r of retention) if (r.older_than_rule > 0 && r.table !== 'kpi_cache') findings.push(`${r.older_than_rule} row(s) of ${r.table} are older than the rule (${r.rule}); run \`optiflow cleanup\``);

  const present = listBackups(config).length;
  const backups = { keep: config.backup.keep, present, beyond_rule: Math.max(0, present - config.backup.keep) };
  if (backups.beyond_rule) findings.push(`${backups.beyond_rule} backup(s) beyond backup.keep ${config.backup.keep}; the next \`optiflow backup\` removes them`);

  const schema = await columnsOf(db.kysely);
  const personal: ComplianceReport['personal_data'] = [];
  for (const [t, c, holds] of FREE_TEXT) {
    if (!schema.get(t)?.has(c)) continue;
    let nonEmpty = 0;
    let looks = 0;
    for (const v of await textValues(db.kysely, t, c)) {
      nonEmpty++;
      if (EMAIL.test(v) || looksLikePhone(v)) looks++;
    }
    personal.push({ column: `${t}.${c}`, holds, non_empty: nonEmpty, looks_personal: looks });
    if (looks && t !== 'audit_log') findings.push(`${looks} value(s) of ${t}.${c} look like an e-mail address or a phone number`);
  }

  const notes: string[] = [];
  let audit: ComplianceReport['audit'] = { complete: false, entries: 0, since: null, batch_runs_without_entry: 0, notes };
  if (!schema.has('audit_log')) {
    notes.push('no audit_log table: run `optiflow db migrate`');
  } else {
    const a = await auditCoverage(db.kysely);
    const missing = a.runsWithoutEntry;
    if (missing) notes.push(`${missing} batch run(s) have no audit entry: a batch killed before it ended (resume it with \`optiflow batch --resume\`), or run by a tool that bypasses the command line`);
    audit = { complete: missing === 0, entries: a.entries, since: a.since, batch_runs_without_entry: missing, notes };
  }
  if (!audit.complete) findings.push(`audit trail incomplete: ${notes.join('; ') || 'no entries'}`);
  return { as_of: config.asOf, retention, backups, personal_data: personal, audit, findings, exitCode: findings.length ? 1 : 0 };
}
