/** Every command beyond the data commands. */
import type { Command } from 'commander';
import type { Action } from '../cli.js';

export function registerCommands(_program: Command, _action: Action): void {}
