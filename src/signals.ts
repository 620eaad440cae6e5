/**
 * Signal hooks: a command registers what to do on SIGINT/SIGTERM (e.g. mark
 * the batch's running steps interrupted); src/cli.ts installs the handlers and
 * exits after running the hooks.
 */
const hooks: (() => void)[] = [];

/** Registers a hook; returns the function that removes it (when what it guards is over). */
export function onSignal(fn: () => void): () => void {
  hooks.push(fn);
  return () => {
    const i = hooks.indexOf(fn);
    if (i >= 0) hooks.splice(i, 1);
  };
}

export function runSignalHooks(): void {
  for (const h of hooks.splice(0)) {
    try {
      h();
    } catch {
      // Best effort: the process is going down.
    }
  }
}
