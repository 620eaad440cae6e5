/** Jest globalTeardown of the PostgreSQL projects: stops the server the setup started (once). */
export default async function teardown() {
  const server = globalThis.__optiflowPgServer;
  if (!server) return;
  globalThis.__optiflowPgServer = undefined;
  delete process.env.OPTIFLOW_TEST_PG_URL;
  await server.stop();
}
