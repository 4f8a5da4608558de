/**
 * A provider moves a subscription to another of its plans mid-period over the admin API;
 * the next billing run prorates the monthly fees at that instant. Bad changes are refused
 * with the field named. Real socket, SQLite and PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM } from '../../../src/catalog/index.js';
import { testStores } from '../../helpers/stores.js';
import { DAY, type Harness, startHarness, T0 } from './harness.js';

const APRIL = Date.UTC(2026, 3, 1);

for (const kind of await testStores()) {
  describe(`billing admin API: plan change (${kind.name})`, () => {
    let h: Harness;
    let bigPlan: string;

    beforeAll(async () => {
      h = await startHarness(kind);
      bigPlan = (await h.catalog.plans.create(SYSTEM, { providerId: h.a.providerId, name: 'Acme Max' })).id;
      await h.billing.setPrice(h.a.planId, { currency: 'USD', recurringFee: '31' }, 'test');
      await h.billing.setPrice(bigPlan, { currency: 'USD', recurringFee: '62' }, 'test');
    });
    afterAll(async () => {
      await h?.close();
    });

    it('refuses bad changes, naming the field', async () => {
      const path = `/subscriptions/${h.a.subscriptionId}/plan-change`;
      h.clock.set(T0 + 10 * DAY);
      const future = await h.call('POST', path, {
        token: h.a.token,
        body: { toPlanId: bigPlan, at: T0 + 20 * DAY },
      });
      expect(future.status).toBe(400);
      expect(future.body.errors).toEqual([{ field: 'at', message: 'must not be in the future' }]);

      const foreign = await h.call('POST', path, { token: h.a.token, body: { toPlanId: h.b.planId } });
      expect(foreign.status).toBe(400);
      expect(foreign.body.errors[0].field).toBe('toPlanId');

      const same = await h.call('POST', path, { token: h.a.token, body: { toPlanId: h.a.planId } });
      expect(same.status).toBe(400);
      expect(same.body.errors[0].field).toBe('toPlanId');

      const unknown = await h.call('POST', path, { token: h.a.token, body: { toPlanId: bigPlan, when: 1 } });
      expect(unknown.status).toBe(400);
      expect(unknown.body.errors).toEqual([{ field: 'when', message: 'unknown field' }]);

      const before = await h.call('POST', path, {
        token: h.a.token,
        body: { toPlanId: bigPlan, at: new Date(T0 - DAY).toISOString() },
      });
      expect(before.status).toBe(400);
      expect(before.body.errors[0].field).toBe('at');

      // Bolt cannot touch Acme's subscription
      expect((await h.call('POST', path, { token: h.b.token, body: { toPlanId: bigPlan } })).status).toBe(
        404,
      );
      expect((await h.catalog.subscriptions.get(SYSTEM, h.a.subscriptionId)).planId).toBe(h.a.planId);
    });

    it('changes the plan back-dated to the 11th and the run prorates both fees', async () => {
      h.clock.set(T0 + 15 * DAY);
      const at = new Date(T0 + 10 * DAY).toISOString(); // 2026-03-11T00:00Z
      const r = await h.call('POST', `/subscriptions/${h.a.subscriptionId}/plan-change`, {
        token: h.a.token,
        body: { toPlanId: bigPlan, at },
      });
      expect(r.status).toBe(200);
      expect(r.body).toEqual({
        subscriptionId: h.a.subscriptionId,
        fromPlanId: h.a.planId,
        toPlanId: bigPlan,
        at,
      });
      expect((await h.catalog.subscriptions.get(SYSTEM, h.a.subscriptionId)).planId).toBe(bigPlan);
      expect(h.changes).toContainEqual({ entity: 'subscription', id: h.a.subscriptionId, action: 'update' });

      // the same instant again is a conflict
      const again = await h.call('POST', `/subscriptions/${h.a.subscriptionId}/plan-change`, {
        token: h.a.token,
        body: { toPlanId: h.a.planId, at },
      });
      expect(again.status).toBe(409);

      h.clock.set(APRIL + 1);
      const run = await h.call('POST', '/billing/runs', {
        token: h.a.token,
        body: { subscriptionId: h.a.subscriptionId },
      });
      expect(run.body.created).toBe(1);
      const inv = await h.call('GET', `/invoices/${run.body.invoiceIds[0]}`, { token: h.a.token });
      // March has 31 days: 10 days on Pro (31 × 10/31 = 10.00), 21 on Max (62 × 21/31 = 42.00)
      expect(inv.body.lines.map((l: { amount: string }) => l.amount)).toEqual(['10.00', '42.00']);
      expect(inv.body.total).toBe('52.00');
    });

    it('refuses a change inside an invoiced period', async () => {
      const r = await h.call('POST', `/subscriptions/${h.a.subscriptionId}/plan-change`, {
        token: h.a.token,
        body: { toPlanId: h.a.planId, at: T0 + 20 * DAY },
      });
      expect(r.status).toBe(409);
      expect(r.body.code).toBe('INVALID_STATE');
      expect((await h.catalog.subscriptions.get(SYSTEM, h.a.subscriptionId)).planId).toBe(bigPlan);
    });
  });
}
