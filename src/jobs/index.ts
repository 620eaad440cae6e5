/** Every job, and the nightly and weekly sets the batch runs. */
import { alertsJob } from './alerts.js';
import { dormantJob, kpisJob, revenueJob, savingsJob, topUrgentJob, trendsJob } from './dashboard.js';
import { eventsImpactJob } from './events-impact.js';
import { predictJob, trainJob, validateJob } from './forecasting.js';
import { monitorJob } from './monitor.js';
import { qualityRiskJob } from './quality.js';
import type { Job } from './types.js';
import { shadowJob } from '../watch/scores.js';

export const NIGHTLY: Job[] = [predictJob, eventsImpactJob, qualityRiskJob, alertsJob, monitorJob, kpisJob, savingsJob, revenueJob, trendsJob, topUrgentJob, dormantJob, shadowJob];
export const WEEKLY: Job[] = [trainJob, validateJob];
export const ALL_JOBS: Job[] = [...NIGHTLY, ...WEEKLY];

export function jobByName(name: string): Job | undefined {
  return ALL_JOBS.find((j) => j.name === name);
}
