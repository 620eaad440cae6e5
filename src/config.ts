/**
 * Configuration: read (I/O) then resolved (pure). Precedence for every key:
 * command-line flag, then environment `OPTIFLOW_*`, then the config file, then
 * the built-in default below.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { UsageError } from './errors.js';
import { isIsoDate, todayIso } from './dates.js';
import { refuseUnsafeImplicitConfig } from './ops/file-safety.js';

export interface Thresholds {
  /** Days added to lead time before a stock-out is no longer ATTENTION. */
  reviewPeriodDays: number;
  safetyDays: number;
  /** Days of cover above which stock is overstock. */
  overstockDays: number;
  /** Units of perishable stock expected to expire before an expiry alert. */
  expiryMinUnits: number;
}

export interface Config {
  db: string;
  /** PostgreSQL: connections one optiflow process may hold (env OPTIFLOW_DB_POOL); unused on SQLite. */
  dbPool: number;
  asOf: string;
  logLevel: string;
  logFile: string | null;
  /** Keep the demand history in a cache file of the state folder (reads only new days each night). */
  historyCache: boolean;
  horizon: number;
  interval: number;
  leadTimeDefaultDays: number;
  alerts: Thresholds;
  /** timeoutSeconds per command, budgetSeconds per run (all sends), leaseSeconds: how long a claimed send is reserved for its sender. */
  notify: { channel: string; target: string | null; timeoutSeconds?: number; budgetSeconds?: number; leaseSeconds?: number };
  monitor: { lookbackDays: number; rule: string; mapeThreshold: number; naiveRatio: number; backtestRatio: number };
  train: { maxModelAgeDays: number; gateMape: number; gateRmsse: number; origins: number; backtestHorizon: number; historyDays: number; globalModel: boolean; holdout: boolean };
  kpis: { ttlHours: number };
  /** outlierFactor: a sales day above this many times its series' typical day counts at that cap in savings and rotation. */
  savings: { holdingRatePerYear: number; baselineDaysOfCover: number; outlierFactor: number };
  dormant: { days: number };
  topUrgent: { n: number };
  /** stateDir: checkpoint, lock, log and notifications; '' = a .optiflow folder beside the database. */
  batch: { concurrency: number; retries: number; retryMinDelayMs: number; retryFactor: number; stateDir: string; threads: boolean; threadsMinSeries: number; checkFirst: boolean };
  service: { levelA: number; levelB: number; levelC: number; holdingRatePerYear: number };
  cleanup: { forecastsDays: number; alertsDays: number; metricsDays: number; batchRunsDays: number; notificationsDays: number };
  /**
   * Data coverage and import bounds. maxStalenessDays: predict, alerts and train refuse when a
   * location's last imported sale is more than this many days before --as-of. The max* bounds
   * reject absurd values at import (a typo or a unit error), with the line named.
   */
  data: { maxStalenessDays: number; maxQuantity: number; maxUnitCost: number; maxLeadTimeDays: number; maxShelfLifeDays: number; maxPackSize: number };
  /** backup: dir '' = a `backups` folder beside the database; keep = how many backups retention leaves. */
  backup: { dir: string; keep: number };
  /** metrics: Prometheus textfile ('' = metrics.prom in the state folder, 'off' = none) and its octal mode. */
  metrics: { textfile: string; textfileMode: string };
  /** tenants: root folder holding one folder per tenant (its database and state). */
  tenants: { root: string };
  /** files: umask (octal) for every file and folder optiflow creates; 077 = private to the user. */
  files: { umask: string };
  /** The HTML report: written after each nightly batch when afterBatch; out '' = report-DATE.html in the state folder. */
  report: { afterBatch: boolean; out: string; weeks: number; historyDays: number };
  /** Data-quality thresholds (src/check/rules.ts). */
  check: { gapProbability: number; anomalyZ: number; priceDeviation: number; stockTolerance: number; anomalyDays: number };
  /** Watched models (src/watch): challenger in shadow, canary, drift. */
  watch: {
    challenger: string; shadowHorizon: number; promoteWeeks: number; minDaysPerWeek: number; minImprovement: number;
    canarySetting: string; canaryShare: number; canaryDays: number; driftDays: number; psiThreshold: number; psiBins: number;
  };
}

