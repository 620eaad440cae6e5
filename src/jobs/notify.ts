/**
 * The notification outbox: CRITIQUE alerts queue a row in `notifications` in
 * the alerts transaction; sending happens after commit, through the configured
 * channel. A failed send keeps the row unsent with its error and attempt count;
 * the next run sends it again. Nothing is lost.
 *
 * Channels (config `notify.channel`, `notify.target`):
 *   command  the target command runs with the JSON payload on stdin; exit 0 = sent
 *   file     one JSON line appended to the target file
 *   stdout   one JSON line on the job's output
 *   none     notifications stay queued
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import type { Config } from '../config.js';

export interface SendResult {
  sent: number;
  failed: number;
  pending: number;
}

export function sendPending(sqlite: BetterSqlite3.Database, cfg: Config['notify'], defaultFile: string, emit: (line: string) => void = (l) => process.stdout.write(l)): SendResult {
  const pending = sqlite.prepare('select id, channel, payload from notifications where sent_at is null order by id').all() as { id: number; channel: string; payload: string }[];
  const ok = sqlite.prepare('update notifications set sent_at = ?, error = null, attempts = attempts + 1 where id = ?');
  const ko = sqlite.prepare('update notifications set error = ?, attempts = attempts + 1 where id = ?');
  let sent = 0;
  let failed = 0;
  if (cfg.channel === 'none') return { sent, failed, pending: pending.length };
  for (const n of pending) {
    let error: string | null = null;
    try {
      if (cfg.channel === 'command') {
        if (!cfg.target) throw new Error('notify.target (the command) is not set');
        const r = spawnSync(cfg.target, { shell: true, input: n.payload + '\n', encoding: 'utf8', timeout: 30_000 });
        // The exit status decides (a command that exits without reading stdin also raises EPIPE).
        if (r.status !== null && r.status !== 0) throw new Error(`command exited ${r.status}${r.stderr ? ': ' + r.stderr.trim().split('\n')[0] : ''}`);
        if (r.status === null) throw r.error ?? new Error(`command killed by ${r.signal}`);
      } else if (cfg.channel === 'file') {
        const file = cfg.target ?? defaultFile;
        mkdirSync(dirname(file), { recursive: true });
        appendFileSync(file, n.payload + '\n');
      } else if (cfg.channel === 'stdout') emit(n.payload + '\n');
      else throw new Error(`unknown notify.channel "${cfg.channel}" (command, file, stdout or none)`);
    } catch (e) {
      error = (e as Error).message;
    }
    if (error) {
      ko.run(error, n.id);
      failed++;
    } else {
      ok.run(new Date().toISOString(), n.id);
      sent++;
    }
  }
  return { sent, failed, pending: failed };
}
