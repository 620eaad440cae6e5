/** How the command is installed and scheduled: nothing resolves a package name at run time. */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './helpers.js';

test('crontab.example runs the installed command (or the launcher by path), never npx', () => {
  const text = readFileSync(join(ROOT, 'crontab.example'), 'utf8');
  const entries = text.split('\n').filter((l) => /^[\d*@]/.test(l.trim()));
  expect(entries.length).toBeGreaterThanOrEqual(4);
  for (const e of entries) {
    expect(e).not.toMatch(/\bnpx\b|\bnpm exec\b|\byarn dlx\b|\bpnpm dlx\b/);
    expect(e).toMatch(/(^|[\s;&|])optiflow (batch|cleanup|health)|bin\/optiflow\.js /);
  }
  expect(text).not.toMatch(/^[^#]*\bnpx\b/m);
});

test('the README says how to install the command; the launcher it names exists and is the package bin', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  expect(readme).toMatch(/npm install -g \./);
  expect(readme).toMatch(/bin\/optiflow\.js/);
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  expect(pkg.bin.optiflow).toBe('bin/optiflow.js');
  expect(statSync(join(ROOT, 'bin', 'optiflow.js')).isFile()).toBe(true);
  expect(readFileSync(join(ROOT, 'bin', 'optiflow.js'), 'utf8')).toMatch(/^#!\/usr\/bin\/env node/);
});
