/**
 * Jest globalSetup of the PostgreSQL projects: starts ONE throwaway server for
 * the whole run and hands its URL to the workers through OPTIFLOW_TEST_PG_URL;
 * every test then creates its own database on it. A machine that cannot start a
 * server fails the run (jest.config.js leaves these projects out, with a warning,
 * only outside CI where no server binary exists).
 */
import { pgMissing, startPostgres } from './pg-server-core.js';

export default async function setup() {
  // Both PostgreSQL projects share the first one's server (or the one the caller named).
  if (process.env.OPTIFLOW_TEST_PG_URL) return;
  const why = pgMissing();
  if (why) throw new Error(`the PostgreSQL test projects cannot run: ${why}`);
  const server = startPostgres();
  globalThis.__optiflowPgServer = server;
  process.env.OPTIFLOW_TEST_PG_URL = server.adminUrl;
}