export const DEFAULTS: Config = {
  db: './optiflow.db',
  dbPool: 4,
  asOf: '',
  logLevel: 'info',
  logFile: null,
  historyCache: true,
  horizon: 30,
  interval: 0.8,
  leadTimeDefaultDays: 7,
  alerts: { reviewPeriodDays: 1, safetyDays: 3, overstockDays: 180, expiryMinUnits: 1 },
  notify: { channel: 'file', target: null, timeoutSeconds: 30, budgetSeconds: 120, leaseSeconds: 300 },
  monitor: { lookbackDays: 7, rule: 'relative', mapeThreshold: 15, naiveRatio: 1.2, backtestRatio: 2 },
  train: { maxModelAgeDays: 28, gateMape: 15, gateRmsse: 1.0, origins: 3, backtestHorizon: 28, historyDays: 730, globalModel: false, holdout: true },
  kpis: { ttlHours: 24 },
  savings: { holdingRatePerYear: 0.25, baselineDaysOfCover: 45, outlierFactor: 100 },
  dormant: { days: 90 },
  topUrgent: { n: 10 },
  batch: { concurrency: 4, retries: 3, retryMinDelayMs: 1000, retryFactor: 2, stateDir: '', threads: true, threadsMinSeries: 5000, checkFirst: false },
  service: { levelA: 0.98, levelB: 0.95, levelC: 0.9, holdingRatePerYear: 0.25 },
  cleanup: { forecastsDays: 90, alertsDays: 180, metricsDays: 365, batchRunsDays: 365, notificationsDays: 90 },
  data: { maxStalenessDays: 3, maxQuantity: 1_000_000, maxUnitCost: 1_000_000, maxLeadTimeDays: 365, maxShelfLifeDays: 3650, maxPackSize: 100_000 },
  backup: { dir: '', keep: 7 },
  // 0644: node_exporter reads the textfile as its own user; the figures hold no business data.
  metrics: { textfile: '', textfileMode: '0644' },
  tenants: { root: '' },
  files: { umask: '077' },
  report: { afterBatch: false, out: '', weeks: 8, historyDays: 56 },
  check: { gapProbability: 1e-6, anomalyZ: 6, priceDeviation: 0.5, stockTolerance: 0.5, anomalyDays: 365 },
  watch: {
    challenger: '', shadowHorizon: 14, promoteWeeks: 4, minDaysPerWeek: 4, minImprovement: 0.05,
    canarySetting: '', canaryShare: 0.1, canaryDays: 14, driftDays: 56, psiThreshold: 0.25, psiBins: 5,
  },
};

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.number().int().min(min).max(max);
const num = (min: number, max = Number.MAX_VALUE) => z.number().finite().min(min).max(max);
const days = int(1, 36_500);
const prob = z.number().gt(0).lt(1);

