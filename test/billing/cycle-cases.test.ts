/**
 * Hand-worked billing-run cases on a real store (SQLite and PostgreSQL): each row says what
 * happened to a subscription and, in its comment, the arithmetic a person would do; the
 * invoices a run writes must match to the cent. Started with the three rating bugs found
 * while making billing run by itself (boundary plan change, yearly → monthly, pending time).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Billing, createBilling, type PriceInput } from '../../src/billing/index.js';
import { type Actor, type Catalog, createCatalog } from '../../src/catalog/index.js';
import { ManualClock, silentLogger } from '../../src/shared/index.js';
import type { Store } from '../../src/store/index.js';
import { testStores } from '../helpers/stores.js';
import * as fx from './fixtures.js';

const U = Date.UTC;
const op: Actor = { kind: 'operator', id: 'test-op' };

const PRICES: Record<string, PriceInput> = {
  // monthly 10, setup 5, requests at 0.01 with 100 included
  pln_m: {
    currency: 'USD',
    recurringFee: '10',
    setupFee: '5',
    charges: [{ model: 'per_unit', dimension: 'requests', unitPrice: '0.01', includedUnits: 100 }],
  },
  // monthly 30, setup 7
  pln_m2: { currency: 'USD', recurringFee: '30', setupFee: '7' },
  // yearly 365, requests at 0.001
  pln_y: {
    currency: 'USD',
    interval: 'year',
    recurringFee: '365',
    charges: [{ model: 'per_unit', dimension: 'requests', unitPrice: '0.001' }],
  },
};

interface Case {
  name: string;
  startedAt: number;
  plan: string;
  /** Plan changes recorded before the run. */
  changes?: Array<{ at: number; to: string }>;
  usage?: Array<{ hour: number; units: number }>;
  runAt: number;
  /** Per invoice: period start, end (ISO days or instants) and lines [kind, quantity, amount], total. */
  invoices: Array<{ start: number; end: number; lines: Array<[string, string, string]>; total: string }>;
}

const CASES: Case[] = [
  {
    // Change at exactly the start of period 2 (1 Feb 00:00): February is entirely on pln_m2,
    // which starts in that period → its setup fee 7 is due, plus 30 recurring = 37.00.
    // January on pln_m: setup 5 + 10 = 15.00.
    name: 'plan change exactly at a period boundary charges the new setup fee',
    startedAt: U(2026, 0, 1),
    plan: 'pln_m',
    changes: [{ at: U(2026, 1, 1), to: 'pln_m2' }],
    runAt: U(2026, 2, 1),
    invoices: [
      {
        start: U(2026, 0, 1),
        end: U(2026, 1, 1),
        lines: [
          ['setup', '1', '5.00'],
          ['recurring', '1', '10.00'],
          ['usage', '0', '0.00'],
        ],
        total: '15.00',
      },
      {
        start: U(2026, 1, 1),
        end: U(2026, 2, 1),
        lines: [
          ['setup', '1', '7.00'],
          ['recurring', '1', '30.00'],
        ],
        total: '37.00',
      },
    ],
  },
  {
    // Yearly from 1 Jan 2026 (365 days), → monthly on 16 Mar 2026 00:00.
    // Yearly period cut at the change: 1 Jan → 16 Mar = 74 days; 365 × 74/365 = 74.00;
    // 2,000 requests in it at 0.001 = 2.00 → 76.00.
    // Monthly periods now begin at the change: 16 Mar → 16 Apr: setup 5 + 10 + 250 requests
    // (100 included, 150 × 0.01 = 1.50) = 16.50; 16 Apr → 16 May: 10 + 0 = 10.00.
    name: 'yearly → monthly: the year is cut at the change, monthly periods start at the change',
    startedAt: U(2026, 0, 1),
    plan: 'pln_y',
    changes: [{ at: U(2026, 2, 16), to: 'pln_m' }],
    usage: [
      { hour: U(2026, 1, 1), units: 2000 },
      { hour: U(2026, 2, 20), units: 250 },
    ],
    runAt: U(2026, 4, 20),
    invoices: [
      {
        start: U(2026, 0, 1),
        end: U(2026, 2, 16),
        lines: [
          ['recurring', '0.20274', '74.00'],
          ['usage', '2000', '2.00'],
        ],
        total: '76.00',
      },
      {
        start: U(2026, 2, 16),
        end: U(2026, 3, 16),
        lines: [
          ['setup', '1', '5.00'],
          ['recurring', '1', '10.00'],
          ['usage', '250', '1.50'],
        ],
        total: '16.50',
      },
      {
        start: U(2026, 3, 16),
        end: U(2026, 4, 16),
        lines: [
          ['recurring', '1', '10.00'],
          ['usage', '0', '0.00'],
        ],
        total: '10.00',
      },
    ],
  },
  {
    // Monthly → yearly on 11 Jan 2026 12:00: January period cut there, 10.5 of 31 days of
    // 10 = 3.387… → 3.39 (+ setup 5); the year runs 11 Jan 2026 12:00 → 11 Jan 2027 12:00.
    name: 'monthly → yearly: the month is cut at the change, the year starts at it',
    startedAt: U(2026, 0, 1),
    plan: 'pln_m',
    changes: [{ at: U(2026, 0, 11, 12), to: 'pln_y' }],
    runAt: U(2027, 0, 12),
    invoices: [
      {
        start: U(2026, 0, 1),
        end: U(2026, 0, 11, 12),
        lines: [
          ['setup', '1', '5.00'],
          ['recurring', '0.33871', '3.39'],
          ['usage', '0', '0.00'],
        ],
        total: '8.39',
      },
      {
        start: U(2026, 0, 11, 12),
        end: U(2027, 0, 11, 12),
        lines: [
          ['recurring', '1', '365.00'],
          ['usage', '0', '0.00'],
        ],
        total: '365.00',
      },
    ],
  },
];

