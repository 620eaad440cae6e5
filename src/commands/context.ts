/**
 * What every command gets: resolved config, the open database, a logger and
 * an output sink. Built from commander's global options.
 */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { join } from 'node:path';
import { loadConfig, readConfigFile, stateDir, type Config } from '../config.js';
import winston from 'winston';
import { openDb, redactSecrets, redactUrl, rememberSecrets, requireMigrated, type Db } from '../db/connection.js';
import { createLogger, type Logger } from '../log.js';
import { assertSafeLogFile } from '../io/file-safety.js';
import { tenantConfig } from '../ops/tenants.js';
import { applyUmask } from '../ops/file-safety.js';

export interface GlobalOptions {
  db?: string;
  config?: string;
  asOf?: string;
  json?: boolean;
  logLevel?: string;
  quiet?: boolean;
  tenant?: string;
}

export interface Context {
  config: Config;
  log: Logger;
  json: boolean;
  quiet: boolean;
  /** A log level was asked for (flag or environment). */
  logLevelGiven: boolean;
  out: (s: string) => void;
  /** The tenant the command runs for (--tenant / OPTIFLOW_TENANT), or null. */
  tenant: string | null;
  /** The config file in use (--config, OPTIFLOW_CONFIG or the current folder's), or null. */
  configFile: string | null;
  /** Opens the database (once) and checks migrations are current unless told not to. */
  db(opts?: { migrated?: boolean }): Promise<Db>;
  close(): Promise<void>;
}

const redactFormat = winston.format((info) => {
  info.message = redactSecrets(String(info.message));
  return info;
});

export function globalsOf(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals() as GlobalOptions;
}

/** Commands whose lines also go to the rotating JSON log file (default: optiflow.log in the state folder). */
const FILE_LOGGED = new Set(['batch', 'train', 'validate', 'predict', 'events-impact', 'alerts', 'monitor', 'kpis', 'savings', 'revenue', 'trends', 'top-urgent', 'dormant', 'cleanup', 'demo', 'quality-risk', 'optimize']);

export function createContext(g: GlobalOptions, out: (s: string) => void = (s) => process.stdout.write(s), command = ''): Context {
  const base = loadConfig({ db: g.db, config: g.config, asOf: g.asOf, logLevel: g.logLevel });
  const tenant = g.tenant ?? (process.env.OPTIFLOW_TENANT || null);
  const config = tenant ? tenantConfig(base, tenant, g.db !== undefined || !!process.env.OPTIFLOW_DB) : base;
  // A notification command learns which shop it speaks for.
  if (tenant) process.env.OPTIFLOW_TENANT = tenant;
  applyUmask(config.files.umask);
  // The database password never reaches the terminal, a log file or an error message (see redactSecrets).
  rememberSecrets(config.db);
  const defaultLog = join(stateDir(config), 'optiflow.log');
  // The log (and what rotation renames it to) never lands on the database, its journal files or the state folder.
  if (config.logFile) assertSafeLogFile(config.logFile, { db: config.db, stateDir: stateDir(config) }, defaultLog);
  const file = config.logFile ?? (FILE_LOGGED.has(command) ? defaultLog : null);
  const log = createLogger({ level: config.logLevel, quiet: g.quiet, file });
  // Before every transport's own format: no log line (console or file) carries the database password.
  log.format = winston.format.combine(redactFormat(), log.format);
  let db: Db | null = null;
  return {
    config,
    log,
    json: !!g.json,
    tenant,
    configFile: readConfigFile(g.config).file,
    quiet: !!g.quiet,
    logLevelGiven: g.logLevel !== undefined || !!process.env.OPTIFLOW_LOG_LEVEL,
    out: (s: string) => out(redactSecrets(s)),
    async db(opts = {}) {
      if (!db) {
        if (opts.migrated !== false && !/^postgres(ql)?:/.test(config.db) && !existsSync(config.db))
          throw new UsageError(`--db: database ${redactUrl(config.db)} does not exist; create it with \`optiflow init\` or \`optiflow sample\``);
        db = openDb(config.db, { poolSize: config.dbPool });
        if (opts.migrated !== false) {
          try {
            await requireMigrated(db);
          } catch (e) {
            await db.close();
            db = null;
            throw e;
          }
        }
      }
      return db;
    },
    async close() {
      if (db) await db.close();
      db = null;
      await new Promise<void>((res) => {
        log.on('finish', () => res());
        log.end();
        setTimeout(res, 200).unref();
      });
    },
  };
}