/** The schema every resolved configuration must satisfy: types, ranges and enums (messages name the key). */
export const CONFIG_SCHEMA = z.strictObject({
  db: z.string().min(1),
  dbPool: int(1, 100),
  asOf: z.string(),
  logLevel: z.enum(['error', 'warn', 'info', 'debug']),
  logFile: z.string().min(1).nullable(),
  historyCache: z.boolean(),
  horizon: int(1, 3650),
  interval: prob,
  leadTimeDefaultDays: int(0, 3650),
  alerts: z.strictObject({ reviewPeriodDays: int(0, 3650), safetyDays: int(0, 3650), overstockDays: num(1), expiryMinUnits: num(0) }),
  notify: z.strictObject({ channel: z.enum(['command', 'file', 'stdout', 'none']), target: z.string().min(1).nullable(), timeoutSeconds: num(0.1, 86_400), budgetSeconds: num(0.1, 86_400), leaseSeconds: num(1, 604_800) }),
  monitor: z.strictObject({ lookbackDays: days, rule: z.enum(['relative', 'mape']), mapeThreshold: num(0), naiveRatio: num(0), backtestRatio: num(0) }),
  train: z.strictObject({ maxModelAgeDays: days, gateMape: num(0), gateRmsse: num(0), origins: int(1, 100), backtestHorizon: days, historyDays: int(28, 36_500), globalModel: z.boolean(), holdout: z.boolean() }),
  kpis: z.strictObject({ ttlHours: num(0) }),
  savings: z.strictObject({ holdingRatePerYear: num(0, 10), baselineDaysOfCover: num(0), outlierFactor: num(1) }),
  dormant: z.strictObject({ days }),
  topUrgent: z.strictObject({ n: int(1) }),
  batch: z.strictObject({
    concurrency: int(1, 64), retries: int(1, 100), retryMinDelayMs: int(0), retryFactor: num(1, 100), stateDir: z.string(),
    threads: z.boolean(), threadsMinSeries: int(0), checkFirst: z.boolean(),
  }),
  service: z.strictObject({ levelA: prob, levelB: prob, levelC: prob, holdingRatePerYear: num(0, 10) }),
  cleanup: z.strictObject({ forecastsDays: days, alertsDays: days, metricsDays: days, batchRunsDays: days, notificationsDays: days }),
  backup: z.strictObject({ dir: z.string(), keep: int(1, 10_000) }),
  metrics: z.strictObject({ textfile: z.string(), textfileMode: z.string().regex(/^0?[0-7]{3}$/, 'an octal mode such as 0644') }),
  tenants: z.strictObject({ root: z.string() }),
  files: z.strictObject({ umask: z.string().regex(/^0?[0-7]{3}$/, 'an octal umask such as 077') }),
  report: z.strictObject({ afterBatch: z.boolean(), out: z.string(), weeks: int(1, 520), historyDays: int(7, 3650) }),
  check: z.strictObject({ gapProbability: num(0, 1), anomalyZ: num(0), priceDeviation: num(0), stockTolerance: num(0), anomalyDays: days }),
  watch: z.strictObject({
    challenger: z.string(), shadowHorizon: int(1, 3650), promoteWeeks: int(1, 520), minDaysPerWeek: int(1, 7), minImprovement: num(0, 1),
    canarySetting: z.string(), canaryShare: z.number().gt(0).max(1), canaryDays: days, driftDays: int(14, 3650), psiThreshold: num(0), psiBins: int(2, 100),
  }),
  data: z.strictObject({ maxStalenessDays: int(0, 36_500), maxQuantity: num(0), maxUnitCost: num(0), maxLeadTimeDays: int(0, 36_500), maxShelfLifeDays: int(1, 36_500), maxPackSize: num(1) }),
});

/** One line per problem: `<where> "<key>": <what> (got <value>)`. */
function schemaErrors(cfg: unknown, where: (path: string) => string): string[] {
  const r = CONFIG_SCHEMA.safeParse(cfg);
  if (r.success) return [];
  return r.error.issues.map((i) => {
    const path = i.path.join('.');
    if (i.code === 'unrecognized_keys') return `unknown config key "${[path, ...i.keys].filter(Boolean).join('.')}"`;
    const got = i.path.reduce<unknown>((o, k) => (o as Record<string | number, unknown>)?.[k as string], cfg);
    const issue = i as { code: string; minimum?: number | bigint; maximum?: number | bigint; inclusive?: boolean; expected?: string; values?: unknown[]; format?: string };
    const what =
      issue.code === 'too_small' ? `must be ${issue.inclusive ? '>=' : '>'} ${issue.minimum}`
      : issue.code === 'too_big' ? `must be ${issue.inclusive ? '<=' : '<'} ${issue.maximum}`
      : issue.code === 'invalid_value' && issue.values ? `must be one of ${issue.values.join(', ')}`
      : issue.code === 'invalid_type' ? `must be ${issue.expected === 'int' ? 'an integer' : 'a ' + issue.expected}`
      : i.message;
    return `${where(path)}: ${what} (got ${JSON.stringify(got)})`;
  });
}

