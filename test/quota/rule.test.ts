/**
 * The one "used" rule across DAY/WEEK/MONTH windows in UTC, a DST zone (Europe/Berlin) and a
 * half-hour zone (Asia/Kolkata): every usage hour overlapping the window counts, no other;
 * status, the catalog's admin view and GetUsage agree on it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quotaWindow } from '../../src/limits/index.js';
import { getUsage, localDate } from '../../src/metering/index.js';
import { quotaStatus, usedInWindow } from '../../src/quota/index.js';
import { ManualClock } from '../../src/shared/index.js';
import type { Store } from '../../src/store/index.js';
import { sqliteStore } from '../helpers/stores.js';
import { seedPlan, seedSubscription } from '../metering/fixtures/seed.js';

const HOUR = 3_600_000;
const NOW = Date.UTC(2026, 2, 29, 12, 15); // the Sunday Europe/Berlin springs forward
const PERIODS = ['DAY', 'WEEK', 'MONTH'] as const;
const ZONES = ['UTC', 'Europe/Berlin', 'Asia/Kolkata'] as const;

describe('the quota "used" rule', () => {
  let store: Store;
  const clock = new ManualClock(NOW);
  beforeAll(async () => {
    store = await sqliteStore.open();
  });
  afterAll(async () => {
    await store.close();
  });

  async function usage(subscriptionId: string, hour: number, requests: number) {
    await store.db
      .insertInto('usage')
      .values({
        subscription_id: subscriptionId,
        key_id: `${subscriptionId}_k`,
        api_id: 'a',
        dimension: 'requests',
        hour,
        units: requests,
        requests,
      })
      .execute();
  }

  for (const period of PERIODS) {
    for (const tz of ZONES) {
      it(`${period} in ${tz}: counts the hours overlapping the window, and every view agrees`, async () => {
        const id = `${period}_${tz.replace('/', '_')}`;
        await seedPlan(store, { id: `pln_${id}`, quotaLimit: 10_000, quotaPeriod: period, timeZone: tz });
        await seedSubscription(store, { id: `sub_${id}`, planId: `pln_${id}`, keys: [`sub_${id}_k`] });
        const w = quotaWindow(period, tz, NOW);
        const first = Math.floor(w.start / HOUR) * HOUR; // the hour holding the window's start
        await usage(`sub_${id}`, first - HOUR, 1000); // before the window: never counted
        await usage(`sub_${id}`, first, 1); // overlaps the start (all of it when the start is whole)
        await usage(`sub_${id}`, Math.floor(NOW / HOUR) * HOUR, 20); // now
        await usage(`sub_${id}`, w.end, 3000); // the next window: never counted
        const s = await quotaStatus({ store, clock }, `sub_${id}`);
        expect(s.window).toEqual({ start: w.start, end: w.end });
        expect(s).toMatchObject({ used: 21, limit: 10_000, remaining: 9_979 });
        expect(await usedInWindow(store.db, `sub_${id}`, w)).toBe(21);
        if (period === 'DAY') {
          const today = localDate(NOW, tz);
          const r = await getUsage(
            { store, clock },
            { usagePlanId: `pln_${id}`, startDate: today, endDate: today },
          );
          expect(r.items[`sub_${id}_k`]![0]![1]).toBe(s.remaining);
        }
      });
    }
  }
});
