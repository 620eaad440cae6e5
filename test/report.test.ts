/**
 * The HTML report opened in headless Chromium with every request blocked:
 * no console error, and every chart section holds a rendered SVG with data.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { addDays } from '../src/dates.js';
import { runBatch } from '../src/batch/batch.js';
import { trainJob } from '../src/jobs/forecasting.js';
import { optimizePolicies } from '../src/jobs/planning.js';
import { writeReport } from '../src/report/index.js';
import { UsageError } from '../src/errors.js';
import { DEFAULTS, stateDir } from '../src/config.js';
import { jobCtx, sampleDb } from './helpers.js';

const CHROMIUM = process.env.OPTIFLOW_CHROMIUM || '/usr/bin/chromium';
const TODAY = '2026-03-16';

async function reportDb() {
  const { db, dir } = await sampleDb({ today: TODAY, products: 12, days: 400, seed: 11 });
  const start = addDays(TODAY, -8);
  await trainJob.run(jobCtx(db, start), {});
  for (let i = 0; i <= 8; i++) {
    const d = addDays(start, i);
    if (i === 4) await optimizePolicies(jobCtx(db, d));
    // The last night writes the report at the end of the batch (report.afterBatch).
    const ctx = jobCtx(db, d, i === 8 ? { report: { ...DEFAULTS.report, afterBatch: true } } : {});
    const r = await runBatch(ctx, { kind: 'nightly' });
    expect(r.status).toBe('success');
    expect(existsSync(join(stateDir(ctx.config), `report-${d}.html`))).toBe(i === 8);
  }
  return { db, dir };
}

test('the report opens offline in Chromium, without console errors, each chart an SVG with data points', async () => {
  // The browser is a test requirement (.ci/run installs it): fail loudly rather than skip.
  expect(existsSync(CHROMIUM)).toBe(true);
  const { db, dir } = await reportDb();
  const ctx = jobCtx(db, TODAY);
  // A series whose model carries the regression, so its forecast is also shown as components.
  const sku = (db.sqlite!.prepare(`select p.sku from models m join products p on p.id = m.product_id where m.status = 'active' and m.algorithm like '%regression%' order by p.id limit 1`).get() as { sku: string }).sku;
  const out = join(dir, 'report.html');
  const r = await writeReport(ctx, { out, skus: [sku] });
  expect(r.series[0]).toBe(`${sku}@MAIN`);
  const html = readFileSync(out, 'utf8');
  // Self-contained: no script, no external reference.
  expect(html).not.toMatch(/<script|<link |src="http|href="http|@import|url\(http/i);

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-extensions', '--no-first-run'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
    const blocked: string[] = [];
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith('file:')) return route.continue();
      blocked.push(url);
      return route.abort();
    });
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto('file://' + out);
    const figures = await page.$$eval('figure.chart', (fs) =>
      fs.map((f) => {
        const svg = f.querySelector('svg');
        const shapes = svg ? [...svg.querySelectorAll('path, rect')].filter((e) => {
          const b = (e as SVGGraphicsElement).getBBox();
          return b.width > 0 || b.height > 0;
        }).length : 0;
        return { kind: f.getAttribute('data-chart'), points: Number(f.getAttribute('data-points') ?? 0), svg: !!svg, width: svg?.getBoundingClientRect().width ?? 0, shapes, empty: f.classList.contains('empty') };
      }),
    );
    expect(errors).toEqual([]);
    expect(blocked).toEqual([]);
    // Every chart kind is present: per series forecast, stock and components, the class grid, accuracy, models, savings.
    const kinds = new Set(figures.filter((f) => !f.empty).map((f) => f.kind));
    expect([...kinds].sort()).toEqual(['abcxyz', 'accuracy', 'components', 'forecast', 'models', 'savings', 'stock']);
    expect(await page.$$eval(`section[id="series-${sku}"] figure[data-chart="components"] svg`, (x) => x.length)).toBe(1);
    for (const f of figures.filter((x) => !x.empty)) {
      expect(f.svg).toBe(true);
      expect(f.points).toBeGreaterThan(0);
      expect(f.width).toBeGreaterThan(200);
      expect(f.shapes).toBeGreaterThan(3);
    }
    // The asked-for series has both charts; its stock chart carries the reorder point and safety stock of its policy.
    const block = await page.$eval(`section[id="series-${sku}"]`, (s) => s.textContent ?? '');
    const policy = db.sqlite!.prepare('select p.reorder_point, p.safety_stock from inventory_policies p join products x on x.id = p.product_id where x.sku = ?').get(sku) as { reorder_point: number; safety_stock: number };
    expect(block).toContain(`reorder point ${Number.isInteger(policy.reorder_point) ? policy.reorder_point : policy.reorder_point.toFixed(1)}`);
    const alerts = await page.$$eval('#alerts tbody tr', (rows) => rows.length);
    expect(alerts).toBe((db.sqlite!.prepare('select count(*) as n from alerts where active = 1').get() as { n: number }).n);
  } finally {
    await browser.close();
  }
});

test('an unknown --sku is a usage error naming it', async () => {
  const { db, dir } = await sampleDb({ today: TODAY, products: 3, days: 60, seed: 3 });
  await expect(writeReport(jobCtx(db, TODAY), { out: join(dir, 'r.html'), skus: ['NOPE'] })).rejects.toThrow(new UsageError('--sku: unknown SKU "NOPE"; list products with `optiflow export products`'));
});

test('missing inputs are named in the report with the command that supplies them', async () => {
  const { db, dir } = await sampleDb({ today: TODAY, products: 3, days: 60, seed: 3 });
  const r = await writeReport(jobCtx(db, TODAY), { out: join(dir, 'r.html') });
  expect(r.notes).toContain(`no forecast issued on or before ${TODAY}: run \`optiflow predict --as-of ${TODAY}\``);
  const html = readFileSync(join(dir, 'r.html'), 'utf8');
  expect(html).toContain('no ABC/XYZ classes yet: run <code>optiflow optimize</code>');
});
