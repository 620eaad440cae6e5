/**
 * Configuration: read (I/O) then resolved (pure). Precedence for every key:
 * command-line flag, then environment `OPTIFLOW_*`, then the config file, then
 * the built-in default below.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { UsageError } from './errors.js';
import { isIsoDate, todayIso } from './dates.js';

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
  notify: { channel: string; target: string | null; timeoutSeconds: number; budgetSeconds: number; leaseSeconds: number };
  monitor: { lookbackDays: number; rule: string; mapeThreshold: number; naiveRatio: number; backtestRatio: number };
  train: { maxModelAgeDays: number; gateMape: number; gateRmsse: number; origins: number; backtestHorizon: number; historyDays: number };
  kpis: { ttlHours: number };
  /** outlierFactor: a sales day above this many times its series' typical day counts at that cap in savings and rotation. */
  savings: { holdingRatePerYear: number; baselineDaysOfCover: number; outlierFactor: number };
  dormant: { days: number };
  topUrgent: { n: number };
  /** stateDir: checkpoint, lock, log and notifications; '' = a .optiflow folder beside the database. */
  batch: { concurrency: number; retries: number; retryMinDelayMs: number; retryFactor: number; stateDir: string; threads: boolean; threadsMinSeries: number };
  service: { levelA: number; levelB: number; levelC: number; holdingRatePerYear: number };
  cleanup: { forecastsDays: number; alertsDays: number; metricsDays: number; batchRunsDays: number; notificationsDays: number };
}

export const DEFAULTS: Config = {
  db: './optiflow.db',
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
  train: { maxModelAgeDays: 28, gateMape: 15, gateRmsse: 1.0, origins: 3, backtestHorizon: 28, historyDays: 730 },
  kpis: { ttlHours: 24 },
  savings: { holdingRatePerYear: 0.25, baselineDaysOfCover: 45, outlierFactor: 100 },
  dormant: { days: 90 },
  topUrgent: { n: 10 },
  batch: { concurrency: 4, retries: 3, retryMinDelayMs: 1000, retryFactor: 2, stateDir: '', threads: true, threadsMinSeries: 5000 },
  service: { levelA: 0.98, levelB: 0.95, levelC: 0.9, holdingRatePerYear: 0.25 },
  cleanup: { forecastsDays: 90, alertsDays: 180, metricsDays: 365, batchRunsDays: 365, notificationsDays: 90 },
};

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
      } else obj[k] = raw;
    }
  };
  const copy = JSON.parse(JSON.stringify(cfg)) as Config;
  walk(copy as unknown as Record<string, unknown>, '');
  return copy;
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
  if (!(cfg.interval > 0 && cfg.interval < 1)) errors.push(`interval: ${cfg.interval} must be between 0 and 1`);
  return { config: cfg, errors };
}

export function loadConfig(flags: Flags, env: Env = process.env): Config {
  const { data } = readConfigFile(flags.config, env);
  const { config, errors } = resolveConfig(data, env, flags);
  if (errors.length) throw new UsageError(errors[0] + (errors.length > 1 ? ` (and ${errors.length - 1} more)` : ''));
  return config;
}

/** Where the batch keeps its checkpoint, lock and default log: config batch.stateDir, else .optiflow beside the database. */
export function stateDir(cfg: Config): string {
  if (cfg.batch.stateDir) return cfg.batch.stateDir;
  if (/^postgres(ql)?:/.test(cfg.db)) return '.optiflow';
  return join(dirname(resolve(cfg.db)), '.optiflow');
}
