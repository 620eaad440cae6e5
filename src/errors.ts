/**
 * The error taxonomy. Library code throws these; only src/cli.ts turns them
 * into exit codes (0 ok, 1 the job failed, 2 usage or input error).
 */
export class OptiflowError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad flag, bad value, unknown SKU...: exit code 2, nothing written. */
export class UsageError extends OptiflowError {
  constructor(message: string) {
    super(message, 2);
  }
}

/** A malformed input file: message is `file:line:column: reason`. */
export class InputError extends OptiflowError {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly column: number,
    readonly reason: string,
  ) {
    super(`${file}:${line}:${column}: ${reason}`, 2);
  }
}

/** A job cannot run because something it needs is missing: exit code 1. */
export class MissingInputError extends OptiflowError {
  constructor(what: string, howToMake: string) {
    super(`missing input: ${what}; run \`${howToMake}\` first`, 1);
  }
}

/** A job ran and failed. */
export class JobError extends OptiflowError {
  constructor(message: string) {
    super(message, 1);
  }
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