/** Values given on the command line (undefined = not given). */
export interface Flags {
  db?: string;
  config?: string;
  asOf?: string;
  logLevel?: string;
  [k: string]: unknown;
}

type Env = Record<string, string | undefined>;

export function readConfigFile(path: string | undefined, env: Env = process.env): { file: string | null; data: Record<string, unknown> } {
  const explicit = path ?? env.OPTIFLOW_CONFIG;
  const file = explicit ?? (existsSync('optiflow.config.json') ? 'optiflow.config.json' : null);
  if (!file) return { file: null, data: {} };
  if (!existsSync(file)) throw new UsageError(`--config: file not found: ${file}`);
  try {
    const data = JSON.parse(readFileSync(file, 'utf8'));
    if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new Error('top level must be an object');
    return { file, data };
  } catch (e) {
    throw new UsageError(`--config: ${file} is not valid JSON (${(e as Error).message}); fix the file or pass another --config`);
  }
}

function deepMerge<T>(base: T, over: Record<string, unknown>, path: string, errors: string[]): T {
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(over)) {
    if (!(k in out)) {
      errors.push(`unknown config key "${path}${k}"`);
      continue;
    }
    const cur = out[k];
    if (cur !== null && typeof cur === 'object' && !Array.isArray(cur)) {
      if (typeof v !== 'object' || v === null) errors.push(`config key "${path}${k}" must be an object`);
      else out[k] = deepMerge(cur, v as Record<string, unknown>, `${path}${k}.`, errors);
    } else if (cur !== null && typeof cur !== typeof v && !(cur === '' && typeof v === 'string')) {
      errors.push(`config key "${path}${k}" must be a ${typeof cur}`);
    } else out[k] = v;
  }
  return out as T;
}

/** Env names are derived from the key path: batch.concurrency -> OPTIFLOW_BATCH_CONCURRENCY. */
export function envName(path: string): string {
  return 'OPTIFLOW_' + path.replace(/([a-z])([A-Z])/g, '$1_$2').replace(/\./g, '_').toUpperCase();
}

function applyEnv(cfg: Config, env: Env, errors: string[]): Config {
  const walk = (obj: Record<string, unknown>, prefix: string) => {
    for (const [k, v] of Object.entries(obj)) {
      const path = prefix + k;
      if (v !== null && typeof v === 'object') {
        walk(v as Record<string, unknown>, path + '.');
        continue;
      }
      const raw = env[envName(path)];
      if (raw === undefined || raw === '') continue;
      if (typeof v === 'number') {
        const n = Number(raw);
        if (!Number.isFinite(n)) errors.push(`${envName(path)}="${raw}" is not a number`);
        else obj[k] = n;
      } else if (typeof v === 'boolean') {
        const b = parseBool(raw);
        if (b === null) errors.push(`${envName(path)}="${raw}" is not a boolean; use true/false (or 1/0, yes/no, on/off)`);
        else obj[k] = b;
      } else obj[k] = raw;
    }
  };
  const copy = JSON.parse(JSON.stringify(cfg)) as Config;
  walk(copy as unknown as Record<string, unknown>, '');
  return copy;
}

/** Strict boolean text: true/1/yes/on and false/0/no/off (any case); anything else is null (an error). */
export function parseBool(raw: string): boolean | null {
  const v = raw.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  return null;
}

