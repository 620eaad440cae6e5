/**
 * `optiflow batch --all-tenants`: each tenant's batch in turn, each in its own
 * process (its own lock, log, audit row, metrics and memory), so one failing or
 * crashing tenant does not stop the others. The result names the tenants that
 * failed.
 */
import { spawn } from 'node:child_process';
import type { Config } from '../config.js';
import { listTenants } from './tenants.js';

export interface TenantBatch {
  tenant: string;
  exit_code: number;
  status: string;
  seconds: number;
  error: string | null;
}

export interface AllTenantsResult {
  tenants: TenantBatch[];
  failed: string[];
}

/** Runs `<node> <script> batch ... --tenant NAME --json` for every tenant, one after the other. */
export async function runAllTenants(config: Config, script: string, batchArgs: string[], onLine: (tenant: string, line: string) => void = () => {}): Promise<AllTenantsResult> {
  const out: TenantBatch[] = [];
  for (const t of await listTenants(config)) {
    const t0 = Date.now();
    const env: NodeJS.ProcessEnv = { ...process.env, OPTIFLOW_TENANT: t.tenant };
    delete env.OPTIFLOW_DB;
    const r = await new Promise<{ code: number; stdout: string; stderr: string }>((res) => {
      const child = spawn(process.execPath, [script, 'batch', ...batchArgs, '--tenant', t.tenant, '--json'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => {
        stderr += d;
        for (const l of String(d).split('\n')) if (l.trim()) onLine(t.tenant, l);
      });
      child.on('error', (e) => res({ code: 1, stdout, stderr: stderr + e.message }));
      child.on('close', (code, signal) => res({ code: code ?? (signal ? 1 : 0), stdout, stderr: stderr + (signal ? `killed by ${signal}` : '') }));
    });
    let status = r.code === 0 ? 'success' : 'failed';
    try {
      status = (JSON.parse(r.stdout) as { status: string }).status ?? status;
    } catch {
      // No JSON: the batch stopped before its summary (refusal or crash); stderr says why.
    }
    const lastErr = r.stderr.split('\n').filter((l) => /error/i.test(l)).pop() ?? null;
    out.push({ tenant: t.tenant, exit_code: r.code, status, seconds: Math.round((Date.now() - t0) / 100) / 10, error: r.code === 0 ? null : lastErr ?? `exit ${r.code}` });
  }
  return { tenants: out, failed: out.filter((t) => t.exit_code !== 0).map((t) => t.tenant) };
}
