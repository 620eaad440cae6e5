/**
 * A full garbage collection on demand, for the places of a large night where a
 * working set has just become garbage: between the batch's jobs, between the parts
 * of a job that reads every series a part at a time. V8 collects its old generation
 * only once it has grown well past what the last collection kept, so the next
 * working set piled on top of the last one's garbage and the process's peak memory
 * was about the sum of the two. One full collection costs a fraction of a second on
 * a heap of a few hundred MB.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc: (() => void) | null | undefined;

/** Collects all garbage now (a no-op where V8 does not expose its collector). */
export function collectGarbage(): void {
  if (gc === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      gc = runInNewContext('gc') as () => void;
    } catch {
      gc = null;
    }
  }
  gc?.();
}
