/** Option parsers shared by commands: bad values are usage errors (exit 2). */
import { InvalidArgumentError } from 'commander';
import { isIsoDate } from '../dates.js';

export function intOption(flag: string, min: number) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${flag} must be an integer >= ${min}`);
    return n;
  };
}

export function numOption(flag: string, check: (n: number) => boolean, what: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n) || !check(n)) throw new InvalidArgumentError(`${flag} must be ${what}`);
    return n;
  };
}

export function dateOption(flag: string) {
  return (v: string) => {
    if (!isIsoDate(v)) throw new InvalidArgumentError(`${flag} must be a date YYYY-MM-DD`);
    return v;
  };
}

export function listOption(v: string): string[] {
  return v.split(',').map((s) => s.trim()).filter(Boolean);
}
