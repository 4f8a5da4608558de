/**
 * Hand-worked billing-run cases on a real store (SQLite and PostgreSQL): each row says what
 * happened to a subscription and, in its comment, the arithmetic a person would do; the
 * invoices a run writes must match to the cent. Started with the three rating bugs found
 * while making billing run by itself (boundary plan change, yearly → monthly, pending time).
 */
import { Decimal } from 'decimal.js';
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
  // characters at 0.00002 (USD 0.02 per 1,000), 1,000 included
  pln_chars: {
    currency: 'USD',
    charges: [{ model: 'per_unit', dimension: 'characters', unitPrice: '0.00002', includedUnits: 1000 }],
  },
  // packages of 1,000 requests at 2.50, 500 included
  pln_pkg: {
    currency: 'USD',
    charges: [
      {
        model: 'package',
        dimension: 'requests',
        packageSize: 1000,
        packagePrice: '2.50',
        includedUnits: 500,
      },
    ],
  },
  // graduated: 1–1,000 at 0.01, 1,001–10,000 at 0.005 (+ 1.00 flat once reached), then 0.001
  pln_grad: {
    currency: 'USD',
    charges: [
      {
        model: 'graduated',
        dimension: 'requests',
        tiers: [
          { upTo: 1000, unitPrice: '0.01' },
          { upTo: 10000, unitPrice: '0.005', flatFee: '1' },
          { upTo: null, unitPrice: '0.001' },
        ],
      },
    ],
  },
  // requests at 0.05 with a minimum of 20 a month
  pln_min: {
    currency: 'USD',
    charges: [{ model: 'per_unit', dimension: 'requests', unitPrice: '0.05', minimum: '20' }],
  },
  // requests at 0.01, capped at 5 a month; JPY volume tiers for zero-decimal rounding
  pln_cap: {
    currency: 'USD',
    charges: [{ model: 'per_unit', dimension: 'requests', unitPrice: '0.01', maximum: '5' }],
  },
  pln_jpy_vol: {
    currency: 'JPY',
    charges: [
      {
        model: 'volume',
        dimension: 'requests',
        tiers: [
          { upTo: 1000, unitPrice: '0.5' },
          { upTo: null, unitPrice: '0.3', flatFee: '100' },
        ],
      },
    ],
  },
};

