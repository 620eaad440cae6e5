/**
 * `optiflow compliance`: the retention rules in force (config `cleanup`,
 * `backup.keep`) and how many rows are older than them (what `optiflow
 * cleanup` would remove today), the free-text columns where personal data
 * could sit (with how many values look like an e-mail address or a phone
 * number), and whether the audit trail is complete (no command left without
 * an outcome by a process that is gone, every batch run recorded). Exit 1 when
 * something is older than its rule or the audit trail has gaps.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { hostname } from 'node:os';
import type { Config } from '../config.js';
import { cleanup } from '../batch/cleanup.js';
import { processAlive } from '../batch/lock.js';
import { listBackups } from './backup.js';

export interface ComplianceReport {
  as_of: string;
  retention: { table: string; rule: string; older_than_rule: number }[];
  backups: { keep: number; present: number; beyond_rule: number };
  personal_data: { column: string; holds: string; non_empty: number; looks_personal: number }[];
  audit: { complete: boolean; entries: number; since: string | null; unfinished: number; batch_runs_without_entry: number; notes: string[] };
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

function hasColumn(s: BetterSqlite3.Database, table: string, column: string): boolean {
  return (s.prepare(`select name from pragma_table_info(?)`).all(table) as { name: string }[]).some((c) => c.name === column);
}

export function complianceReport(s: BetterSqlite3.Database, config: Config): ComplianceReport {
  const findings: string[] = [];
  const counts = cleanup(s, config, { dryRun: true }).removed;
  const rules = ruleText(config.cleanup);
  const retention = Object.entries(counts).map(([table, n]) => ({ table, rule: rules[table] ?? 'see cleanup', older_than_rule: n }));
  retention.push({ table: 'audit_log', rule: 'kept (no rule): the record of who changed what', older_than_rule: 0 });
  for (const r of retention) if (r.older_than_rule > 0 && r.table !== 'kpi_cache') findings.push(`${r.older_than_rule} row(s) of ${r.table} are older than the rule (${r.rule}); run \`optiflow cleanup\``);

  const present = listBackups(config).length;
  const backups = { keep: config.backup.keep, present, beyond_rule: Math.max(0, present - config.backup.keep) };
  if (backups.beyond_rule) findings.push(`${backups.beyond_rule} backup(s) beyond backup.keep ${config.backup.keep}; the next \`optiflow backup\` removes them`);

  const personal: ComplianceReport['personal_data'] = [];
  for (const [t, c, holds] of FREE_TEXT) {
    if (!hasColumn(s, t, c)) continue;
    let nonEmpty = 0;
    let looks = 0;
    for (const r of s.prepare(`select "${c}" as v from "${t}" where "${c}" is not null and "${c}" <> ''`).iterate() as Iterable<{ v: string }>) {
      nonEmpty++;
      if (EMAIL.test(String(r.v)) || looksLikePhone(String(r.v))) looks++;
    }
    personal.push({ column: `${t}.${c}`, holds, non_empty: nonEmpty, looks_personal: looks });
    if (looks && t !== 'audit_log') findings.push(`${looks} value(s) of ${t}.${c} look like an e-mail address or a phone number`);
  }

  const notes: string[] = [];
  const hasAudit = !!s.prepare(`select 1 from sqlite_master where type = 'table' and name = 'audit_log'`).get();
  let audit: ComplianceReport['audit'] = { complete: false, entries: 0, since: null, unfinished: 0, batch_runs_without_entry: 0, notes };
  if (!hasAudit) {
    notes.push('no audit_log table: run `optiflow db migrate`');
  } else {
    const a = s.prepare('select count(*) as n, min(started_at) as since from audit_log').get() as { n: number; since: string | null };
    const host = hostname();
    const running = s.prepare(`select pid, host, command, started_at from audit_log where outcome = 'running'`).all() as { pid: number; host: string; command: string; started_at: string }[];
    const dead = running.filter((r) => r.host === host && !processAlive(r.pid));
    for (const r of dead) notes.push(`\`${r.command}\` started ${r.started_at} (pid ${r.pid}) never recorded its outcome: it was killed`);
    // Batch runs since the trail began must each lie within an audited `batch` command.
    const missing = a.since
      ? (s.prepare(`select count(*) as n from batch_runs b where b.started_at >= ? and not exists (
           select 1 from audit_log l where l.command = 'batch' and l.started_at <= b.started_at and (l.finished_at is null or l.finished_at >= b.started_at))`).get(a.since) as { n: number }).n
      : (s.prepare('select count(*) as n from batch_runs').get() as { n: number }).n;
    if (missing) notes.push(`${missing} batch run(s) have no audit entry (run by a tool that bypasses the command line, or before an audit row could be written)`);
    audit = { complete: dead.length === 0 && missing === 0, entries: a.n, since: a.since, unfinished: dead.length, batch_runs_without_entry: missing, notes };
  }
  if (!audit.complete) findings.push(`audit trail incomplete: ${notes.join('; ') || 'no entries'}`);
  return { as_of: config.asOf, retention, backups, personal_data: personal, audit, findings, exitCode: findings.length ? 1 : 0 };
}
