export interface PgServer {
  /** URL of the server's maintenance database. */
  adminUrl: string;
  /** Creates an empty database and returns its URL. */
  freshDatabase(): Promise<string>;
  stop(): Promise<void>;
}
/** Why no server can be started here, or null when one can. */
export function pgMissing(): string | null;
/** Starts a server (or attaches to OPTIFLOW_TEST_PG_URL). */
export function startPostgres(): PgServer;
