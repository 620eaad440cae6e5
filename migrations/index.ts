import type { Migration } from 'kysely';
import * as m001 from './001-initial.js';

/** Every migration, in order. New migrations are added here. */
export const migrations: Record<string, Migration> = {
  '001-initial': m001,
};
