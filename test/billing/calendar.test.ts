/**
 * Calendar billing, worked by hand: periods begin on the 1st (UTC), the first one runs from
 * the subscription's start to the next 1st with its fee prorated by the second against the
 * whole calendar month (year); the setup fee is charged on it; the 31st, February and leap
 * years. Runs on SQLite and PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Billing, createBilling } from '../../src/billing/index.js';
import { anchorFor } from '../../src/billing/periods.js';
import { ManualClock, silentLogger } from '../../src/shared/index.js';
import type { Store } from '../../src/store/index.js';
import { testStores } from '../helpers/stores.js';
import * as fx from './fixtures.js';

const U = Date.UTC;

describe('anchorFor', () => {
  it('is the start itself for anniversary billing, the 1st at 00:00 UTC for calendar billing', () => {
    expect(anchorFor(U(2026, 0, 31, 12), 'month')).toBe(U(2026, 0, 31, 12));
    expect(anchorFor(U(2026, 0, 31, 12), 'month', 'calendar')).toBe(U(2026, 0, 1));
    expect(anchorFor(U(2028, 1, 29, 23, 59), 'month', 'calendar')).toBe(U(2028, 1, 1));
    expect(anchorFor(U(2028, 6, 1, 8), 'year', 'calendar')).toBe(U(2028, 0, 1));
  });
});

for (const kind of await testStores()) {
  describe(`calendar billing on ${kind.name}`, () => {
    let store: Store;
    let billing: Billing;
    const clock = new ManualClock(U(2030, 0, 1));
    let n = 0;

    beforeAll(async () => {
      store = await kind.open();
      await fx.provider(store);
      await fx.consumer(store, 'con_a');
      billing = createBilling({ store, clock, log: silentLogger });
    });
    afterAll(async () => {
      await billing.close();
      await store.close();
    });

    /** A fresh plan and subscription; returns the invoices as [start, end, lines…]. */
    async function bill(price: Parameters<Billing['setPrice']>[1], startedAt: number) {
      const plan = await fx.plan(store, `pln_c${++n}`);
      await billing.setPrice(plan, price, 'test');
      const sub = `sub_c${n}`;
      await fx.subscription(store, { id: sub, consumerId: 'con_a', planId: plan, startedAt });
      await billing.run({ subscriptionId: sub });
      const out: Array<[string, string, ...string[]]> = [];
      for (const i of (await billing.listInvoices({ subscriptionId: sub })).items) {
        const inv = await billing.getInvoice(i.id);
        out.push([
          i.periodStart.slice(0, 16),
          i.periodEnd.slice(0, 10),
          ...inv.lines.map((l) => `${l.kind} ${l.amount}`),
        ]);
      }
      return out.slice(0, 3);
    }

    it('prorates a first period from the 15th to the 1st, then bills whole months', async () => {
      // January has 31 days: 15 Jan 00:00 → 1 Feb is 17 days, 17/31 × 31.00 = 17.00
      expect(
        await bill({ currency: 'USD', recurringFee: '31', billingTime: 'calendar' }, U(2026, 0, 15)),
      ).toEqual([
        ['2026-01-15T00:00', '2026-02-01', 'recurring 17.00'],
        ['2026-02-01T00:00', '2026-03-01', 'recurring 31.00'],
        ['2026-03-01T00:00', '2026-04-01', 'recurring 31.00'],
      ]);
    });

    it('starting on the 31st at noon bills half a day, then February whole, with the setup fee first', async () => {
      // 31 Jan 12:00 → 1 Feb 00:00 = 0.5 of 31 days × 62.00 = 1.00
      expect(
        await bill(
          { currency: 'USD', recurringFee: '62', setupFee: '5', billingTime: 'calendar' },
          U(2026, 0, 31, 12),
        ),
      ).toEqual([
        ['2026-01-31T12:00', '2026-02-01', 'setup 5.00', 'recurring 1.00'],
        ['2026-02-01T00:00', '2026-03-01', 'recurring 62.00'],
        ['2026-03-01T00:00', '2026-04-01', 'recurring 62.00'],
      ]);
    });

    it('prorates against a leap February, and anniversary billing still anchors at the start', async () => {
      // 15 Feb 2028 → 1 Mar 2028 = 15 of 29 days × 29.00 = 15.00
      expect(
        await bill({ currency: 'USD', recurringFee: '29', billingTime: 'calendar' }, U(2028, 1, 15)),
      ).toEqual([
        ['2028-02-15T00:00', '2028-03-01', 'recurring 15.00'],
        ['2028-03-01T00:00', '2028-04-01', 'recurring 29.00'],
        ['2028-04-01T00:00', '2028-05-01', 'recurring 29.00'],
      ]);
      expect((await bill({ currency: 'USD', recurringFee: '29' }, U(2028, 1, 15)))[0]).toEqual([
        '2028-02-15T00:00',
        '2028-03-15',
        'recurring 29.00',
      ]);
    });

    it('runs yearly calendar periods to 1 January, prorated over a leap year', async () => {
      // 1 Jul 2028 → 1 Jan 2029 = 184 of 366 days × 366.00 = 184.00
      expect(
        await bill(
          { currency: 'USD', interval: 'year', recurringFee: '366', billingTime: 'calendar' },
          U(2028, 6, 1),
        ),
      ).toEqual([
        ['2028-07-01T00:00', '2029-01-01', 'recurring 184.00'],
        ['2029-01-01T00:00', '2030-01-01', 'recurring 366.00'],
      ]);
    });

    it('bills usage by the calendar period too', async () => {
      const plan = await fx.plan(store, `pln_c${++n}`);
      await billing.setPrice(
        plan,
        {
          currency: 'USD',
          billingTime: 'calendar',
          charges: [{ model: 'per_unit', dimension: 'requests', unitPrice: '0.01' }],
        },
        'test',
      );
      const sub = `sub_c${n}`;
      await fx.subscription(store, {
        id: sub,
        consumerId: 'con_a',
        planId: plan,
        startedAt: U(2026, 4, 20, 9, 30),
      });
      const row = (hour: number, units: number) => ({
        subscription_id: sub,
        key_id: 'k',
        api_id: 'a',
        dimension: 'requests',
        hour,
        units,
        requests: units,
      });
      // 31 May 23:00 belongs to May, 1 June 00:00 to June
      await fx.usage(store, [row(U(2026, 4, 31, 23), 100), row(U(2026, 5, 1, 0), 7)]);
      await billing.run({ subscriptionId: sub, until: U(2026, 6, 1) });
      const items = (await billing.listInvoices({ subscriptionId: sub })).items;
      expect(items.map((i) => [i.periodStart.slice(0, 16), i.periodEnd.slice(0, 10), i.total])).toEqual([
        ['2026-05-20T09:30', '2026-06-01', '1.00'],
        ['2026-06-01T00:00', '2026-07-01', '0.07'],
      ]);
    });
  });
}
