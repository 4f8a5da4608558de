/**
 * The billing cycle on a real store (SQLite and PostgreSQL) with a manual clock: settle
 * delay, review window, catch-up after downtime (oldest first, once), the lease that lets
 * exactly one scheduler run, and what a cycle reports.
 */
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Billing, createBilling, type InvoiceSummary } from '../../src/billing/index.js';
import { type BillingScheduler, createBillingScheduler } from '../../src/billing/scheduler.js';
import { ManualClock, silentLogger } from '../../src/shared/index.js';
import type { Store } from '../../src/store/index.js';
import { createWebhooks } from '../../src/webhooks/index.js';
import { testOutbound } from '../helpers/outbound.js';
import { testStores } from '../helpers/stores.js';
import * as fx from './fixtures.js';

const U = Date.UTC;
const MIN = 60_000;
const HOUR = 60 * MIN;

for (const kind of await testStores()) {
  describe(`billing scheduler on ${kind.name}`, () => {
    let store: Store;
    let billing: Billing;
    const clock = new ManualClock(U(2026, 0, 1));
    const finalized: InvoiceSummary[] = [];
    const schedulers: BillingScheduler[] = [];

    function scheduler(holder: string, registry?: Registry): BillingScheduler {
      const s = createBillingScheduler(
        { store, clock, log: silentLogger, billing, ...(registry ? { registry } : {}) },
        { intervalMs: 60_000, settleMs: HOUR, reviewMs: HOUR, holder, leaseMs: 10 * MIN },
      );
      schedulers.push(s);
      return s;
    }

    beforeAll(async () => {
      store = await kind.open();
      await fx.provider(store);
      await fx.plan(store, 'pln_m');
      await fx.consumer(store, 'con_a');
      const webhooks = createWebhooks({ outbound: testOutbound(), store, clock, log: silentLogger });
      await webhooks.addEndpoint('prv_acme', { url: 'http://127.0.0.1:9/never-called' });
      billing = createBilling({ store, clock, log: silentLogger, webhooks });
      billing.onFinalized((inv) => {
        finalized.push(inv);
      });
      await billing.setPrice(
        'pln_m',
        {
          currency: 'USD',
          recurringFee: '10',
          charges: [{ model: 'per_unit', dimension: 'requests', unitPrice: '0.01' }],
        },
        'test',
      );
      await fx.subscription(store, {
        id: 'sub_a',
        consumerId: 'con_a',
        planId: 'pln_m',
        startedAt: U(2026, 0, 1),
      });
    });
    afterAll(async () => {
      for (const s of schedulers) await s.stop();
      await billing.close();
      await store.close();
    });

    it('waits the settle delay, then invoices; finalizes after the review window, once', async () => {
      const registry = new Registry();
      const a = scheduler('node-a', registry);
      clock.set(U(2026, 1, 1) + 59 * MIN); // January ended 59 min ago: late usage may still come
      await fx.usage(store, [
        {
          subscription_id: 'sub_a',
          key_id: 'key_1',
          api_id: 'api_1',
          dimension: 'requests',
          hour: U(2026, 0, 31, 23),
          units: 250,
          requests: 250,
        },
      ]);
      expect(await a.cycle()).toMatchObject({ leader: true, created: 0, finalized: 0 });
      clock.set(U(2026, 1, 1) + HOUR);
      const c1 = await a.cycle();
      expect(c1).toMatchObject({ leader: true, created: 1, finalized: 0, failed: 0 });
      const [inv] = (await billing.listInvoices({ subscriptionId: 'sub_a' })).items;
      // 10.00 + 250 × 0.01 = 12.50, the late hour included
      expect(inv).toMatchObject({ status: 'draft', total: '12.50' });
      clock.advance(HOUR - 1);
      expect((await a.cycle()).finalized).toBe(0);
      clock.advance(1);
      expect(await a.cycle()).toMatchObject({ created: 0, finalized: 1 });
      expect((await billing.getInvoice(inv!.id)).status).toBe('open');
      expect(finalized.map((i) => i.id)).toEqual([inv!.id]);
      expect((await a.cycle()).finalized).toBe(0);
      const events = await store.db
        .selectFrom('webhook_outbox')
        .select('type')
        .where('type', '=', 'invoice.finalized')
        .execute();
      expect(events).toHaveLength(1);
      const text = await registry.metrics();
      expect(text).toMatch(/tollgate_billing_invoices_created_total 1\b/);
      expect(text).toMatch(/tollgate_billing_invoices_finalized_total 1\b/);
      expect(text).toMatch(/tollgate_billing_lease_held 1\b/);
      await a.stop();
    });

    it('after downtime, catches up every missed period oldest first, once', async () => {
      // the process stopped after February was invoiced… and comes back on 2 May
      clock.set(U(2026, 4, 2));
      const b = scheduler('node-b');
      const c = await b.cycle();
      expect(c).toMatchObject({ leader: true, created: 3 });
      const items = (await billing.listInvoices({ subscriptionId: 'sub_a' })).items;
      expect(items.map((i) => [i.number, i.periodStart.slice(0, 10)])).toEqual([
        ['INV-000001', '2026-01-01'],
        ['INV-000002', '2026-02-01'],
        ['INV-000003', '2026-03-01'],
        ['INV-000004', '2026-04-01'],
      ]);
      expect((await b.cycle()).created).toBe(0);
      await b.stop();
    });

    it('only the lease holder runs; a stopped holder hands over, a dead one expires', async () => {
      const x = scheduler('node-x');
      const y = scheduler('node-y');
      const [rx, ry] = await Promise.all([x.cycle(), y.cycle()]);
      expect([rx.leader, ry.leader].filter(Boolean)).toHaveLength(1);
      const leader = rx.leader ? x : y;
      const other = rx.leader ? y : x;
      expect((await other.cycle()).leader).toBe(false);
      expect((await leader.cycle()).leader).toBe(true); // renews its own lease
      // the leader dies without releasing: the other takes over once the lease expired
      clock.advance(10 * MIN - 1);
      expect((await other.cycle()).leader).toBe(false);
      clock.advance(1);
      expect((await other.cycle()).leader).toBe(true);
      expect((await leader.cycle()).leader).toBe(false);
      await other.stop(); // releases: the first one may take it at once
      expect((await leader.cycle()).leader).toBe(true);
    });
  });
}
