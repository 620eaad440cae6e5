/**
 * Starting a throwaway PostgreSQL server (Debian's `postgresql` package): initdb on
 * a temp directory, a unix socket, no TCP. Plain JavaScript so that jest's
 * globalSetup (which node loads without the TypeScript transform) can use it too;
 * test/pg-server.ts re-exports it with types (pg-server-core.d.ts).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

function findBin() {
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) for (const v of readdirSync(base).sort().reverse()) if (existsSync(join(base, v, 'bin', 'initdb'))) return join(base, v, 'bin');
  const r = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() ? join(r.stdout.trim(), '..') : null;
}

const asRoot = process.getuid?.() === 0;
function pgUid() {
  const r = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  return r.status === 0 ? Number(r.stdout.trim()) : null;
}

/** Why no server can be started here, or null when one can. */
export function pgMissing() {
  if (process.env.OPTIFLOW_TEST_PG_URL) return null;
  const bin = findBin();
  if (!bin) return 'no PostgreSQL server binary (initdb); install the Debian package `postgresql`';
  if (asRoot && pgUid() === null) return 'running as root without a "postgres" user to start the server';
  return null;
}

let counter = 0;

function urlFor(base, name) {
  const u = new URL(base);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Starts a server (or attaches to OPTIFLOW_TEST_PG_URL). */
export function startPostgres() {
  const shared = process.env.OPTIFLOW_TEST_PG_URL;
  if (shared) return { adminUrl: shared, freshDatabase: () => createDb(shared), stop: async () => {} };
  const bin = findBin();
  const dir = mkdtempSync(join(tmpdir(), 'optiflow-pg-'));
  const data = join(dir, 'data');
  const port = 20000 + ((process.pid * 7 + counter++) % 20000);
  const uid = asRoot ? pgUid() : null;
  const run = (cmd, args) =>
    asRoot ? execFileSync('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args], { stdio: 'pipe' }) : execFileSync(join(bin, cmd), args, { stdio: 'pipe' });
  if (asRoot) {
    chmodSync(dir, 0o777);
    chownSync(dir, uid, -1);
  }
  run('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync']);
  run('pg_ctl', ['-D', data, '-o', `-k ${dir} -p ${port} -c listen_addresses='' -c fsync=off -c full_page_writes=off -c synchronous_commit=off`, '-w', '-l', join(dir, 'log'), 'start']);
  const adminUrl = `postgresql://postgres@localhost/postgres?host=${encodeURIComponent(dir)}&port=${port}`;
  return {
    adminUrl,
    freshDatabase: () => createDb(adminUrl),
    stop: async () => {
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', 'stop']);
      } catch {
        // Already down.
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function createDb(adminUrl) {
  const name = `optiflow_t${process.pid}_${Date.now().toString(36)}_${counter++}`;
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    await c.query(`create database ${name}`);
  } finally {
    await c.end();
  }
  return urlFor(adminUrl, name);
}
