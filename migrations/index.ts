import type { Migration } from 'kysely';
import * as m001 from './001-initial.js';
import * as m002 from './002-suggestions.js';
import * as m003 from './003-data-changes.js';
import * as m009 from './009-global-model.js';

/** Every migration, in order. New migrations are added here. */
export const migrations: Record<string, Migration> = {
  '001-initial': m001,
  '002-suggestions': m002,
  '003-data-changes': m003,
  '009-global-model': m009,
};
