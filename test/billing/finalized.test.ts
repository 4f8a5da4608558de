/**
 * The one finalize path: `billing.finalize` and runs with `finalize: true` both tell every
 * `onFinalized` listener, once, after commit; a failing listener does not undo anything.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Billing, createBilling, type InvoiceSummary } from '../../src/billing/index.js';
import { ManualClock, silentLogger } from '../../src/shared/index.js';
import type { Store } from '../../src/store/index.js';
import { testStores } from '../helpers/stores.js';
import * as fx from './fixtures.js';

const U = Date.UTC;

for (const kind of await testStores()) {
  describe(`onFinalized on ${kind.name}`, () => {
    let store: Store;
    let billing: Billing;
    const clock = new ManualClock(U(2026, 0, 1));

    beforeAll(async () => {
      store = await kind.open();
      await fx.provider(store);
      await fx.plan(store, 'pln_basic');
      await fx.consumer(store, 'con_a');
      billing = createBilling({ store, clock, log: silentLogger });
      await billing.setPrice('pln_basic', { currency: 'USD', recurringFee: '10' }, 'tok_admin');
      await fx.subscription(store, {
        id: 'sub_a',
        consumerId: 'con_a',
        planId: 'pln_basic',
        startedAt: U(2026, 0, 1),
      });
      await fx.subscription(store, {
        id: 'sub_b',
        consumerId: 'con_a',
        planId: 'pln_basic',
        startedAt: U(2026, 0, 1),
      });
    });
    afterAll(async () => {
      await billing.close();
      await store.close();
    });

    it('tells listeners about finalize() and finalize-on-run, after commit, once each', async () => {
      const seen: InvoiceSummary[] = [];
      const statusAtCall: string[] = [];
      billing.onFinalized(() => {
        throw new Error('a broken listener');
      });
      const off = billing.onFinalized(async (inv) => {
        seen.push(inv);
        // committed: a fresh read sees the invoice open
        statusAtCall.push((await billing.getInvoice(inv.id)).status);
      });
      clock.set(U(2026, 1, 2));
      const draft = await billing.run({ subscriptionId: 'sub_a' });
      expect(seen).toHaveLength(0);
      const inv = await billing.finalize(draft.invoiceIds[0]!, 'tok_admin');
      expect(inv.status).toBe('open');
      await expect(billing.finalize(inv.id)).rejects.toMatchObject({ code: 'INVALID_STATE' });
      const run = await billing.run({ subscriptionId: 'sub_b', finalize: true });
      expect(run.created).toBe(1);
      expect(seen.map((i) => [i.id, i.status])).toEqual([
        [inv.id, 'open'],
        [run.invoiceIds[0], 'open'],
      ]);
      expect(statusAtCall).toEqual(['open', 'open']);
      off();
      clock.set(U(2026, 2, 2));
      await billing.run({ finalize: true });
      expect(seen).toHaveLength(2);
    });
  });
}
