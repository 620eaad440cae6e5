import { join } from 'node:path';
import { loadHistory } from '../src/db/history.js';
import { regressionForecasts } from '../src/ml/backtest.js';
import { generateSample, PROMO_LENGTH_DAYS } from '../src/io/sample.js';
import { dayNumber } from '../src/dates.js';
import { newDb, tempDir } from './helpers.js';

const TODAY = '2026-06-01';

describe('promotion days of the history', () => {
  test('every day inside a promotion event is a promotion day, sold or not; the regression then learns the uplift, not "a sale happened"', async () => {
    const db = await newDb(join(tempDir(), 'p.db'));
    // Slow movers: most promotion days sell nothing. Promotions are category events (one week in eight, uplift 1.2..1.7).
    generateSample(db.sqlite!, { products: 60, locations: 1, days: 365, seed: 11, today: TODAY, family: 'intermittent' });
    const h = await loadHistory(db, { asOf: TODAY, days: 365, horizon: 28 });
    const events = db.sqlite!.prepare("select start_date, end_date, category from events where kind = 'promotion'").all() as { start_date: string; end_date: string; category: string }[];
    let eventDays = 0;
    let eventDaysWithoutSale = 0;
    h.series.forEach((s, i) => {
      const inEvent = new Uint8Array(h.T);
      for (const e of events) {
        if (e.category !== h.refs[i].category) continue;
        for (let d = dayNumber(e.start_date); d <= dayNumber(e.end_date); d++) if (d >= h.startDay && d < h.startDay + h.T) inEvent[d - h.startDay] = 1;
      }
      for (let t = 0; t < h.T; t++) {
        expect(s.promo?.[t] ?? 0).toBe(inEvent[t]);
        if (inEvent[t]) {
          eventDays++;
          if (!(s.y[t] > 0)) eventDaysWithoutSale++;
        }
      }
    });
    expect(eventDays).toBeGreaterThan(PROMO_LENGTH_DAYS * 60);
    // The case that matters: most promotion days of a slow mover have no sale.
    expect(eventDaysWithoutSale / eventDays).toBeGreaterThan(0.5);
    // Fitted on these flags, the promotion effect (log scale) stays near the generator's uplift, log 1.2..1.7,
    // not the several-fold "effect" of a flag set only on days with a sale.
    const idx = h.series.map((_, i) => i);
    const r = await regressionForecasts(h.series, idx, h.T, 28, { startDay: h.startDay, horizon: 28, holidays: h.holidays, nHolidays: h.holidayNames.length });
    const effects = idx.map((i) => r.extra.get(i)!.promo).sort((a, b) => a - b);
    const median = effects[effects.length >> 1];
    expect(median).toBeLessThan(Math.log(2));
    expect(median).toBeGreaterThan(0);
  });
});
