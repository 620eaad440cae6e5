/**
 * A throwaway PostgreSQL server for tests (Debian's `postgresql` package):
 * initdb on a temp directory, a unix socket, no TCP. One server per test file
 * unless OPTIFLOW_TEST_PG_URL names a running one (the jest PostgreSQL projects
 * start one for the whole run); each test gets its own database.
 *
 * No silent skip: where no server binary exists, `pgMissing()` says why; under
 * CI=true the test files fail on it instead of skipping.
 */
import { pgMissing, startPostgres, type PgServer } from './pg-server-core.js';

export { pgMissing, startPostgres, type PgServer };

/** describe, or (outside CI only) describe.skip with a warning naming the reason. */
export function describePg(name: string, fn: () => void): void {
  const why = pgMissing();
  if (why && process.env.CI === 'true') {
    describe(name, () => test('PostgreSQL server available', () => { throw new Error(`PostgreSQL tests cannot run: ${why}`); }));
    return;
  }
  if (why) console.warn(`${name}: PostgreSQL tests skipped: ${why}`);
  (why ? describe.skip : describe)(name, fn);
}