for (const kind of await testStores()) {
  describe(`billing runs, hand-worked, on ${kind.name}`, () => {
    let store: Store;
    let billing: Billing;
    let catalog: Catalog;
    const clock = new ManualClock(U(2025, 0, 1));

    beforeAll(async () => {
      store = await kind.open();
      await fx.provider(store);
      for (const p of Object.keys(PRICES)) await fx.plan(store, p);
      await fx.consumer(store, 'con_a');
      billing = createBilling({ store, clock, log: silentLogger });
      catalog = createCatalog({ store, clock, log: silentLogger, onChange: () => {} });
      for (const [p, price] of Object.entries(PRICES)) await billing.setPrice(p, price, 'test');
    });
    afterAll(async () => {
      await billing.close();
      await store.close();
    });

    CASES.forEach((c, i) => {
      it(c.name, async () => {
        const id = `sub_case${i}`;
        clock.set(c.startedAt);
        await fx.subscription(store, { id, consumerId: 'con_a', planId: c.plan, startedAt: c.startedAt });
        let plan = c.plan;
        for (const ch of c.changes ?? []) {
          await billing.recordPlanChange({ subscriptionId: id, toPlanId: ch.to, at: ch.at });
          plan = ch.to;
        }
        await store.db.updateTable('subscriptions').set({ plan_id: plan }).where('id', '=', id).execute();
        await fx.usage(
          store,
          (c.usage ?? []).map((u) => ({
            subscription_id: id,
            key_id: 'key_1',
            api_id: 'api_1',
            dimension: 'requests',
            hour: u.hour,
            units: u.units,
            requests: u.units,
          })),
        );
        clock.set(c.runAt);
        await billing.run({ subscriptionId: id });
        expect(await invoicesOf(id)).toEqual(
          c.invoices.map((inv) => ({
            start: new Date(inv.start).toISOString(),
            end: new Date(inv.end).toISOString(),
            lines: inv.lines,
            total: inv.total,
          })),
        );
      });
    });

    it('time spent pending is not billed: periods start when the subscription becomes active', async () => {
      // Created pending on 1 Mar 2026, activated 11 Mar 2026 00:00 → the first period is
      // 11 Mar → 11 Apr on pln_m2: setup 7 + 30 = 37.00, nothing for 1–11 Mar.
      clock.set(U(2026, 2, 1));
      const sub = await catalog.subscriptions.create(op, {
        consumerId: 'con_a',
        planId: 'pln_m2',
        status: 'pending',
      });
      clock.set(U(2026, 2, 11));
      await catalog.subscriptions.update(op, sub.id, { status: 'active' });
      clock.set(U(2026, 3, 12));
      await billing.run({ subscriptionId: sub.id });
      expect(await invoicesOf(sub.id)).toEqual([
        {
          start: '2026-03-11T00:00:00.000Z',
          end: '2026-04-11T00:00:00.000Z',
          lines: [
            ['setup', '1', '7.00'],
            ['recurring', '1', '30.00'],
          ],
          total: '37.00',
        },
      ]);
      expect((await catalog.subscriptions.get(op, sub.id)).startedAt).toBe('2026-03-11T00:00:00.000Z');
    });

    async function invoicesOf(subscriptionId: string) {
      const page = await billing.listInvoices({ subscriptionId });
      const out = [];
      for (const s of page.items) {
        const inv = await billing.getInvoice(s.id);
        out.push({
          start: inv.periodStart,
          end: inv.periodEnd,
          lines: inv.lines.map((l) => [l.kind, l.quantity, l.amount] as [string, string, string]),
          total: inv.total,
        });
      }
      return out;
    }
  });
}
