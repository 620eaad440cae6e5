/**
 * What happens around every command, hooked once in the CLI's action wrapper:
 * the audit row (commands that change data) and, after them, the metrics
 * textfile. Neither ever changes the command's own exit code.
 */
import { existsSync } from 'node:fs';
import type { Config } from '../config.js';
import { isPostgresUrl } from '../db/connection.js';
import { beginAudit } from './audit.js';
import { writeTextfile } from './metrics.js';

/** `db migrate`, `models rollback`, `tenants create`...: the command's path below the program. */
export function commandPath(cmd: { name(): string; parent: unknown }): string {
  const names: string[] = [];
  for (let c = cmd as { name(): string; parent: unknown } | null; c && (c as { parent: unknown }).parent; c = c.parent as typeof c) names.unshift(c.name());
  return names.join(' ');
}

export interface CommandHook {
  end(exitCode: number, error?: unknown): Promise<void>;
}

const warn = (m: string) => process.stderr.write(`warn: ${m}\n`);

export function beginCommand(config: Config, tenant: string | null, path: string, args: string[]): CommandHook {
  const audit = beginAudit(() => config.db, path, args, warn);
  return {
    async end(exitCode, error) {
      const changed = await audit.end(exitCode, error);
      // After every change of data, and after every batch whatever its outcome.
      if (!(changed || path === 'batch') || (!isPostgresUrl(config.db) && !existsSync(config.db))) return;
      try {
        await writeTextfile(config, tenant);
      } catch (e) {
        warn(`metrics textfile not written: ${(e as Error).message}`);
      }
    },
  };
}
