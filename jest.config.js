/**
 * Jest runs the TypeScript sources directly (ESM), in up to three projects:
 *  - sqlite: the whole suite on the embedded database;
 *  - postgres: the end-to-end CLI, batch, crash-and-resume and lock tests again, each
 *    test's database a fresh PostgreSQL database (OPTIFLOW_TEST_DB=postgres, test/pg-env.ts);
 *  - postgres+sqlite: the tests that compare both databases (test/postgres.test.ts, test/pg-*.test.ts).
 * The two PostgreSQL projects share ONE server started by test/pg-global-setup.js.
 * Where no server can be started (no `initdb`) they are left out with a warning, except
 * under CI=true, where the setup fails the run instead.
 */
import { existsSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const base = {
  preset: 'ts-jest/presets/default-esm',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.test.json', diagnostics: { warnOnly: false } }],
  },
};

/** The end-to-end test files that run a second time on PostgreSQL. */
const E2E_ON_POSTGRES = ['cli', 'batch-run', 'crash', 'faults-lock'];
const BOTH_DIALECTS = ['<rootDir>/test/postgres.test.ts', '<rootDir>/test/pg-*.test.ts'];

function postgresAvailable() {
  if (process.env.OPTIFLOW_TEST_PG_URL || process.env.CI === 'true') return true;
  const lib = '/usr/lib/postgresql';
  if (existsSync(lib) && readdirSync(lib).some((v) => existsSync(`${lib}/${v}/bin/initdb`))) return true;
  return spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' }).status === 0;
}

const pg = postgresAvailable();
if (!pg) console.warn('jest: no PostgreSQL server binary (initdb): the postgres projects are NOT run; install the Debian package `postgresql` (CI=true fails instead)');

const pgProject = { globalSetup: '<rootDir>/test/pg-global-setup.js', globalTeardown: '<rootDir>/test/pg-global-teardown.js' };

export default {
  testTimeout: 120000,
  maxWorkers: 2,
  projects: [
    { ...base, displayName: 'sqlite', testMatch: ['<rootDir>/test/**/*.test.ts'], testPathIgnorePatterns: ['/node_modules/', '/test/postgres\\.test\\.ts$', '/test/pg-[^/]*\\.test\\.ts$'] },
    ...(pg
      ? [
          { ...base, ...pgProject, displayName: 'postgres', testMatch: E2E_ON_POSTGRES.map((n) => `<rootDir>/test/${n}.test.ts`), setupFilesAfterEnv: ['<rootDir>/test/pg-env.ts'] },
          { ...base, ...pgProject, displayName: 'postgres+sqlite', testMatch: BOTH_DIALECTS },
        ]
      : []),
  ],
};
