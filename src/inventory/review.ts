/**
 * Supplier review days: the weekdays a supplier takes orders ("mon,thu").
 * No review days = every day. The review period R of an order placed on day D
 * is the number of days until the supplier's next review day after D: the
 * order must cover demand until the next order can arrive, i.e. L + R days.
 */
import { UsageError } from '../errors.js';
import { weekday } from '../dates.js';

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

/** "mon,thu" -> [0, 3]; empty or null -> null (every day). Throws a UsageError naming the bad token. */
export function parseReviewDays(text: string | null | undefined): number[] | null {
  if (text === null || text === undefined || !text.trim()) return null;
  const out = new Set<number>();
  for (const tok of text.toLowerCase().split(/[,; ]+/).filter(Boolean)) {
    const k = WEEKDAYS.indexOf(tok.slice(0, 3) as (typeof WEEKDAYS)[number]);
    if (k < 0 || (tok.length > 3 && !['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'].includes(tok)))
      throw new UsageError(`review_days: "${tok}" is not a weekday (use mon,tue,wed,thu,fri,sat,sun, e.g. "mon,thu")`);
    out.add(k);
  }
  return [...out].sort((a, b) => a - b);
}

/** Whether day number `day` is a review day. */
export function isReviewDay(days: number[] | null, day: number): boolean {
  return days === null || days.includes(weekday(day));
}

/** Days from day number `day` to the next review day strictly after it (1..7); `fallback` when every day is one. */
export function reviewGap(days: number[] | null, day: number, fallback = 1): number {
  if (days === null || !days.length) return Math.max(1, fallback);
  for (let k = 1; k <= 7; k++) if (days.includes(weekday(day + k))) return k;
  return 7;
}

/** The longest gap between review days (the review period a policy must plan for). */
export function longestReviewGap(days: number[] | null, fallback = 1): number {
  if (days === null || !days.length) return Math.max(1, fallback);
  // The largest step between consecutive review weekdays, wrapping the week.
  let g = 0;
  for (let k = 0; k < days.length; k++) g = Math.max(g, k + 1 < days.length ? days[k + 1] - days[k] : days[0] + 7 - days[k]);
  return g;
}
