/** Retrain flags are read as of the run date: raised on or before it, and newer than the data of the model in force. */
import { retrainFlagged } from '../src/db/snapshot.js';
import { newDb, tempDir } from './helpers.js';
import { join } from 'node:path';

test('flags after the run date, or no newer than the model in force, do not count', async () => {
  const db = await newDb(join(tempDir(), 'f.db'));
  const s = db.sqlite!;
  s.exec(`insert into locations (id, code, name) values (1, 'MAIN', 'Main');
          insert into products (id, sku, name, unit_cost, unit_price, active) values (1, 'A', 'A', 1, 2, 1), (2, 'B', 'B', 1, 2, 1), (3, 'C', 'C', 1, 2, 1);
          -- A: model trained on the morning of 2026-05-10 (data to 05-09); B: trained on data to 05-01; C: no model.
          insert into models (product_id, location_id, version, algorithm, params, trained_at, train_end, metrics, status) values
            (1, 1, 1, 'ets', '{}', '2026-05-10T02:00:00Z', '2026-05-09', '{}', 'active'),
            (2, 1, 1, 'ets', '{}', '2026-05-02T02:00:00Z', '2026-05-01', '{}', 'active');
          insert into retrain_flags (product_id, location_id, flagged_on, reason) values
            (1, 1, '2026-05-10', 'monitor of 05-10 saw data to 05-09: the model saw it too'),
            (2, 1, '2026-05-10', 'saw data the model did not'),
            (3, 1, '2026-05-12', 'raised after the run date');`);
  expect(await retrainFlagged(db, '2026-05-10')).toEqual([{ p: 2, l: 1 }]);
  // Training A again on 05-10 would not be asked for; on 05-12 C's flag counts too.
  expect((await retrainFlagged(db, '2026-05-12')).map((r) => r.p).sort()).toEqual([2, 3]);
  // A model trained after the run date is not in force: replaying 05-05, B's model (data to 05-01) is, A has none.
  s.exec(`insert into retrain_flags (product_id, location_id, flagged_on, reason) values (1, 1, '2026-05-04', 'early')`);
  expect((await retrainFlagged(db, '2026-05-05')).map((r) => r.p)).toEqual([1]);
  await db.close();
});
