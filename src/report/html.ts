/**
 * The report as one self-contained HTML file: styles inline, charts as inline
 * SVG, no script, no external resource. Sized for a laptop screen; the print
 * stylesheet keeps each section on one page where it fits.
 */
import { abcChart, accuracyChart, componentsChart, forecastChart, modelChart, money, savingsChart, stockChart, fmt, type Chart } from './charts.js';
import type { ReportData, SeriesSection } from './data.js';

const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const num = (v: unknown, digits = 1) => (v === null || v === undefined ? '–' : typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(digits)) : esc(v));
const pct = (v: number | null) => (v === null ? '–' : (v * 100).toFixed(1) + ' %');
/** Inline `code` spans in notes. */
const note = (s: string) => esc(s).replace(/`([^`]+)`/g, '<code>$1</code>');

function figure(kind: string, title: string, c: Chart | null, missing: string): string {
  if (!c) return `<figure class="chart empty" data-chart="${kind}"><figcaption>${esc(title)}</figcaption><p class="note">${note(missing)}</p></figure>`;
  return `<figure class="chart" data-chart="${kind}" data-points="${c.points}"><figcaption>${esc(title)}</figcaption>${c.svg}</figure>`;
}

const CSS = `
:root{--ink:#1f2933;--muted:#616e7c;--line:#e4e7eb;--bg:#f7f9fb;--crit:#c23b3b;--att:#d9822b;--info:#2f6fdb;--ok:#2e8b57}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);background:var(--bg)}
main{max-width:1280px;margin:0 auto;padding:20px 28px 40px}
header{display:flex;align-items:baseline;justify-content:space-between;gap:16px;border-bottom:2px solid var(--ink);padding-bottom:8px;margin-bottom:16px}
h1{font-size:22px;margin:0}h2{font-size:17px;margin:0 0 10px}h3{font-size:15px;margin:0 0 6px}
.meta{color:var(--muted);font-size:12px}
section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:16px 18px;margin:0 0 16px}
.notes{background:#fff8e6;border-color:#f0d8a8}.notes li{margin:2px 0}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:10px}
.kpi{border:1px solid var(--line);border-radius:6px;padding:10px 12px}
.kpi .v{font-size:22px;font-weight:600}.kpi .l{color:var(--muted);font-size:12px}
.kpi.crit .v{color:var(--crit)}.kpi.att .v{color:var(--att)}
table{border-collapse:collapse;width:100%;font-size:12.5px}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-weight:600;color:var(--muted);font-size:11.5px;text-transform:uppercase;letter-spacing:.03em}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
td.k{white-space:nowrap}
.sev{display:inline-block;padding:1px 6px;border-radius:3px;font-size:11px;font-weight:600;color:#fff}
.sev.CRITIQUE{background:var(--crit)}.sev.ATTENTION{background:var(--att)}.sev.INFO{background:var(--info)}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:14px}
.pair.narrow{grid-template-columns:minmax(0,5fr) minmax(0,4fr)}
figure{margin:0}figcaption{font-size:12px;color:var(--muted);margin-bottom:2px}
.facts{display:flex;flex-wrap:wrap;gap:4px 18px;font-size:12.5px;color:var(--muted);margin:2px 0 8px}.facts b{color:var(--ink);font-weight:600}
.note{color:var(--muted);font-style:italic}
code{font:12px ui-monospace,Menlo,Consolas,monospace;background:#eef2f6;padding:0 3px;border-radius:3px}
.scroll{max-height:420px;overflow:auto}
footer{color:var(--muted);font-size:11.5px}
@media (max-width:900px){.pair,.pair.narrow{grid-template-columns:1fr}}
@media print{
  @page{size:A4 landscape;margin:12mm}
  body{background:#fff;font-size:11px}main{max-width:none;padding:0}
  section{border:none;border-top:1px solid var(--line);border-radius:0;padding:8px 0;break-inside:avoid;page-break-inside:avoid}
  section.series{break-before:auto}
  .scroll{max-height:none;overflow:visible}
  .sev{-webkit-print-color-adjust:exact;print-color-adjust:exact}
  .kpi{break-inside:avoid}
}`;

function kpis(d: ReportData): string {
  const k = d.kpis;
  const card = (label: string, value: string, cls = '') => `<div class="kpi ${cls}"><div class="v">${value}</div><div class="l">${esc(label)}</div></div>`;
  return `<section id="kpis"><h2>Dashboard</h2><div class="kpis">
${card('critical alerts', num(k.alerts.CRITIQUE), 'crit')}
${card('attention alerts', num(k.alerts.ATTENTION), 'att')}
${card('info alerts', num(k.alerts.INFO))}
${card('critical products', num(k.critical_products))}
${card('stock value (on hand × unit cost)', k.stock_value === null ? '–' : money(k.stock_value))}
${card('rotation (COGS / avg stock value, per year)', num(k.rotation_rate, 2))}
${card('savings month to date', k.savings_mtd === null ? '–' : money(k.savings_mtd))}
</div></section>`;
}

function alertsTable(d: ReportData): string {
  if (!d.alerts.length) return `<section id="alerts"><h2>Alerts</h2><p class="note">No active alert.</p></section>`;
  const rows = d.alerts.map((a) => `<tr><td><span class="sev ${esc(a.severity)}">${esc(a.severity)}</span></td><td>${esc(a.kind)}</td><td class="k">${esc(a.sku)}${a.location !== 'MAIN' ? '@' + esc(a.location) : ''}</td><td class="k">${esc(a.stockout_date ?? '–')}</td><td class="n">${num(a.days_of_cover)}</td><td class="n">${num(a.suggested_qty)}</td><td class="n">${a.revenue_at_risk === null ? '–' : money(Number(a.revenue_at_risk))}</td><td>${esc(a.message)}</td></tr>`);
  return `<section id="alerts"><h2>Alerts and actions <span class="meta">(${d.alerts.length} active)</span></h2><div class="scroll"><table>
<thead><tr><th>severity</th><th>kind</th><th>series</th><th>stock-out</th><th class="n">days of cover</th><th class="n">order qty</th><th class="n">revenue at risk</th><th>action</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table></div></section>`;
}

function seriesBlock(s: SeriesSection, asOf: string): string {
  const name = `${s.sku}${s.location !== 'MAIN' ? '@' + s.location : ''}`;
  const facts = [
    ['why', s.why],
    ['on hand', s.onHand === null ? '–' : `${fmt(s.onHand)} (${s.stockDate})`],
    ['lead time', `${s.leadTimeDays} d`],
    ['projected stock-out', s.stockoutDate ?? 'none in horizon'],
    ['reorder point', s.reorderPoint === null ? '–' : fmt(s.reorderPoint)],
    ['safety stock', s.safetyStock === null ? '–' : fmt(s.safetyStock)],
    ['forecast run', s.forecastRun ?? '–'],
  ].map(([k, v]) => `<span>${k} <b>${esc(v)}</b>${k === 'safety stock' && s.safetyStockSource ? ` (${note(s.safetyStockSource)})` : ''}</span>`).join('');
  return `<section class="series" id="series-${esc(name)}"><h3>${esc(name)}</h3><div class="facts">${facts}</div>
${s.notes.length ? `<p class="note">${s.notes.map(note).join('<br>')}</p>` : ''}
${s.overrides.length ? `<p class="meta">planner overrides (diamonds): ${[...new Set(s.overrides.map((o) => o.label))].map(esc).join('; ')}</p>` : ''}
<div class="pair">${figure('forecast', 'Sales, forecast and its interval (units/day)', forecastChart(s, asOf), 'no forecast')}
${figure('stock', 'Projected stock (below 0: unserved demand), expected receipts, reorder point and safety stock (units)', stockChart(s), s.notes[0] ?? 'no projection')}</div>
${s.components ? figure('components', `What the forecast is made of (${s.components.model}; units/day, stacked; details: optiflow models explain ${s.sku})`, componentsChart(s), '') : ''}</section>`;
}

function abcSection(d: ReportData): string {
  const a = d.abcxyz;
  const table = a.cells.length
    ? `<table><thead><tr><th>class</th><th class="n">series</th><th class="n">stock value</th></tr></thead><tbody>${a.cells
        .map((c) => `<tr><td>${c.abc}${c.xyz}</td><td class="n">${c.series}</td><td class="n">${money(c.stockValue)}</td></tr>`).join('')}</tbody></table>`
    : '';
  return `<section id="abcxyz"><h2>ABC / XYZ classes <span class="meta">${a.computedOn ? 'computed ' + esc(a.computedOn) : ''}</span></h2>
${a.note ? `<p class="note">${note(a.note)}</p>` : ''}
<div class="pair narrow">${figure('abcxyz', 'Series and stock value by class (A: top 80 % of value, B: next 15 %; X: weekly CV < 0.5, Y: < 1, Z: above)', abcChart(a.cells), a.note ?? 'no classes')}<div>${table}</div></div></section>`;
}

function accuracySection(d: ReportData): string {
  const a = d.accuracy;
  const rows = a.models.map((m) => `<tr><td>${esc(m.label)}</td><td class="n">${m.series ?? '–'}</td><td class="n">${m.n}</td><td class="n">${pct(m.wape)}</td><td class="n">${num(m.bias, 2)}</td></tr>`).join('');
  return `<section id="accuracy"><h2>Forecast accuracy</h2>
<p class="meta">WAPE = Σ|forecast − sales| / Σ sales; bias = mean(forecast − sales) in units/day (&gt; 0: over-forecast). Each day is scored with the latest forecast issued before it; stock-out days are left out.</p>
${a.note ? `<p class="note">${note(a.note)}</p>` : ''}
<div class="pair narrow">${figure('accuracy', 'By week', accuracyChart(a.weeks), a.note ?? 'no data')}
<div>${figure('models', 'WAPE by model (%)', modelChart(a.models), 'no model scored')}
${rows ? `<table><thead><tr><th>model</th><th class="n">series</th><th class="n">days</th><th class="n">WAPE</th><th class="n">bias</th></tr></thead><tbody>${rows}</tbody></table>` : ''}</div></div></section>`;
}

function savingsSection(d: ReportData): string {
  const s = d.savings;
  const tot = (k: 'avoided_stockouts' | 'reduced_overstock' | 'optimized_orders') => money(s.rows.reduce((a, r) => a + r[k], 0));
  return `<section id="savings"><h2>Savings <span class="meta">month to date ${money(s.total)}</span></h2>
${s.note ? `<p class="note">${note(s.note)}</p>` : `<div class="facts"><span>last ${s.rows.length} day(s): avoided stock-outs <b>${tot('avoided_stockouts')}</b></span><span>reduced overstock <b>${tot('reduced_overstock')}</b></span><span>optimized orders <b>${tot('optimized_orders')}</b></span></div>`}
${figure('savings', 'Savings per day by kind (currency)', savingsChart(s.rows), s.note ?? 'no savings')}</section>`;
}

export function renderReport(d: ReportData): string {
  const notes = d.notes.length ? `<section class="notes"><h2>Missing or stale inputs</h2><ul>${d.notes.map((n) => `<li>${note(n)}</li>`).join('')}</ul></section>` : '';
  const series = d.series.length
    ? d.series.map((s) => seriesBlock(s, d.asOf)).join('\n')
    : `<section><h2>Urgent series</h2><p class="note">No urgent series${d.alerts.length ? '' : ' (no active alert)'}; chart any series with <code>optiflow report --sku SKU</code>.</p></section>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>optiflow report ${esc(d.asOf)}</title><style>${CSS}</style></head>
<body><main>
<header><h1>optiflow · inventory report</h1><div class="meta">as of <b>${esc(d.asOf)}</b> · generated ${esc(d.generatedAt.slice(0, 16).replace('T', ' '))} UTC</div></header>
${notes}
${kpis(d)}
${alertsTable(d)}
${series}
${abcSection(d)}
${accuracySection(d)}
${savingsSection(d)}
<footer>Stock projection: stock(d) = on hand + receipts up to d − forecast demand up to d. Safety stock: quantile of the series' own forecast errors over lead time + review period at the service level, combined with lead-time variability. Formulas with their units are in the README.</footer>
</main></body></html>
`;
}
