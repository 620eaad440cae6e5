/**
 * Calendar dates as ISO `YYYY-MM-DD` strings, computed in UTC day numbers so
 * that no time zone or DST shift can move a day.
 */
const DAY_MS = 86_400_000;
const ISO = /^(\d{4})-(\d{2})-(\d{2})$/;

export function isIsoDate(s: string): boolean {
  const m = ISO.exec(s);
  if (!m) return false;
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  return d.getUTCFullYear() === +m[1] && d.getUTCMonth() === +m[2] - 1 && d.getUTCDate() === +m[3];
}

/** Days since 1970-01-01. */
export function dayNumber(iso: string): number {
  return Math.round(Date.parse(iso + 'T00:00:00Z') / DAY_MS);
}

export function fromDayNumber(n: number): string {
  return new Date(n * DAY_MS).toISOString().slice(0, 10);
}

export function addDays(iso: string, n: number): string {
  return fromDayNumber(dayNumber(iso) + n);
}

export function daysBetween(from: string, to: string): number {
  return dayNumber(to) - dayNumber(from);
}

/** 0 = Monday ... 6 = Sunday. */
export function weekday(dayNum: number): number {
  return (((dayNum + 3) % 7) + 7) % 7;
}

export function dayOfYear(dayNum: number): number {
  const iso = fromDayNumber(dayNum);
  return dayNum - dayNumber(iso.slice(0, 4) + '-01-01');
}

export function todayIso(): string {
  return new Date().toISOString().slice(0, 10);
}
