/**
 * The report's charts, rendered on the server to SVG strings with ECharts'
 * server-side renderer: the HTML file needs no script and no network.
 */
import * as echarts from 'echarts';
import type { AbcCell, AccuracyRow, SeriesSection, ReportData } from './data.js';

export const PALETTE = { ink: '#1f2933', muted: '#7b8794', grid: '#e4e7eb', actual: '#243b53', forecast: '#2f6fdb', band: 'rgba(47,111,219,0.16)', override: '#d9822b', stock: '#2e8b57', receipt: '#8e6bbf', rop: '#d9822b', ss: '#c23b3b' };

export interface Chart {
  svg: string;
  /** Data points drawn (for checks and the reader). */
  points: number;
}

const BASE = {
  animation: false,
  textStyle: { fontFamily: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif', fontSize: 11, color: PALETTE.ink },
  grid: { left: 48, right: 20, top: 36, bottom: 28, containLabel: true },
};

function render(option: Record<string, unknown>, width: number, height: number): string {
  const chart = echarts.init(null as unknown as HTMLElement, undefined, { renderer: 'svg', ssr: true, width, height });
  chart.setOption({ ...BASE, ...option });
  const svg = chart.renderToSVGString();
  chart.dispose();
  // Scale with the page: keep the viewBox, let CSS set the size.
  return svg.replace(/^<svg width="(\d+)" height="(\d+)"/, `<svg role="img" preserveAspectRatio="xMidYMid meet" style="width:100%;max-width:${width}px;height:auto"`);
}

const shortDate = (d: string) => d.slice(5);

const count = (xs: (number | null)[]) => xs.filter((v) => v !== null && Number.isFinite(v)).length;
const axis = { axisLine: { lineStyle: { color: PALETTE.muted } }, splitLine: { lineStyle: { color: PALETTE.grid } }, axisLabel: { color: PALETTE.muted } };

/** History, forecast with its interval band, planner overrides; a line marks today. */
export function forecastChart(s: SeriesSection, asOf: string): Chart {
  const band = s.hi.map((h, i) => (h !== null && s.lo[i] !== null ? Math.max(0, h - (s.lo[i] as number)) : null));
  const ov = new Map(s.overrides.map((o) => [o.date, o.value]));
  const overrides = s.dates.map((d) => ov.get(d) ?? null);
  const option = {
    legend: { top: 0, data: ['sales', 'forecast', 'interval', ...(s.overrides.length ? ['override'] : [])], itemWidth: 14, itemHeight: 8, itemGap: 24 },
    xAxis: { type: 'category', data: s.dates, boundaryGap: false, ...axis, axisLabel: { color: PALETTE.muted, formatter: shortDate }, splitLine: { show: false } },
    yAxis: { type: 'value', name: 'units/day', nameTextStyle: { color: PALETTE.muted }, min: 0, ...axis },
    series: [
      { name: 'lo', type: 'line', data: s.lo, stack: 'band', symbol: 'none', lineStyle: { opacity: 0 }, silent: true },
      { name: 'interval', type: 'line', data: band, stack: 'band', symbol: 'none', lineStyle: { opacity: 0 }, areaStyle: { color: PALETTE.band }, color: 'rgba(47,111,219,0.35)' },
      { name: 'sales', type: 'line', data: s.actual, symbol: 'circle', symbolSize: 3, color: PALETTE.actual, lineStyle: { width: 1.2 } },
      {
        name: 'forecast', type: 'line', data: s.yhat, symbol: 'none', color: PALETTE.forecast, lineStyle: { width: 1.6, type: 'dashed' },
        markLine: { symbol: 'none', silent: true, label: { formatter: 'today', color: PALETTE.muted }, lineStyle: { color: PALETTE.muted, type: 'solid' }, data: [{ xAxis: asOf }] },
      },
      ...(s.overrides.length ? [{ name: 'override', type: 'scatter', data: overrides, symbol: 'diamond', symbolSize: 8, color: PALETTE.override }] : []),
    ],
  };
  return { svg: render(option, 620, 260), points: count(s.actual) + count(s.yhat) + count(band) + s.overrides.length };
}

/** Projected end-of-day stock with expected receipts, reorder point and safety stock. */
export function stockChart(s: SeriesSection): Chart | null {
  const p = s.projection;
  if (!p) return null;
  const flat = (v: number | null) => (v === null ? [] : p.dates.map(() => v));
  const levels = [
    ...(s.reorderPoint !== null ? [{ name: 'reorder point', type: 'line', data: flat(s.reorderPoint), symbol: 'none', color: PALETTE.rop, lineStyle: { type: 'dashed', width: 1.5 } }] : []),
    ...(s.safetyStock !== null ? [{ name: 'safety stock', type: 'line', data: flat(s.safetyStock), symbol: 'none', color: PALETTE.ss, lineStyle: { type: 'dotted', width: 1.8 } }] : []),
  ];
  const option = {
    legend: { top: 0, data: ['projected stock', 'receipts', ...levels.map((l) => l.name)], itemWidth: 14, itemHeight: 8, itemGap: 24 },
    xAxis: { type: 'category', data: p.dates, ...axis, axisLabel: { color: PALETTE.muted, formatter: shortDate }, splitLine: { show: false } },
    yAxis: { type: 'value', name: 'units', nameTextStyle: { color: PALETTE.muted }, ...axis },
    series: [
      { name: 'receipts', type: 'bar', data: p.receipts.map((r) => (r > 0 ? r : null)), color: PALETTE.receipt, barMaxWidth: 10 },
      {
        name: 'projected stock', type: 'line', step: 'end', data: p.stock.map((v) => Math.round(v * 100) / 100), symbol: 'none', color: PALETTE.stock,
        lineStyle: { width: 1.8 }, areaStyle: { color: 'rgba(46,139,87,0.10)' },
        markLine: { symbol: 'none', silent: true, label: { show: false }, lineStyle: { color: PALETTE.ink, type: 'solid', width: 1 }, data: [{ yAxis: 0 }] },
      },
      ...levels,
    ],
  };
  return { svg: render(option, 620, 260), points: p.stock.length + p.receipts.filter((r) => r > 0).length };
}

const COMPONENT_COLORS: Record<string, string> = {
  'level/trend': '#9fb3c8', weekday: '#2f6fdb', yearly: '#2e8b57', events: '#d9822b', promotion: '#c23b3b', price: '#8e6bbf', floor: '#616e7c', 'event factor': '#e8b04b',
};

/** Today's forecast as stacked components (units/day); the line is the stored forecast they sum to. */
export function componentsChart(s: SeriesSection): Chart | null {
  const c = s.components;
  if (!c) return null;
  const names = Object.keys(c.parts);
  const option = {
    legend: { top: 0, data: [...names, 'forecast'], itemWidth: 14, itemHeight: 8, itemGap: 18 },
    xAxis: { type: 'category', data: c.dates, ...axis, axisLabel: { color: PALETTE.muted, formatter: shortDate }, splitLine: { show: false } },
    yAxis: { type: 'value', name: 'units/day', nameTextStyle: { color: PALETTE.muted }, ...axis },
    series: [
      ...names.map((n, i) => ({ name: n, type: 'bar', stack: 'parts', data: c.parts[n].map((v) => Math.round(v * 1000) / 1000), color: COMPONENT_COLORS[n] ?? ['#52606d', '#7bc4c4', '#f0b429'][i % 3], barMaxWidth: 14 })),
      { name: 'forecast', type: 'line', data: c.stored, symbol: 'circle', symbolSize: 3, color: PALETTE.ink, lineStyle: { width: 1.2 } },
    ],
  };
  return { svg: render(option, 1240, 250), points: c.stored.length * (names.length + 1) };
}

/** ABC (value) by XYZ (variability): series counts, coloured by stock value. */
export function abcChart(cells: AbcCell[]): Chart | null {
  if (!cells.length) return null;
  const xs = ['X', 'Y', 'Z'];
  const ys = ['C', 'B', 'A'];
  const data = cells.map((c) => [xs.indexOf(c.xyz), ys.indexOf(c.abc), c.stockValue, c.series]);
  const maxV = Math.max(1, ...cells.map((c) => c.stockValue));
  const option = {
    grid: { left: 16, right: 16, top: 8, bottom: 8, containLabel: true },
    xAxis: { type: 'category', data: ['X steady', 'Y variable', 'Z erratic'], position: 'top', splitArea: { show: true }, axisLabel: { color: PALETTE.ink }, axisLine: { show: false }, axisTick: { show: false } },
    yAxis: { type: 'category', data: ['C low value', 'B mid value', 'A high value'], splitArea: { show: true }, axisLabel: { color: PALETTE.ink }, axisLine: { show: false }, axisTick: { show: false } },
    visualMap: { show: false, min: 0, max: maxV, dimension: 2, inRange: { color: ['#f0f4f8', '#9fb3c8', '#2f6fdb'] } },
    series: [{
      type: 'heatmap', data,
      itemStyle: { borderColor: '#fff', borderWidth: 2 },
      label: { show: true, fontSize: 12, lineHeight: 16, formatter: (p: { value: number[] }) => `${p.value[3]} series\nvalue ${money(p.value[2])}` },
    }],
  };
  return { svg: render(option, 600, 230), points: cells.length };
}

/** Weekly WAPE (bars, %) and bias (line, units/day). */
export function accuracyChart(weeks: AccuracyRow[]): Chart | null {
  if (!weeks.length) return null;
  const option = {
    legend: { top: 0, data: ['WAPE %', 'bias'], itemWidth: 14, itemHeight: 8, itemGap: 24 },
    grid: { left: 48, right: 48, top: 36, bottom: 28, containLabel: true },
    xAxis: { type: 'category', data: weeks.map((w) => 'wk ' + shortDate(w.label)), ...axis, splitLine: { show: false } },
    yAxis: [
      { type: 'value', name: 'WAPE %', min: 0, nameTextStyle: { color: PALETTE.muted }, ...axis },
      { type: 'value', name: 'bias', nameTextStyle: { color: PALETTE.muted }, ...axis, splitLine: { show: false } },
    ],
    series: [
      { name: 'WAPE %', type: 'bar', data: weeks.map((w) => (w.wape === null ? null : Math.round(w.wape * 1000) / 10)), color: PALETTE.forecast, barMaxWidth: 28, label: { show: true, position: 'top', fontSize: 10, color: PALETTE.ink } },
      { name: 'bias', type: 'line', yAxisIndex: 1, data: weeks.map((w) => w.bias), color: PALETTE.override, symbolSize: 5 },
    ],
  };
  return { svg: render(option, 640, 240), points: weeks.length * 2 };
}

/** WAPE per model over the same weeks. */
export function modelChart(models: AccuracyRow[]): Chart | null {
  const rows = models.filter((m) => m.wape !== null);
  if (!rows.length) return null;
  const option = {
    // Server-side text measurement is approximate: leave the model names room of their own.
    grid: { left: 12 + 7 * Math.max(...rows.map((m) => m.label.length)), right: 44, top: 12, bottom: 24, containLabel: false },
    xAxis: { type: 'value', min: 0, ...axis, axisLabel: { color: PALETTE.muted, formatter: '{value} %' } },
    yAxis: { type: 'category', data: rows.map((m) => m.label), inverse: true, axisLabel: { color: PALETTE.ink } },
    series: [{ type: 'bar', data: rows.map((m) => Math.round((m.wape as number) * 1000) / 10), color: PALETTE.forecast, barMaxWidth: 16, label: { show: true, position: 'right', fontSize: 10, color: PALETTE.ink } }],
  };
  return { svg: render(option, 520, Math.max(110, 40 + rows.length * 26)), points: rows.length };
}

/** Savings per day, stacked by kind (currency). */
export function savingsChart(rows: ReportData['savings']['rows']): Chart | null {
  if (!rows.length) return null;
  const bar = (name: string, key: 'avoided_stockouts' | 'reduced_overstock' | 'optimized_orders', color: string) =>
    ({ name, type: 'bar', stack: 'savings', data: rows.map((r) => Math.round(r[key] * 100) / 100), color, barMaxWidth: 18 });
  const option = {
    legend: { top: 0, itemWidth: 14, itemHeight: 8, itemGap: 24 },
    xAxis: { type: 'category', data: rows.map((r) => shortDate(r.date)), ...axis, splitLine: { show: false } },
    yAxis: { type: 'value', name: 'per day', nameTextStyle: { color: PALETTE.muted }, ...axis },
    series: [bar('avoided stock-outs', 'avoided_stockouts', PALETTE.stock), bar('reduced overstock', 'reduced_overstock', PALETTE.forecast), bar('optimized orders', 'optimized_orders', PALETTE.override)],
  };
  return { svg: render(option, 1220, 240), points: rows.length * 3 };
}

export function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(1);
}

export function money(x: number): string {
  return x.toLocaleString('en-US', { maximumFractionDigits: 0 });
}
