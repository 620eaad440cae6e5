/**
 * `optiflow batch report`: where the batch's time goes, from batch_runs and
 * batch_steps. Per job, the duration of each of the last N runs (oldest
 * first), its mean, and its trend: the least-squares slope of duration
 * against run index (seconds per run). The job that grew most is the one with
 * the largest increase from the mean of the older half of its runs to the mean
 * of the newer half (seconds). The last run's time is split by job, with each
 * job's share of the sum of job durations (jobs run in parallel, so the shares
 * describe work, not wall time).
 */
import type { Q } from '../db/query.js';
import { recentRuns, stepsOfRuns } from '../db/batch-records.js';

export interface JobTrend {
  job: string;
  runs: number;
  durations: (number | null)[];
  mean_seconds: number | null;
  slope_seconds_per_run: number | null;
  growth_seconds: number | null;
}

export interface BatchReport {
  kind: string;
  runs: { run_id: string; run_date: string; status: string; seconds: number | null }[];
  jobs: JobTrend[];
  grew_most: { job: string; growth_seconds: number } | null;
  last_run: { run_id: string; run_date: string; status: string; wall_seconds: number | null; jobs: { job: string; status: string; seconds: number | null; share: number | null }[] } | null;
}

const secs = (a: string | null, b: string | null) => (a && b ? (Date.parse(b) - Date.parse(a)) / 1000 : null);
const mean = (xs: number[]) => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : null);

/** Least-squares slope of y against its index (null below two points). */
export function slope(ys: number[]): number | null {
  const n = ys.length;
  if (n < 2) return null;
  const mx = (n - 1) / 2;
  const my = mean(ys)!;
  let sxy = 0;
  let sxx = 0;
  ys.forEach((y, i) => {
    sxy += (i - mx) * (y - my);
    sxx += (i - mx) * (i - mx);
  });
  return sxy / sxx;
}

export async function batchReport(q: Q, o: { runs: number; kind?: string }): Promise<BatchReport> {
  const kind = o.kind ?? 'nightly';
  const runs = await recentRuns(q, kind, o.runs);
  const allSteps = await stepsOfRuns(q, runs.map((r) => r.id));
  const perRun = runs.map((r) => new Map(allSteps.filter((st) => st.run_id === r.id).map((st) => [st.step, { status: st.status, seconds: st.status === 'success' || st.status === 'failed' ? secs(st.started_at, st.finished_at) : null }])));
  const names = [...new Set(perRun.flatMap((m) => [...m.keys()]))].sort();
  const jobs: JobTrend[] = names.map((job) => {
    const durations = perRun.map((m) => m.get(job)?.seconds ?? null);
    const known = durations.filter((d): d is number => d !== null);
    const half = Math.floor(known.length / 2);
    const growth = known.length >= 2 ? mean(known.slice(known.length - half))! - mean(known.slice(0, half))! : null;
    const sl = slope(known);
    return { job, runs: known.length, durations, mean_seconds: mean(known), slope_seconds_per_run: sl, growth_seconds: growth };
  });
  const grown = jobs.filter((j) => j.growth_seconds !== null && j.growth_seconds > 0).sort((a, b) => b.growth_seconds! - a.growth_seconds!)[0];
  const last = runs.at(-1);
  let lastRun: BatchReport['last_run'] = null;
  if (last) {
    const m = perRun.at(-1)!;
    const total = [...m.values()].reduce((t, v) => t + (v.seconds ?? 0), 0);
    lastRun = {
      run_id: last.run_uid, run_date: last.run_date, status: last.status, wall_seconds: secs(last.started_at, last.finished_at),
      jobs: [...m.entries()].map(([job, v]) => ({ job, status: v.status, seconds: v.seconds, share: v.seconds !== null && total > 0 ? v.seconds / total : null })).sort((a, b) => (b.seconds ?? -1) - (a.seconds ?? -1)),
    };
  }
  return {
    kind,
    runs: runs.map((r) => ({ run_id: r.run_uid, run_date: r.run_date, status: r.status, seconds: secs(r.started_at, r.finished_at) })),
    jobs,
    grew_most: grown ? { job: grown.job, growth_seconds: grown.growth_seconds! } : null,
    last_run: lastRun,
  };
}
