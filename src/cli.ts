/**
 * The optiflow command line. Builds the commander program from the command
 * files; the only place that turns errors into exit codes (0 ok, 1 the job
 * failed, 2 usage or input error).
 */
import { Command, CommanderError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { createContext, globalsOf, type Context } from './commands/context.js';
import { OptiflowError, UsageError } from './errors.js';
import { isReadOnlyError, readOnlyMessage, redactSecrets } from './db/connection.js';
import { registerData } from './commands/data.js';
import { registerCommands } from './commands/index.js';
import { registerOps } from './commands/ops.js';
import { registerPlanning } from './commands/planning.js';
import { registerReport } from './commands/report.js';
import { registerCheck } from './commands/check.js';
import { registerWatch } from './commands/watch.js';
import { runSignalHooks } from './signals.js';
import { describeIoError, isDiskFull } from './io/file-safety.js';
import { beginCommand, commandPath } from './ops/command-hooks.js';
import { registerOpsAdmin } from './commands/ops-admin.js';

export type Action = <A extends unknown[]>(fn: (ctx: Context, ...args: A) => Promise<unknown> | unknown) => (...args: unknown[]) => Promise<void>;

function version(): string {
  try {
    return JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;
  } catch {
    return '0.0.0';
  }
}

export function buildProgram(state: { code: number; argv?: string[] }, out?: (s: string) => void): Command {
  const program = new Command('optiflow');
  program
    .description('inventory forecasting and replenishment: forecasts, stock-out alerts, order suggestions, nightly batch')
    .version(version(), '-V, --version')
    .exitOverride()
    .showSuggestionAfterError()
    // The error and commander's suggestion ("Did you mean predict?"), without the usage text.
    .configureOutput({ outputError: (s, write) => write(s.split('\n').filter((l) => l.trim()).slice(0, 2).join('\n') + '\n') })
    .addOption(new Option('--db <path>', 'database file or postgres:// URL (env OPTIFLOW_DB, default ./optiflow.db)'))
    .addOption(new Option('--config <file>', 'config file (env OPTIFLOW_CONFIG, default ./optiflow.config.json when present)'))
    .addOption(new Option('--as-of <date>', 'the date taken as "today", YYYY-MM-DD (env OPTIFLOW_AS_OF)'))
    .addOption(new Option('--json', 'machine-readable output'))
    .addOption(new Option('--log-level <level>', 'error, warn, info or debug (env OPTIFLOW_LOG_LEVEL)'))
    .addOption(new Option('-q, --quiet', 'only errors on the console'))
    .addOption(new Option('--tenant <name>', 'run on this tenant\'s database and state under tenants.root (env OPTIFLOW_TENANT)'));

  const action: Action = (fn) => async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const positional = args.slice(0, -2);
    const opts = args[args.length - 2];
    const ctx = createContext(globalsOf(cmd), out, cmd.name());
    // Audit trail and metrics textfile, for every command that changes data.
    const hook = beginCommand(ctx.config, ctx.tenant, commandPath(cmd), state.argv ?? []);
    let error: unknown;
    try {
      const r = await fn(ctx, ...([...positional, opts] as never));
      if (typeof r === 'number') state.code = r;
    } catch (e) {
      error = isReadOnlyError(e) ? new UsageError(readOnlyMessage(ctx.config.db)) : e;
      throw error;
    } finally {
      await ctx.close();
      await hook.end(error === undefined ? state.code : e2code(error), error);
    }
  };
  registerData(program, action);
  registerCommands(program, action);
  registerPlanning(program, action);
  registerOps(program, action);
  registerOpsAdmin(program, action);
  registerReport(program, action);
  registerCheck(program, action);
  registerWatch(program, action);
  return program;
}

function e2code(e: unknown): number {
  return e instanceof OptiflowError ? e.exitCode : e instanceof CommanderError ? 2 : 1;
}

/** Runs the CLI and returns the exit code; never calls process.exit itself. */
export async function main(argv: string[], out?: (s: string) => void): Promise<number> {
  const state = { code: 0, argv: argv.slice(2) };
  const program = buildProgram(state, out);
  // A closed pipe (`optiflow export sales | head`) ends the output quietly.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(state.code);
    throw e;
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      runSignalHooks();
      process.stderr.write(`interrupted by ${sig}\n`);
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
  try {
    await program.parseAsync(argv);
    return state.code;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      if (e.code === 'commander.executeSubCommandAsync') return 0;
      return 2;
    }
    if (e instanceof OptiflowError) {
      process.stderr.write(`error: ${redactSecrets(e.message)}\n`);
      return e.exitCode;
    }
    const err = e as Error;
    process.stderr.write(`error: ${redactSecrets(isDiskFull(e) ? describeIoError(e) : (err?.message ?? String(e)))}\n`);
    if (process.env.OPTIFLOW_DEBUG) process.stderr.write(redactSecrets(err?.stack ?? '') + '\n');
    return 1;
  }
}
