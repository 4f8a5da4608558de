/**
 * Re-issuing a void invoice and estimating the upcoming one, on SQLite and PostgreSQL (the
 * migration that lets a replacement cover a void invoice's period runs on both).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Billing, createBilling } from '../../src/billing/index.js';
import { ManualClock, silentLogger } from '../../src/shared/index.js';
import type { Store } from '../../src/store/index.js';
import { testStores } from '../helpers/stores.js';
import * as fx from './fixtures.js';

const U = Date.UTC;
const hourOf = (t: number, units: number) => ({
  subscription_id: 'sub_a',
  key_id: 'key_1',
  api_id: 'api_1',
  dimension: 'requests',
  hour: t,
  units,
  requests: units,
});

for (const kind of await testStores()) {
  describe(`invoice lifecycle on ${kind.name}`, () => {
    let store: Store;
    let billing: Billing;
    const clock = new ManualClock(U(2026, 0, 1));

    beforeAll(async () => {
      store = await kind.open();
      await fx.provider(store);
      await fx.plan(store, 'pln_m');
      await fx.consumer(store, 'con_a');
      billing = createBilling({ store, clock, log: silentLogger });
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
      await billing.close();
      await store.close();
    });

    it('estimates the running period from the usage so far, and says it is running', async () => {
      await fx.usage(store, [hourOf(U(2026, 0, 5, 10), 100)]);
      clock.set(U(2026, 0, 20));
      const e = await billing.estimate('sub_a');
      // 10.00 + 100 × 0.01 = 11.00 so far, for 1 Jan → 1 Feb
      expect(e).toMatchObject({
        periodStart: '2026-01-01T00:00:00.000Z',
        periodEnd: '2026-02-01T00:00:00.000Z',
        running: true,
        total: '11.00',
      });
    });

    it('re-issues a void invoice once, rated from the usage as it is now, and keeps drafts from buyers', async () => {
      clock.set(U(2026, 1, 1, 2));
      const run = await billing.run();
      expect(run.created).toBe(1);
      const first = (await billing.listInvoices({ subscriptionId: 'sub_a' })).items[0]!;
      expect(first.total).toBe('11.00');
      expect((await billing.listInvoices({ subscriptionId: 'sub_a' }, { issued: true })).items).toEqual([]);
      await expect(billing.reissue(first.id, 'test')).rejects.toThrow(/is draft; only a void invoice/);

      await billing.finalize(first.id);
      await billing.void(first.id, 'test', { reason: 'usage of 31 Jan was late' });
      await fx.usage(store, [hourOf(U(2026, 0, 31, 23), 50)]); // the corrected usage arrives
      const again = await billing.reissue(first.id, 'person@example.com');
      expect(again).toMatchObject({
        status: 'draft',
        number: 'INV-000002',
        reissueOf: first.id,
        periodStart: first.periodStart,
        periodEnd: first.periodEnd,
        total: '11.50',
      });
      await expect(billing.reissue(first.id, 'test')).rejects.toThrow(/already re-issued as INV-000002/);
      // the scheduled run never bills the period a third time
      expect((await billing.run()).created).toBe(0);
      const audit = await store.db
        .selectFrom('audit_log')
        .select(['actor', 'entity_id'])
        .where('action', '=', 'invoice.reissue')
        .execute();
      expect(audit).toEqual([{ actor: 'person@example.com', entity_id: first.id }]);
      // the buyer sees the finalized (then void) invoice, not the new draft
      const issued = await billing.listInvoices({ subscriptionId: 'sub_a' }, { issued: true });
      expect(issued.items.map((i) => [i.number, i.status])).toEqual([['INV-000001', 'void']]);
      // the next estimate is February, after the re-issued January
      expect(await billing.estimate('sub_a')).toMatchObject({ periodStart: '2026-02-01T00:00:00.000Z' });
    });

    it('still refuses a second invoice that is not void for one period', async () => {
      const [, second] = (await billing.listInvoices({ subscriptionId: 'sub_a' })).items;
      const row = await store.db
        .selectFrom('invoices')
        .selectAll()
        .where('id', '=', second!.id)
        .executeTakeFirstOrThrow();
      await expect(
        store.db
          .insertInto('invoices')
          .values({ ...row, id: 'inv_dup', number: 'INV-999999', seq: 999_999 })
          .execute(),
      ).rejects.toThrow(/invoices_subscription_period|UNIQUE constraint failed: invoices\.subscription_id/);
    });
  });
}
