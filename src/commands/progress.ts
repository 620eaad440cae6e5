/**
 * The batch spinner, for people at a terminal only: stderr must be a TTY at
 * least MIN_COLUMNS wide (a 0-column terminal makes a spinner redraw without
 * end), and not --json or --quiet. NO_COLOR turns its colour off. Log lines
 * written while it spins clear it first and redraw it after, so the two never
 * run together on one line.
 */
import ora, { type Ora } from 'ora';
import { WriteStream } from 'node:tty';

/** Narrower than this, a spinner line with job names wraps on every frame. */
export const MIN_COLUMNS = 20;

export interface Progress {
  set(text: string): void;
  stop(): void;
}

const NONE: Progress = { set: () => undefined, stop: () => undefined };

export function spinnerWanted(stream: { isTTY?: boolean; columns?: number }, env: NodeJS.ProcessEnv = process.env): boolean {
  return !!stream.isTTY && typeof stream.columns === 'number' && stream.columns >= MIN_COLUMNS && env.TERM !== 'dumb';
}

export function startProgress(text: string, env: NodeJS.ProcessEnv = process.env): Progress {
  if (!spinnerWanted(process.stderr, env)) return NONE;
  // The spinner draws on its own handle of the terminal; everything else written to stderr goes around it.
  const tty = new WriteStream(2);
  const noColor = env.NO_COLOR !== undefined && env.NO_COLOR !== '';
  const spinner: Ora = ora({ stream: tty, text, discardStdin: false, color: noColor ? false : 'cyan', isEnabled: true }).start();
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: unknown, ...rest: unknown[]) => {
    spinner.clear();
    const r = (write as (...a: unknown[]) => boolean)(chunk, ...rest);
    spinner.render();
    return r;
  }) as typeof process.stderr.write;
  let stopped = false;
  return {
    set: (t) => {
      if (!stopped) spinner.text = t;
    },
    stop: () => {
      if (stopped) return;
      stopped = true;
      spinner.stop();
      process.stderr.write = write;
      tty.destroy();
    },
  };
}
