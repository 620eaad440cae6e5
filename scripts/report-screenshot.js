#!/usr/bin/env node
/**
 * npm run report:screenshot [-- REPORT.html [OUT.png]]
 *
 * Opens an optiflow HTML report in headless Chromium with every network request
 * blocked and writes a full-page PNG. Without a report file, builds a small
 * sample database in a temporary folder (sample, train, optimize, two weeks of
 * nightly batches replayed with --as-of), writes its report and shoots that.
 * Chromium: /usr/bin/chromium (Debian package `chromium`) or OPTIFLOW_CHROMIUM.
 */
import { chromium } from 'playwright-core';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const bin = new URL('../bin/optiflow.js', import.meta.url).pathname;
const executablePath = process.env.OPTIFLOW_CHROMIUM || '/usr/bin/chromium';
let [report, out = 'report.png'] = process.argv.slice(2);

function run(args) {
  const r = spawnSync(process.execPath, [bin, ...args, '--quiet'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`optiflow ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
}

function addDays(iso, n) {
  return new Date(Date.parse(iso + 'T00:00:00Z') + n * 86400000).toISOString().slice(0, 10);
}

if (!existsSync(executablePath)) {
  console.error(`Chromium not found at ${executablePath}: install it (Debian: apt-get install -y chromium) or set OPTIFLOW_CHROMIUM`);
  process.exit(2);
}
if (!report) {
  const dir = mkdtempSync(join(tmpdir(), 'optiflow-report-'));
  const db = join(dir, 'sample.db');
  const today = '2026-06-15';
  const start = addDays(today, -14);
  console.log(`building a sample database in ${dir} ...`);
  run(['--db', db, '--as-of', today, 'sample', '--products', '40']);
  run(['--db', db, '--as-of', start, 'train']);
  for (let i = 0; i <= 14; i++) {
    const d = addDays(start, i);
    if (i === 7) run(['--db', db, '--as-of', d, 'optimize']);
    run(['--db', db, '--as-of', d, 'batch']);
  }
  report = join(dir, 'report.html');
  run(['--db', db, '--as-of', today, 'report', '--out', report]);
}

const browser = await chromium.launch({ executablePath, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-extensions', '--no-first-run'] });
try {
  const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  await page.route('**/*', (route) => (route.request().url().startsWith('file:') ? route.continue() : route.abort()));
  const errors = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto('file://' + resolve(report));
  await page.screenshot({ path: out, fullPage: true });
  console.log(`${out} written from ${report}${errors.length ? `; console errors: ${errors.join(' | ')}` : ''}`);
} finally {
  await browser.close();
}
