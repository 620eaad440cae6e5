/** Presentation: aligned tables for people, JSON for machines. */
export type Cell = string | number | null | undefined | boolean;

function fmt(v: Cell): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return String(v);
    if (Number.isInteger(v)) return String(v);
    return Math.abs(v) >= 100 ? v.toFixed(1) : v.toFixed(3);
  }
  return String(v);
}

export function table(rows: Record<string, Cell>[], columns?: string[]): string {
  if (!rows.length) return '(no rows)\n';
  const cols = columns ?? Object.keys(rows[0]);
  const cells = rows.map((r) => cols.map((c) => fmt(r[c])));
  const widths = cols.map((c, i) => Math.min(60, Math.max(c.length, ...cells.map((r) => r[i].length))));
  const line = (vals: string[]) => vals.map((v, i) => (v.length > widths[i] ? v.slice(0, widths[i] - 1) + '…' : v.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(cols), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n') + '\n';
}

export function keyValues(obj: Record<string, Cell>): string {
  const w = Math.max(...Object.keys(obj).map((k) => k.length));
  return Object.entries(obj).map(([k, v]) => `${k.padEnd(w)}  ${fmt(v)}`).join('\n') + '\n';
}
