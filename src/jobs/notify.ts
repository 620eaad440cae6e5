/**
 * The notification outbox: CRITIQUE alerts queue a row in `notifications` in
 * the alerts transaction; sending happens after commit, through the configured
 * channel. A failed send keeps the row unsent with its error and attempt count;
 * the next run sends it again. Nothing is lost.
 *
 * Exactly once, as far as a sender can promise it:
 * - a row is claimed before it is sent: one atomic UPDATE sets `claimed_by`
 *   and `claim_until` (a lease) only if the row is unsent and not claimed by a
 *   live lease, so two processes never send the same row;
 * - a sender killed between sending and recording leaves the row claimed: it
 *   is sent again only once the lease has passed, and its payload carries the
 *   same `idempotency_key` (alert id + run date), so a receiver drops the repeat.
 *
 * Time: the `command` channel runs each command in its own process group,
 * killed (the shell and everything it started) after `notify.timeoutSeconds`,
 * when the run's total budget `notify.budgetSeconds` is spent, or on SIGINT /
 * SIGTERM. Rows left when the budget is spent stay queued for the next run.
 *
 * Channels (config `notify.channel`, `notify.target`):
 *   command  the target command runs with the JSON payload on stdin; exit 0 = sent
 *   file     one JSON line appended to the target file
 *   stdout   one JSON line on the job's output
 *   none     notifications stay queued
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { claimableIds, claimNotification, notificationToSend, queryHandle, recordSend, unsentCount, type AnyHandle } from '../db/notifications.js';
import type { Config } from '../config.js';
import { onSignal } from '../signals.js';

export interface SendResult {
  sent: number;
  failed: number;
  /** Still queued after this run: failed, claimed by another sender, or beyond the time budget. */
  pending: number;
}

/** The idempotency key of an alert's notification: alert id and run date. */
export function idempotencyKey(alertId: number, runDate: string): string {
  return `${alertId}:${runDate}`;
}

/**
 * Runs `command` with `input` on stdin in its own process group. Resolves on
 * exit 0; rejects on another status, on the timeout, or when a signal hook
 * fires. The group is killed at the end whatever happened: no orphans.
 */
export function runNotifyCommand(command: string, input: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, { shell: true, detached: true, stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    let why: string | null = null;
    const killGroup = () => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // The group is already gone.
      }
    };
    const timer = setTimeout(() => {
      why = `command timed out after ${Math.round(timeoutMs / 100) / 10}s (killed)`;
      killGroup();
    }, Math.max(1, timeoutMs));
    const off = onSignal(killGroup);
    child.stdin.on('error', () => undefined); // a command that exits without reading stdin: its status decides
    child.stdin.end(input);
    child.stderr.on('data', (b: Buffer) => {
      if (stderr.length < 2000) stderr += b.toString('utf8');
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      off();
      reject(e);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      off();
      killGroup(); // what the command left running in the background
      if (why) reject(new Error(why));
      else if (code === 0) resolve();
      else reject(new Error(code !== null ? `command exited ${code}${stderr ? ': ' + stderr.trim().split('\n')[0] : ''}` : `command killed by ${signal}`));
    });
  });
}

export async function sendPending(db: AnyHandle, cfg: Config['notify'], defaultFile: string, emit: (line: string) => void = (l) => process.stdout.write(l)): Promise<SendResult> {
  const q = queryHandle(db);
  const now = () => new Date().toISOString();
  if (cfg.channel === 'none') return { sent: 0, failed: 0, pending: await unsentCount(q) };
  const owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const timeoutMs = (cfg.timeoutSeconds ?? 30) * 1000;
  // A lease outlives the longest attempt, so a live sender never loses its claim.
  const leaseMs = Math.max((cfg.leaseSeconds ?? 300) * 1000, timeoutMs + 60_000);
  const deadline = Date.now() + (cfg.budgetSeconds ?? 120) * 1000;
  const candidates = await claimableIds(q, now());
  let sent = 0;
  let failed = 0;
  for (const id of candidates) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    const t = now();
    if (!(await claimNotification(q, id, owner, new Date(Date.now() + leaseMs).toISOString(), t))) continue; // another sender has it
    const n = await notificationToSend(q, id);
    if (!n) continue; // deleted meanwhile
    const body = JSON.parse(n.payload) as Record<string, unknown>;
    body.idempotency_key ??= n.idempotency_key ?? (n.alert_id !== null && n.created_on ? idempotencyKey(n.alert_id, n.created_on) : `notification:${id}`);
    const payload = JSON.stringify(body);
    let error: string | null = null;
    try {
      if (cfg.channel === 'command') {
        if (!cfg.target) throw new Error('notify.target (the command) is not set');
        await runNotifyCommand(cfg.target, payload + '\n', Math.min(timeoutMs, left));
      } else if (cfg.channel === 'file') {
        const file = cfg.target ?? defaultFile;
        mkdirSync(dirname(file), { recursive: true });
        appendFileSync(file, payload + '\n');
      } else if (cfg.channel === 'stdout') emit(payload + '\n');
      else throw new Error(`unknown notify.channel "${cfg.channel}" (command, file, stdout or none)`);
    } catch (e) {
      error = (e as Error).message;
    }
    if (error) {
      await recordSend(q, id, owner, { error });
      failed++;
    } else {
      await recordSend(q, id, owner, { sentAt: now() });
      sent++;
    }
  }
  return { sent, failed, pending: await unsentCount(q) };
}
