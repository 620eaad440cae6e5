/**
 * Lead times learned from receipts (pure).
 *
 * For each purchase order received (received_on set) in the last 365 days
 * before today:
 *   real lead time = received_on - ordered_on      (days)
 *   lateness       = received_on - expected_on     (days; negative = early)
 * Per supplier: n, mean and sample standard deviation of both.
 *
 * Rule: once a supplier has at least MIN_RECEIPTS receipts, its planning lead
 * time is the mean real lead time rounded to the nearest day and its lead-time
 * spread the standard deviation of the real lead time; with fewer, the
 * supplier's stated lead_time_days / lead_time_sd_days are used.
 */
export const MIN_RECEIPTS = 10;
export const RECEIPT_WINDOW_DAYS = 365;

export interface ReceiptStats {
  n: number;
  meanLeadTime: number;
  sdLeadTime: number;
  meanLateness: number;
  sdLateness: number;
}

export interface Receipt {
  leadTime: number;
  lateness: number;
}

function meanSd(xs: number[]): [number, number] {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  const v = xs.length > 1 ? xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1) : 0;
  return [m, Math.sqrt(v)];
}

export function receiptStats(receipts: Receipt[]): ReceiptStats | null {
  const ok = receipts.filter((r) => Number.isFinite(r.leadTime) && r.leadTime >= 0);
  if (!ok.length) return null;
  const [ml, sl] = meanSd(ok.map((r) => r.leadTime));
  const [mt, st] = meanSd(ok.map((r) => r.lateness));
  return { n: ok.length, meanLeadTime: ml, sdLeadTime: sl, meanLateness: mt, sdLateness: st };
}

/** The lead time to plan with: learned when there are enough receipts, else the stated one. */
export function planningLeadTime(stated: { leadTimeDays: number; leadTimeSdDays: number }, stats: ReceiptStats | null | undefined, minReceipts = MIN_RECEIPTS) {
  if (stats && stats.n >= minReceipts)
    return { leadTimeDays: Math.max(1, Math.round(stats.meanLeadTime)), leadTimeSdDays: stats.sdLeadTime, source: 'receipts' as const, receipts: stats.n };
  return { leadTimeDays: stated.leadTimeDays, leadTimeSdDays: stated.leadTimeSdDays, source: 'stated' as const, receipts: stats?.n ?? 0 };
}
