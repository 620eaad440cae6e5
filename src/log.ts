/**
 * Logging: human lines on stderr for people, JSON lines in a rotating file
 * (10 MB x 5) for the morning after. Batch lines carry run id and job name via
 * child loggers.
 */
import winston from 'winston';
import { mkdirSync } from 'node:fs';
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
  if (opts.file) {
    mkdirSync(dirname(opts.file), { recursive: true });
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
  return winston.createLogger({ level: 'debug', transports });
}

/** A logger that drops everything: for tests and library defaults. */
export function silentLogger(): Logger {
  return winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
}
