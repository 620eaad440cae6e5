/**
 * setupFiles of the `postgres` jest project: the end-to-end tests run unchanged,
 * their database helper (testDb/newDb in test/helpers.ts) now handing out a fresh
 * PostgreSQL database; the state folders of those databases go to a temp folder.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

process.env.OPTIFLOW_TEST_DB = 'postgres';
process.env.OPTIFLOW_BATCH_STATE_DIR = join(mkdtempSync(join(tmpdir(), 'optiflow-pgstate-')), '{db}');
