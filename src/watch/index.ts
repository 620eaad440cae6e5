/** What the nightly monitor adds for watched models: role scores, drift, canary decisions. */
import type { JobContext } from '../jobs/types.js';
import { measureDrift, type DriftRow } from './drift.js';
import { scoreRoles } from './scores.js';
import { evaluateCanaries } from './trials.js';

export interface WatchResult {
  summary: Record<string, number | string | null>;
  drift: DriftRow[];
}

export async function watchModels(ctx: JobContext): Promise<WatchResult> {
  const scored = await scoreRoles(ctx, ctx.config.monitor.lookbackDays);
  const drift = await measureDrift(ctx);
  const canary = await evaluateCanaries(ctx);
  if (drift.flagged) ctx.log.info(`monitor: ${drift.flagged} series drifted (flagged for retraining)`);
  return {
    summary: { drift_flagged: drift.flagged, role_scores: scored, canary: canary.decided ?? (canary.days ? `running, day ${canary.days}` : null), canary_mae: canary.canary_mae, canary_baseline_mae: canary.baseline_mae },
    drift: drift.rows,
  };
}
