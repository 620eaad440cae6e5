/**
 * The days of a missing import on both databases: the history's reads differ
 * (per-series range reads on SQLite, set-based queries on PostgreSQL), the day
 * flags they give and the unknown days found from them must not.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addDays, dayNumber } from '../src/dates.js';
import { openDb } from '../src/db/connection.js';
import { loadHistory } from '../src/db/history.js';
import { importCsv } from '../src/io/import.js';
import { copyRows, newDb, tempDir } from './helpers.js';
import { describePg, startPostgres, type PgServer } from './pg-server.js';

const AS_OF = '2025-07-01';
const DAYS = 150;
const FIRST = addDays(AS_OF, -DAYS);

describePg('missing imports on PostgreSQL', () => {
  let server: PgServer;
  beforeAll(() => {
    server = startPostgres();
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
  });

  test('whole days without rows, a stale series and a stocked dormant one read the same on both databases', async () => {
    const dir = tempDir();
    const lines = ['date,sku,location,quantity'];
    const rates: Record<string, number> = { A: 3, B: 7, C: 12, STALE: 30, DORM: 30 };
    for (const [sku, rate] of Object.entries(rates))
      for (let i = 0; i < DAYS; i++) {
        if (i >= 60 && i < 90) continue; // a month not imported at all
        if ((sku === 'STALE' || sku === 'DORM') && i >= DAYS - 10) continue; // no rows over their last 10 days
        lines.push(`${addDays(FIRST, i)},${sku},MAIN,${rate + ((i * 7 + sku.length) % 5) - 2}`);
      }
    writeFileSync(join(dir, 'sales.csv'), lines.join('\n') + '\n');
    writeFileSync(join(dir, 'stock.csv'), `date,sku,location,on_hand\n${addDays(FIRST, 100)},DORM,MAIN,900\n${addDays(FIRST, 120)},A,MAIN,0\n${addDays(FIRST, 123)},A,MAIN,40\n`);
    const lite = await newDb(join(dir, 'gaps.db'));
    await importCsv(lite, { entity: 'sales', file: join(dir, 'sales.csv') });
    await importCsv(lite, { entity: 'stock', file: join(dir, 'stock.csv') });
    const pg = await newDb(await server.freshDatabase());
    await copyRows(lite, pg);
    const o = { asOf: AS_OF, days: 400, horizon: 28 };
    const [hl, hp] = [await loadHistory(lite, o), await loadHistory(pg, o)];
    expect(hp.refs.map((r) => r.sku)).toEqual(hl.refs.map((r) => r.sku));
    hl.series.forEach((s, i) => {
      // NaN equals NaN here: the same unknown days, the same values.
      expect(Array.from(hp.series[i].y)).toEqual(Array.from(s.y));
      expect([hp.refs[i].firstDay, hp.refs[i].staleFrom]).toEqual([hl.refs[i].firstDay, hl.refs[i].staleFrom]);
    });
    expect([...hp.missingDays]).toEqual([...hl.missingDays]);
    // What they agree on is the rule: the month is unknown, STALE's last days are, DORM's (stock on hand) are not.
    const y = (h: typeof hl, sku: string, i: number) => h.series[h.refs.findIndex((r) => r.sku === sku)].y[dayNumber(addDays(FIRST, i)) - h.startDay];
    expect(y(hp, 'B', 70)).toBeNaN();
    expect(y(hp, 'STALE', DAYS - 1)).toBeNaN();
    expect(y(hp, 'DORM', DAYS - 1)).toBe(0);
    expect(y(hp, 'A', 121)).toBeNaN(); // out of stock
    await lite.close();
    await pg.close();
  }, 120_000);
});