interface Case {
  name: string;
  startedAt: number;
  plan: string;
  /** Plan changes recorded before the run. */
  changes?: Array<{ at: number; to: string }>;
  usage?: Array<{ hour: number; units: number }>;
  /** The dimension the usage is metered in (default requests). */
  dimension?: string;
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
          ['usage', '100', '0.00'],
          ['usage', '150', '1.50'],
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
  {
    // 12,345 characters, 1,000 included: 11,345 billed × USD 0.02 per 1,000 = 0.2269 → 0.23.
    name: 'per unit with included units: the included units on a line of their own, the price per 1,000',
    startedAt: U(2026, 0, 1),
    plan: 'pln_chars',
    dimension: 'characters',
    usage: [{ hour: U(2026, 0, 5), units: 12_345 }],
    runAt: U(2026, 1, 2),
    invoices: [
      {
        start: U(2026, 0, 1),
        end: U(2026, 1, 1),
        lines: [
          ['usage', '1000', '0.00'],
          ['usage', '11345', '0.23'],
        ],
        total: '0.23',
      },
    ],
  },
  {
    // 2,600 requests, 500 included → 2,100 billed → 3 started packages of 1,000 × 2.50 = 7.50.
    name: 'package: package count × package price',
    startedAt: U(2026, 0, 1),
    plan: 'pln_pkg',
    usage: [{ hour: U(2026, 0, 5), units: 2600 }],
    runAt: U(2026, 1, 2),
    invoices: [
      {
        start: U(2026, 0, 1),
        end: U(2026, 1, 1),
        lines: [
          ['usage', '500', '0.00'],
          ['usage', '2100', '7.50'],
        ],
        total: '7.50',
      },
    ],
  },
  {
    // 12,500 requests: 1,000 × 0.01 = 10.00; 9,000 × 0.005 = 45.00 and the tier's flat 1.00;
    // 2,500 × 0.001 = 2.50 → 58.50, one line per tier.
    name: 'graduated: one line per tier, the flat fee on its own line',
    startedAt: U(2026, 0, 1),
    plan: 'pln_grad',
    usage: [{ hour: U(2026, 0, 5), units: 12_500 }],
    runAt: U(2026, 1, 2),
    invoices: [
      {
        start: U(2026, 0, 1),
        end: U(2026, 1, 1),
        lines: [
          ['usage', '1000', '10.00'],
          ['usage', '9000', '45.00'],
          ['usage', '0', '1.00'],
          ['usage', '2500', '2.50'],
        ],
        total: '58.50',
      },
    ],
  },
  {
    // January: 123 × 0.05 = 6.15, minimum 20 → a true-up of 13.85.
    // 1 Feb → 15 Feb 00:00 (plan change): minimum 20 × 14/28 days = 10.00; 40 × 0.05 = 2.00
    // → true-up 8.00; the rest of February on pln_m2: setup 7 + 30 × 14/28 = 15.00 → 22.00.
    name: 'minimum: a separate true-up line, prorated with the share of the period',
    startedAt: U(2026, 0, 1),
    plan: 'pln_min',
    changes: [{ at: U(2026, 1, 15), to: 'pln_m2' }],
    usage: [
      { hour: U(2026, 0, 5), units: 123 },
      { hour: U(2026, 1, 3), units: 40 },
    ],
    runAt: U(2026, 2, 2),
    invoices: [
      {
        start: U(2026, 0, 1),
        end: U(2026, 1, 1),
        lines: [
          ['usage', '123', '6.15'],
          ['minimum', '0', '13.85'],
        ],
        total: '20.00',
      },
      {
        start: U(2026, 1, 1),
        end: U(2026, 2, 1),
        lines: [
          ['usage', '40', '2.00'],
          ['minimum', '0', '8.00'],
          ['setup', '1', '7.00'],
          ['recurring', '0.5', '15.00'],
        ],
        total: '32.00',
      },
    ],
  },
  {
    // 800 × 0.01 = 8.00, capped at 5 → a cap line of −3.00.
    name: 'maximum: a separate cap line brings the charge down to its cap',
    startedAt: U(2026, 0, 1),
    plan: 'pln_cap',
    usage: [{ hour: U(2026, 0, 5), units: 800 }],
    runAt: U(2026, 1, 2),
    invoices: [
      {
        start: U(2026, 0, 1),
        end: U(2026, 1, 1),
        lines: [
          ['usage', '800', '8.00'],
          ['maximum', '0', '-3.00'],
        ],
        total: '5.00',
      },
    ],
  },
  {
    // JPY, volume: 1,235 requests reach the second tier: all 1,235 × 0.3 = 370.5 → 371 (half
    // up to whole yen), plus the tier's flat 100 → 471.
    name: 'volume in JPY: every unit at the tier reached, rounded to whole yen',
    startedAt: U(2026, 0, 1),
    plan: 'pln_jpy_vol',
    usage: [{ hour: U(2026, 0, 5), units: 1235 }],
    runAt: U(2026, 1, 2),
    invoices: [
      {
        start: U(2026, 0, 1),
        end: U(2026, 1, 1),
        lines: [
          ['usage', '1235', '371'],
          ['usage', '0', '100'],
        ],
        total: '471',
      },
    ],
  },
];

/** quantity × price / per, rounded half up to the minor unit: what a buyer's calculator says. */
function byHand(calc: { quantity: string; price: string; per: number }, amount: string): string {
  const [n, d] = calc.quantity.split('/');
  const q = d === undefined ? new Decimal(n!) : new Decimal(n!).div(d);
  const decimals = amount.includes('.') ? amount.split('.')[1]!.length : 0;
  return q.times(calc.price).div(calc.per).toFixed(decimals, Decimal.ROUND_HALF_UP);
}

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
            dimension: c.dimension ?? 'requests',
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
        // every line reconciles by hand, and the lines add up to the total
        for (const l of inv.lines) expect(byHand(l.calc!, l.amount), l.description).toBe(l.amount);
        const sum = inv.lines.reduce((a, l) => a.plus(l.amount), new Decimal(0));
        expect(sum.eq(inv.total)).toBe(true);
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
