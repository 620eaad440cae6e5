import type { Migration } from 'kysely';
import * as m001 from './001-initial.js';
import * as m002 from './002-suggestions.js';
import * as m003 from './003-data-changes.js';
import * as m004 from './004-purchase-order-refs.js';
import * as m005 from './005-integrity.js';
import * as m007 from './007-audit-log.js';
import * as m006 from './006-planning.js';
import * as m008 from './008-watched-models.js';

/** Every migration, in order. New migrations are added here. */
export const migrations: Record<string, Migration> = {
  '001-initial': m001,
  '002-suggestions': m002,
  '003-data-changes': m003,
  '004-purchase-order-refs': m004,
  '005-integrity': m005,
  '006-planning': m006,
  '007-audit-log': m007,
  '008-watched-models': m008,
};
