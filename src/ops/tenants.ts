/**
 * Tenants: one installation serving several shops, each with its own database
 * and state folder under the configured root (config `tenants.root`, env
 * OPTIFLOW_TENANTS_ROOT):
 *
 *   <root>/<tenant>/optiflow.db        the tenant's database
 *   <root>/<tenant>/...                its state folder, logs and backups, derived
 *                                      from the database location as for any database
 *
 * A tenant never shares a file with another: the database, the state folder,
 * the log, the backups and the metrics textfile are all resolved per tenant.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stateDir, type Config } from '../config.js';
import { UsageError } from '../errors.js';
import { migrateToLatest, openDb } from '../db/connection.js';
import { lastRun } from '../db/batch-records.js';
import { lockState } from '../batch/lock.js';

export const TENANT_DB = 'optiflow.db';
const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;

export function checkTenantName(name: string): string {
  if (!NAME.test(name)) throw new UsageError(`--tenant: "${name}" is not a tenant name; use letters, digits, '-' and '_' (at most 63, not starting with '-' or '_')`);
  return name;
}

export function tenantsRoot(config: Config): string {
  if (!config.tenants.root) throw new UsageError('tenants: no tenants root configured; set tenants.root in the config file or OPTIFLOW_TENANTS_ROOT=/path/to/tenants');
  return resolve(config.tenants.root);
}

export function tenantDir(config: Config, name: string): string {
  return join(tenantsRoot(config), checkTenantName(name));
}

/** A textfile per tenant: node_exporter's textfile collector reads every *.prom of its folder. */
function tenantTextfile(textfile: string, name: string): string {
  if (!textfile || textfile === 'off') return textfile;
  return textfile.endsWith('.prom') ? textfile.slice(0, -5) + `-${name}.prom` : `${textfile}-${name}`;
}

/**
 * The config of one tenant: its database under the root, and every file that
 * would otherwise be shared (state folder, log, notification file, backups,
 * textfile) resolved under the tenant's own folder.
 */
export function tenantConfig(config: Config, name: string, dbGiven: boolean): Config {
  if (dbGiven) throw new UsageError(`--tenant ${name} and --db (or OPTIFLOW_DB) both name a database; give only one`);
  const dir = tenantDir(config, name);
  if (!existsSync(dir)) throw new UsageError(`--tenant: no tenant "${name}" under ${tenantsRoot(config)}; create it with \`optiflow tenants create ${name}\` (see \`optiflow tenants list\`)`);
  const c = JSON.parse(JSON.stringify(config)) as Config;
  c.db = join(dir, TENANT_DB);
  c.batch.stateDir = '';
  c.logFile = null;
  c.backup.dir = '';
  if (c.notify.channel === 'file') c.notify.target = null;
  c.metrics.textfile = tenantTextfile(c.metrics.textfile, name);
  return c;
}

export interface TenantInfo {
  tenant: string;
  db: string;
  state_dir: string;
  size_bytes: number;
  last_batch: string | null;
  last_status: string | null;
}

export async function listTenants(config: Config): Promise<TenantInfo[]> {
  const root = tenantsRoot(config);
  if (!existsSync(root)) return [];
  const out: TenantInfo[] = [];
  for (const name of readdirSync(root).sort()) {
    if (!NAME.test(name)) continue;
    const db = join(root, name, TENANT_DB);
    if (!existsSync(db)) continue;
    let last: { run_date: string; status: string } | undefined;
    try {
      const d = openDb(db, { readonly: true, mustExist: true });
      try {
        last = await lastRun(d.kysely, 'nightly');
      } finally {
        await d.close();
      }
    } catch {
      last = undefined;
    }
    out.push({ tenant: name, db, state_dir: stateDir({ ...config, db, batch: { ...config.batch, stateDir: '' } }), size_bytes: statSync(db).size, last_batch: last?.run_date ?? null, last_status: last?.status ?? null });
  }
  return out;
}

export async function createTenant(config: Config, name: string): Promise<TenantInfo> {
  const dir = tenantDir(config, name);
  if (existsSync(join(dir, TENANT_DB))) throw new UsageError(`tenants create: tenant "${name}" already exists (${join(dir, TENANT_DB)})`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const db = openDb(join(dir, TENANT_DB));
  try {
    const r = await migrateToLatest(db);
    if (r.error) throw r.error;
  } finally {
    await db.close();
  }
  return (await listTenants(config)).find((t) => t.tenant === name)!;
}

/**
 * Removes a tenant: its folder is moved to <root>/.removed/<name>-<time> (data
 * kept until the operator deletes it), or deleted with purge. Refused while a
 * batch holds the tenant's lock.
 */
export function removeTenant(config: Config, name: string, purge = false): { tenant: string; removed: string; kept_in: string | null } {
  const dir = tenantDir(config, name);
  if (!existsSync(join(dir, TENANT_DB))) throw new UsageError(`tenants remove: no tenant "${name}" under ${tenantsRoot(config)}; see \`optiflow tenants list\``);
  const tc = tenantConfig(config, name, false);
  if (lockState(join(stateDir(tc), 'batch.lock')) === 'held') throw new UsageError(`tenants remove: a batch of tenant "${name}" is running; wait for it to end`);
  if (purge) {
    rmSync(dir, { recursive: true, force: true });
    return { tenant: name, removed: dir, kept_in: null };
  }
  const bin = join(tenantsRoot(config), '.removed');
  mkdirSync(bin, { recursive: true, mode: 0o700 });
  const dest = join(bin, `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  renameSync(dir, dest);
  return { tenant: name, removed: dir, kept_in: dest };
}