/** Which leaf keys an environment sets (its errors name the variable, the others the config key). */
function envKeys(env: Env): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (obj: Record<string, unknown>, prefix: string) => {
    for (const [k, v] of Object.entries(obj)) {
      const path = prefix + k;
      if (v !== null && typeof v === 'object') walk(v as Record<string, unknown>, path + '.');
      else if (env[envName(path)] !== undefined && env[envName(path)] !== '') out.set(path, envName(path));
    }
  };
  walk(DEFAULTS as unknown as Record<string, unknown>, '');
  return out;
}

/** Pure: defaults <- file <- env <- flags. */
export function resolveConfig(fileData: Record<string, unknown>, env: Env, flags: Flags, today: () => string = todayIso): { config: Config; errors: string[] } {
  const errors: string[] = [];
  let cfg = deepMerge(DEFAULTS, fileData, '', errors);
  cfg = applyEnv(cfg, env, errors);
  if (flags.db !== undefined) cfg.db = flags.db;
  if (flags.asOf !== undefined) cfg.asOf = flags.asOf;
  if (flags.logLevel !== undefined) cfg.logLevel = flags.logLevel;
  if (!cfg.asOf) cfg.asOf = today();
  if (!isIsoDate(cfg.asOf)) errors.push(`--as-of: "${cfg.asOf}" is not a date; use YYYY-MM-DD`);
  if (!['error', 'warn', 'info', 'debug'].includes(cfg.logLevel)) errors.push(`--log-level: "${cfg.logLevel}" must be one of error, warn, info, debug`);
  if (!errors.length) {
    const fromEnv = envKeys(env);
    const flagged: Record<string, string> = { db: '--db', asOf: '--as-of', logLevel: '--log-level' };
    const where = (path: string) => (flags[path] !== undefined && flagged[path] ? flagged[path] : fromEnv.get(path) ?? `config key "${path}"`);
    errors.push(...schemaErrors(cfg, where).filter((e) => !/^(--as-of|--log-level)/.test(e)));
  }
  return { config: cfg, errors };
}

export function loadConfig(flags: Flags, env: Env = process.env): Config {
  const { file, data } = readConfigFile(flags.config, env);
  if (file && flags.config === undefined && !env.OPTIFLOW_CONFIG) refuseUnsafeImplicitConfig(file, data);
  const { config, errors } = resolveConfig(data, env, flags);
  if (errors.length) throw new UsageError(errors[0] + (errors.length > 1 ? ` (and ${errors.length - 1} more)` : ''));
  return config;
}

/**
 * The state folder of a database: history cache, batch lock, checkpoints,
 * notifications file and default log. One folder per database, named after
 * the database file, so two databases in one folder never share state:
 * `shop.db` -> `.optiflow/shop.db/` beside it. A PostgreSQL database gets
 * `.optiflow/<host>-<port>-<database>/` in the working folder. Config
 * `batch.stateDir` overrides it; `{db}` in it is replaced by the database's name.
 */
export function stateDir(cfg: Pick<Config, 'db' | 'batch'>): string {
  const name = databaseName(cfg.db);
  if (cfg.batch.stateDir) return cfg.batch.stateDir.replace(/\{db\}/g, name);
  if (/^postgres(ql)?:/.test(cfg.db)) return join('.optiflow', name);
  return join(dirname(resolve(cfg.db)), '.optiflow', name);
}

/** A file-system-safe name for a database: the file's own name, or host-port-database of a URL. */
export function databaseName(db: string): string {
  if (/^postgres(ql)?:/.test(db)) {
    try {
      // host and port may also come as query parameters (a unix-socket folder: ?host=/run/postgresql&port=5433).
      const u = new URL(db);
      const host = u.searchParams.get('host') || u.hostname || 'localhost';
      const port = u.searchParams.get('port') || u.port || '5432';
      return [host.replace(/^\/+/, ''), port, decodeURIComponent(u.pathname.replace(/^\//, '')) || 'postgres'].join('-').replace(/[^A-Za-z0-9._-]/g, '_');
    } catch {
      return 'postgres';
    }
  }
  return basename(resolve(db));
}
