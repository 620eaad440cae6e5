import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULTS, envName, resolveConfig, stateDir } from '../src/config.js';
import { cli, tempDir } from './helpers.js';

describe('config precedence: flag > env > file > default', () => {
  const today = () => '2026-01-15';
  test('defaults apply when nothing is given', () => {
    const { config, errors } = resolveConfig({}, {}, {}, today);
    expect(errors).toEqual([]);
    expect(config.db).toBe(DEFAULTS.db);
    expect(config.asOf).toBe('2026-01-15');
    expect(config.batch.concurrency).toBe(4);
  });
  test('file beats default, env beats file, flag beats env', () => {
    const file = { db: 'file.db', batch: { concurrency: 2 }, horizon: 14 };
    const env = { OPTIFLOW_DB: 'env.db', OPTIFLOW_BATCH_CONCURRENCY: '3' };
    let r = resolveConfig(file, {}, {}, today).config;
    expect([r.db, r.batch.concurrency, r.horizon]).toEqual(['file.db', 2, 14]);
    r = resolveConfig(file, env, {}, today).config;
    expect([r.db, r.batch.concurrency, r.horizon]).toEqual(['env.db', 3, 14]);
    r = resolveConfig(file, env, { db: 'flag.db' }, today).config;
    expect([r.db, r.batch.concurrency]).toEqual(['flag.db', 3]);
  });
  test('env names are derived from the key path', () => {
    expect(envName('batch.concurrency')).toBe('OPTIFLOW_BATCH_CONCURRENCY');
    expect(envName('alerts.reviewPeriodDays')).toBe('OPTIFLOW_ALERTS_REVIEW_PERIOD_DAYS');
    expect(envName('asOf')).toBe('OPTIFLOW_AS_OF');
  });
  test('bad values are reported, not ignored', () => {
    expect(resolveConfig({ nope: 1 }, {}, {}, today).errors[0]).toMatch(/unknown config key "nope"/);
    expect(resolveConfig({ batch: { concurrency: 'x' } }, {}, {}, today).errors[0]).toMatch(/batch.concurrency" must be a number/);
    expect(resolveConfig({}, { OPTIFLOW_HORIZON: 'abc' }, {}, today).errors[0]).toMatch(/OPTIFLOW_HORIZON="abc" is not a number/);
    expect(resolveConfig({}, {}, { asOf: '2026-02-30' }, today).errors[0]).toMatch(/--as-of/);
  });
});

describe('config and environment through one schema (ranges, enums, strict booleans)', () => {
  const today = () => '2026-01-15';
  const firstError = (file: Record<string, unknown>, env: Record<string, string> = {}) => resolveConfig(file, env, {}, today).errors[0];
  test('OPTIFLOW_HISTORY_CACHE=false and =0 switch the cache off; banana is an error naming the variable', () => {
    expect(resolveConfig({}, { OPTIFLOW_HISTORY_CACHE: 'false' }, {}, today).config.historyCache).toBe(false);
    expect(resolveConfig({}, { OPTIFLOW_HISTORY_CACHE: '0' }, {}, today).config.historyCache).toBe(false);
    expect(resolveConfig({}, { OPTIFLOW_HISTORY_CACHE: 'true' }, {}, today).config.historyCache).toBe(true);
    expect(firstError({}, { OPTIFLOW_HISTORY_CACHE: 'banana' })).toMatch(/OPTIFLOW_HISTORY_CACHE="banana" is not a boolean/);
  });
  test.each([
    [{ horizon: -5 }, /config key "horizon"/],
    [{ horizon: 2.5 }, /config key "horizon".*integer/],
    [{ logFile: 5 }, /config key "logFile"/],
    [{ notify: { channel: 'pigeon' } }, /config key "notify.channel"/],
    [{ batch: { concurrency: 0 } }, /config key "batch.concurrency"/],
  ])('%j is rejected with one message naming the key', (file, re) => {
    const errors = resolveConfig(file, {}, {}, today).errors;
    expect(errors.length).toBe(1);
    expect(errors[0]).toMatch(re);
  });
  test('an environment value out of range names the variable', () => {
    expect(firstError({}, { OPTIFLOW_BATCH_CONCURRENCY: '0' })).toMatch(/OPTIFLOW_BATCH_CONCURRENCY/);
  });
  test('the CLI exits 2 on a bad config file, naming the key', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'optiflow.config.json'), JSON.stringify({ notify: { channel: 'pigeon' } }));
    const r = cli(['health', '--db', join(dir, 'x.db')], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/notify\.channel/);
  });
});

describe('state folder per database', () => {
  test('two databases in one folder get two state folders, named after each file', () => {
    const a = stateDir({ db: '/srv/shop/a.db', batch: { ...DEFAULTS.batch } });
    const b = stateDir({ db: '/srv/shop/b.db', batch: { ...DEFAULTS.batch } });
    expect(a).not.toBe(b);
    expect(a).toBe(join('/srv/shop', '.optiflow', 'a.db'));
    expect(stateDir({ db: '/x/a.db', batch: { ...DEFAULTS.batch, stateDir: '/state/{db}' } })).toBe('/state/a.db');
  });
});
