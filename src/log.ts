/**
 * Logging: human lines on stderr for people, JSON lines in a rotating file
 * (10 MB x 5) for the morning after. Batch lines carry run id and job name via
 * child loggers.
 */
import winston from 'winston';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export type Logger = winston.Logger;

export interface LogOptions {
  level: string;
  quiet?: boolean;
  file?: string | null;
}

export function createLogger(opts: LogOptions): Logger {
  const transports: winston.transport[] = [
    new winston.transports.Console({
      level: opts.quiet ? 'error' : opts.level,
      stderrLevels: ['error', 'warn', 'info', 'debug'],
      format: winston.format.printf((info) => {
        const ctx = [info.runId ? `run ${String(info.runId).slice(0, 8)}` : '', info.job ? String(info.job) : ''].filter(Boolean).join(' ');
        return `${info.level}${ctx ? ' [' + ctx + ']' : ''}: ${info.message}`;
      }),
    }),
  ];
  let fileProblem: string | null = null;
  if (opts.file) {
    try {
      mkdirSync(dirname(opts.file), { recursive: true });
      accessSync(dirname(opts.file), constants.W_OK);
    } catch (e) {
      // A folder this user cannot write (a read-only install, say) must not stop the command: the console still gets every line.
      fileProblem = `cannot write the log file ${opts.file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); logging to the console only (set logFile or batch.stateDir to a writable path)`;
    }
  }
  if (opts.file && !fileProblem) {
    transports.push(
      new winston.transports.File({
        filename: opts.file,
        level: opts.level === 'debug' ? 'debug' : 'info',
        maxsize: 10 * 1024 * 1024,
        maxFiles: 5,
        tailable: true,
        format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
      }),
    );
  }
  const logger = winston.createLogger({ level: 'debug', transports });
  if (fileProblem) logger.warn(fileProblem);
  return logger;
}

/** A logger that drops everything: for tests and library defaults. */
export function silentLogger(): Logger {
  return winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
}
