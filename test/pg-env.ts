/**
 * setupFilesAfterEnv of the `postgres` jest project: the end-to-end tests run unchanged,
 * their database helper (testDb/newDb in test/helpers.ts) now handing out a fresh
 * PostgreSQL database. A PostgreSQL database's state folder is `.optiflow/<name>` of the
 * working folder: for the duration of a test file the working folder is a temp folder,
 * and OPTIFLOW_BATCH_STATE_DIR names the same place for the commands a test starts with
 * an explicit working folder (cli() runs from the repository root). So every command,
 * whichever way it is started, finds the same checkpoint and lock, and nothing lands in
 * the repository.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

process.env.OPTIFLOW_TEST_DB = 'postgres';
const work = mkdtempSync(join(tmpdir(), 'optiflow-pgwork-'));
process.env.OPTIFLOW_BATCH_STATE_DIR = join(work, '.optiflow', '{db}');
const home = process.cwd();
beforeAll(() => process.chdir(work));
afterAll(() => process.chdir(home));
