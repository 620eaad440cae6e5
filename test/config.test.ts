import { DEFAULTS, envName, resolveConfig } from '../src/config.js';

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
