/**
 * Presentation: aligned tables for people, JSON for machines (raw numbers there).
 *
 * Numbers in tables, by column name:
 * - money (value, cost, price, revenue, margin, total, budget, savings...): 2 decimals,
 *   thousands separators: 216,772.40
 * - days (days, cover, lead time): at most 1 decimal: 12.3
 * - shares and rates below 1 (fill rate, risk, level...): up to 4 decimals, trailing zeros trimmed
 * - other numbers: thousands separators, up to 2 decimals, trailing zeros trimmed
 * - a fraction of a million or more (e.g. a backtest error that blew up), or any figure beyond 1e15 (where
 *   doubles hold no more digits): 3 significant digits, 1.44e+11; money and whole counts below 1e15 as above
 * - identifiers (id, version, year): as they are
 * Text is never cut: a cell longer than the column limit wraps onto the next lines.
 */
import { HUGE_FRACTION } from '../numbers.js';

export type Cell = string | number | null | undefined | boolean;

const MONEY = /(value|cost|price|revenue|margin|total|budget|saving|amount|spend|purchase|overstock|stockouts|optimized|at_risk)/i;
const DAYS = /(days|cover|lead_time)/i;
const RAW = /(^id$|_id$|version|^year$|decile)/i;
/** Beyond this magnitude any figure is shown in exponent form (a fraction from HUGE_FRACTION on). */
const HUGE = 1e15;
const WRAP = 72;

const trim = (s: string) => (s.includes('.') ? s.replace(/\.?0+$/, '') : s);
const grouped = (v: number, digits: number, exact = false) => {
  const s = v.toLocaleString('en-US', { minimumFractionDigits: exact ? digits : 0, maximumFractionDigits: digits });
  return s === '-0' ? '0' : s;
};

/** One number as a table shows it, given its column (or key) name. */
export function formatNumber(v: number, name = ''): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? '-' : v > 0 ? '∞' : '-∞';
  if (Math.abs(v) >= HUGE) return v.toPrecision(3);
  if (RAW.test(name)) return String(v);
  if (MONEY.test(name) && !/rate|share|pct|percent/i.test(name)) return grouped(v, 2, true);
  if (Math.abs(v) >= HUGE_FRACTION && !Number.isInteger(v)) return v.toPrecision(3);
  if (DAYS.test(name)) return grouped(Math.round(v * 10) / 10, 1);
  if (Number.isInteger(v)) return grouped(v, 0);
  if (Math.abs(v) < 1) {
    const s = trim(v.toFixed(4));
    return s === '-0' ? '0' : s;
  }
  return grouped(v, 2);
}

export function fmt(v: Cell, name = ''): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'number') return formatNumber(v, name);
  return String(v);
}

/** Words wrapped to `width` columns; a word longer than that is split. */
export function wrap(text: string, width = WRAP): string[] {
  const out: string[] = [];
  for (const para of text.split('\n')) {
    let line = '';
    for (let word of para.split(' ')) {
      while (word.length > width) {
        if (line) {
          out.push(line);
          line = '';
        }
        out.push(word.slice(0, width));
        word = word.slice(width);
      }
      if (!line) line = word;
      else if (line.length + 1 + word.length <= width) line += ' ' + word;
      else {
        out.push(line);
        line = word;
      }
    }
    out.push(line);
  }
  return out;
}

export function table(rows: Record<string, Cell>[], columns?: string[]): string {
  if (!rows.length) return '(no rows)\n';
  const cols = columns ?? Object.keys(rows[0]);
  const numeric = cols.map((c) => rows.every((r) => r[c] === null || r[c] === undefined || typeof r[c] === 'number'));
  const cells = rows.map((r) => cols.map((c) => wrap(fmt(r[c], c))));
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((r) => Math.max(...r[i].map((l) => l.length)))));
  const pad = (v: string, i: number) => (numeric[i] ? v.padStart(widths[i]) : v.padEnd(widths[i]));
  const line = (vals: string[]) => vals.map(pad).join('  ').trimEnd();
  const out = [line(cols), line(widths.map((w) => '-'.repeat(w)))];
  for (const r of cells) {
    const height = Math.max(...r.map((c) => c.length));
    for (let k = 0; k < height; k++) out.push(line(r.map((c) => c[k] ?? '')));
  }
  return out.join('\n') + '\n';
}

export function keyValues(obj: Record<string, Cell>): string {
  const w = Math.max(...Object.keys(obj).map((k) => k.length));
  return Object.entries(obj).map(([k, v]) => `${k.padEnd(w)}  ${wrap(fmt(v, k)).join('\n' + ' '.repeat(w + 2))}`).join('\n') + '\n';
}

/**
 * A model's parameters on one line per model part, as `models show` prints them: numbers rounded for people
 * (formatNumber, none of them money), lists joined with '/', a step the history was re-levelled from as "relevelled since DATE x
 * RATIO". The interval and the backtest errors (long lists) are left to --json; the interval's level and its
 * number of errors are given.
 */
export function describeParams(params: Record<string, unknown>): string[] {
  const show = (k: string, v: unknown): string => {
    if (v === null || v === undefined) return `${k} -`;
    if (typeof v === 'number') return `${k} ${formatNumber(v, 'parameter')}`;
    if (Array.isArray(v)) return `${k} ${v.map((x) => (typeof x === 'number' ? formatNumber(x, 'parameter') : String(x))).join('/')}`;
    if (typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (k === 'relevelled' && typeof o.since === 'string' && typeof o.ratio === 'number') return `relevelled since ${o.since} x ${formatNumber(o.ratio, 'ratio')}`;
      return `${k} {${Object.entries(o).map(([a, b]) => show(a, b)).join(', ')}}`;
    }
    return `${k} ${String(v)}`;
  };
  const out: string[] = [];
  for (const [part, v] of Object.entries(params)) {
    if (part === 'backtest_errors') continue;
    if (part === 'interval') {
      const iv = v as { level?: number; n_errors?: number } | null;
      if (iv && typeof iv.level === 'number') out.push(`interval: ${formatNumber(100 * iv.level, 'pct')} % from ${iv.n_errors ?? 0} out-of-sample errors`);
      continue;
    }
    out.push(v && typeof v === 'object' && !Array.isArray(v) ? `${part}: ${Object.entries(v as Record<string, unknown>).map(([a, b]) => show(a, b)).join(', ')}` : show(part, v));
  }
  return out;
}
