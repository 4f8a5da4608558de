/**
 * The billing service on a real store (SQLite and PostgreSQL): prices, runs, the invoice
 * status machine, numbering, events, previews, documents.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Billing, createBilling } from '../../src/billing/index.js';
import { ManualClock, silentLogger } from '../../src/shared/index.js';
import type { Store } from '../../src/store/index.js';
import { createWebhooks } from '../../src/webhooks/index.js';
import { testOutbound } from '../helpers/outbound.js';
import { testStores } from '../helpers/stores.js';
import * as fx from './fixtures.js';

const U = Date.UTC;
const H = 3_600_000;

for (const kind of await testStores()) {
  describe(`billing service on ${kind.name}`, () => {
    let store: Store;
    let billing: Billing;
    const clock = new ManualClock(U(2026, 0, 1));

    beforeAll(async () => {
      store = await kind.open();
      await fx.provider(store);
      await fx.provider(store, 'prv_other', 'Other');
      await fx.plan(store, 'pln_basic', 'prv_acme', 'Basic');
      await fx.plan(store, 'pln_pro', 'prv_acme', 'Pro');
      await fx.plan(store, 'pln_free', 'prv_acme', 'Free (no price)');
      await fx.plan(store, 'pln_jpy', 'prv_other', 'Yen');
      await fx.consumer(store, 'con_a', 'Buyer <A> & "Co"', 'a@example.com');
      const webhooks = createWebhooks({ outbound: testOutbound(), store, clock, log: silentLogger });
      await webhooks.addEndpoint('prv_acme', { url: 'http://127.0.0.1:9/never-called' });
      billing = createBilling({ store, clock, log: silentLogger, webhooks });
    });
    afterAll(async () => {
      await billing.close();
      await store.close();
    });

    it('sets prices as versions, validates and audits them', async () => {
      expect(await billing.getPrice('pln_basic')).toBeNull();
      const v1 = await billing.setPrice(
        'pln_basic',
        {
          currency: 'USD',
          recurringFee: '10',
          setupFee: '5',
          charges: [{ model: 'per_unit', dimension: 'requests', unitPrice: '0.001', includedUnits: 1000 }],
        },
        'tok_admin',
      );
      expect(v1).toMatchObject({ planId: 'pln_basic', version: 1 });
      clock.advance(1000);
      const v2 = await billing.setPrice(
        'pln_basic',
        {
          currency: 'USD',
          recurringFee: '20',
          charges: [{ model: 'per_unit', dimension: 'requests', unitPrice: '0.001', includedUnits: 1000 }],
        },
        'tok_admin',
      );
      expect(v2.version).toBe(2);
      expect((await billing.getPrice('pln_basic'))!.price.recurringFee).toBe('20');
      expect((await billing.priceHistory('pln_basic')).map((p) => p.version)).toEqual([1, 2]);
      const audit = await store.db
        .selectFrom('audit_log')
        .selectAll()
        .where('action', '=', 'price.set')
        .execute();
      expect(audit).toHaveLength(2);

      await expect(
        billing.setPrice('pln_basic', { currency: 'USD', recurringFee: '1.5.0' }, 'tok_admin'),
      ).rejects.toMatchObject({ code: 'VALIDATION_FAILED', issues: [{ field: 'recurringFee' }] });
      await expect(billing.setPrice('pln_nope', { currency: 'USD' }, 'tok_admin')).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
      await billing.setPrice(
        'pln_pro',
        {
          currency: 'USD',
          recurringFee: '100',
          charges: [{ model: 'per_unit', dimension: 'requests', unitPrice: '0.0005' }],
        },
        'tok_admin',
      );
      await billing.setPrice(
        'pln_jpy',
        {
          currency: 'JPY',
          recurringFee: '1000',
          charges: [{ model: 'per_unit', dimension: 'requests', unitPrice: '0.3' }],
        },
        'tok_admin',
      );
    });

    it('previews what usage would cost on a plan, without writing', async () => {
      const before = await store.db.selectFrom('invoices').select('id').execute();
      const p = await billing.preview('pln_basic', { requests: 5000, other: 3 });
      // 20.00 recurring + 1000 included + (5000 − 1000) × 0.001 = 4.00 + other not charged = 24.00
      expect(p.lines.map((l) => [l.kind, l.dimension, l.quantity, l.amount])).toEqual([
        ['recurring', null, '1', '20.00'],
        ['usage', 'requests', '1000', '0.00'],
        ['usage', 'requests', '4000', '4.00'],
        ['usage', 'other', '3', '0.00'],
      ]);
      // the billed line says how: 4,000 × USD 1.00 per 1,000 requests
      expect(p.lines[2]!.calc).toEqual({
        quantity: '4000',
        price: '1.00',
        per: 1000,
        unit: 'requests',
        note: '5,000 used, 1,000 included',
      });
      expect(p.total).toBe('24.00');
      expect(await store.db.selectFrom('invoices').select('id').execute()).toEqual(before);
      await expect(billing.preview('pln_free', {})).rejects.toMatchObject({ code: 'INVALID_STATE' });
      await expect(billing.preview('pln_basic', { requests: -1 })).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
        issues: [{ field: 'usage.requests' }],
      });
    });

    it('bills a month of usage: quantities equal the metered rows; running twice creates nothing', async () => {
      // started 31 Jan 2026 10:30 → first period ends 28 Feb 10:30; usage window
      // [31 Jan 10:00, 28 Feb 10:00) — the hour 28 Feb 10:00 belongs to the next period
      const start = U(2026, 0, 31, 10, 30);
      await fx.consumer(store, 'con_e2e', 'E2E');
      await fx.subscription(store, {
        id: 'sub_e2e',
        consumerId: 'con_e2e',
        planId: 'pln_basic',
        startedAt: start,
      });
      const rows: fx.UsageRow[] = [];
      let inWindow = 0;
      for (let h = U(2026, 0, 31, 8); h < U(2026, 2, 1); h += H) {
        for (const key of ['key_1', 'key_2']) {
          const units = ((h / H) % 7) + (key === 'key_1' ? 1 : 2);
          rows.push({
            subscription_id: 'sub_e2e',
            key_id: key,
            api_id: 'api_x',
            dimension: 'requests',
            hour: h,
            units,
            requests: units,
          });
          if (h >= U(2026, 0, 31, 10) && h < U(2026, 1, 28, 10)) inWindow += units;
        }
      }
      await fx.usage(store, rows);
      clock.set(U(2026, 1, 28, 10, 29));
      expect((await billing.run({ subscriptionId: 'sub_e2e' })).created).toBe(0); // not ended yet
      clock.set(U(2026, 2, 3));
      const r = await billing.run({ subscriptionId: 'sub_e2e' });
      expect(r.created).toBe(1);
      const inv = await billing.getInvoice(r.invoiceIds[0]!);
      expect(inv).toMatchObject({
        status: 'draft',
        periodStart: '2026-01-31T10:30:00.000Z',
        periodEnd: '2026-02-28T10:30:00.000Z',
        currency: 'USD',
      });
      // the included line and the billed line cover the metered units between them
      const usageLines = inv.lines.filter((l) => l.kind === 'usage');
      expect(usageLines.reduce((n, l) => n + Number(l.quantity), 0)).toBe(inWindow);
      expect(usageLines.map((l) => Number(l.quantity))).toEqual([1000, inWindow - 1000]);
      for (const usageLine of usageLines) {
        expect(usageLine.usageFrom).toBe('2026-01-31T10:00:00.000Z');
        expect(usageLine.usageTo).toBe('2026-02-28T10:00:00.000Z');
      }
      // v2 was in force at the period start (set before): 20.00, no setup fee (v2 has none)
      expect(inv.lines.map((l) => l.kind)).toEqual(['recurring', 'usage', 'usage']);
      const expected = 20 + Math.max(0, inWindow - 1000) * 0.001;
      expect(inv.total).toBe(expected.toFixed(2));
      expect((await billing.run({ subscriptionId: 'sub_e2e' })).created).toBe(0);
      expect((await billing.run()).invoiceIds).not.toContain(inv.id);
      const count = await store.db
        .selectFrom('invoices')
        .select('id')
        .where('subscription_id', '=', 'sub_e2e')
        .execute();
      expect(count).toHaveLength(1);
    });

    it('numbers invoices sequentially per provider and moves them through the status machine', async () => {
      await fx.subscription(store, {
        id: 'sub_jpy',
        consumerId: 'con_a',
        planId: 'pln_jpy',
        startedAt: U(2026, 0, 1),
      });
      await fx.subscription(store, {
        id: 'sub_seq',
        consumerId: 'con_a',
        planId: 'pln_pro',
        startedAt: U(2026, 0, 1),
      });
      clock.set(U(2026, 2, 2));
      const r = await billing.run();
      // sub_seq: Jan and Feb; sub_jpy: Jan and Feb (other provider); sub_e2e: nothing new
      expect(r.created).toBe(4);
      const acme = await billing.listInvoices({ providerId: 'prv_acme' });
      expect(acme.items.map((i) => i.number)).toEqual(['INV-000001', 'INV-000002', 'INV-000003']);
      const other = await billing.listInvoices({ providerId: 'prv_other' });
      expect(other.items.map((i) => [i.number, i.total])).toEqual([
        ['INV-000001', '1000'],
        ['INV-000002', '1000'],
      ]);
      const id = acme.items[1]!.id;
      await expect(billing.markPaid(id)).rejects.toMatchObject({ code: 'INVALID_STATE' });
      expect((await billing.finalize(id, 'tok_admin')).status).toBe('open');
      await expect(billing.finalize(id)).rejects.toMatchObject({ code: 'INVALID_STATE' });
      expect((await billing.markPaid(id)).status).toBe('paid');
      await expect(billing.void(id)).rejects.toMatchObject({ code: 'INVALID_STATE' });
      const other1 = other.items[0]!.id;
      expect((await billing.void(other1)).status).toBe('void');
      await expect(billing.getInvoice('inv_01ABCDEFGHJKMNPQRSTVWXYZ00')).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
      const events = await store.db
        .selectFrom('webhook_outbox')
        .select(['type', 'payload'])
        .where('provider_id', '=', 'prv_acme')
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      const types = events.map((e) => e.type);
      expect(types.filter((t) => t === 'invoice.created')).toHaveLength(3);
      expect(types).toContain('invoice.finalized');
      expect(types).toContain('invoice.paid');
      const paid = JSON.parse(events.find((e) => e.type === 'invoice.paid')!.payload);
      expect(paid.data).toMatchObject({ id, status: 'paid' });
    });

    it('pages and filters invoice lists', async () => {
      const p1 = await billing.listInvoices({ limit: 2 });
      expect(p1.items).toHaveLength(2);
      expect(p1.nextCursor).toBe(p1.items[1]!.id);
      const p2 = await billing.listInvoices({ limit: 2, cursor: p1.nextCursor! });
      const all = await billing.listInvoices({});
      expect([...p1.items, ...p2.items].map((i) => i.id)).toEqual(all.items.slice(0, 4).map((i) => i.id));
      expect((await billing.listInvoices({ status: 'paid' })).items).toHaveLength(1);
      expect((await billing.listInvoices({ consumerId: 'con_e2e' })).items).toHaveLength(1);
      await expect(billing.listInvoices({ status: 'lost' as 'paid' })).rejects.toMatchObject({
        issues: [{ field: 'status' }],
      });
    });

    it('trial: no recurring fee during the trial; setup fee on the first invoice', async () => {
      await fx.plan(store, 'pln_trial', 'prv_acme', 'Trial plan');
      clock.set(U(2026, 2, 1));
      await billing.setPrice(
        'pln_trial',
        { currency: 'USD', recurringFee: '31', setupFee: '9.99', trialDays: 10 },
        'tok_admin',
      );
      // March has 31 days; trial 1–11 March → 21 days charged: 31 × 21/31 = 21.00
      await fx.subscription(store, {
        id: 'sub_trial',
        consumerId: 'con_a',
        planId: 'pln_trial',
        startedAt: U(2026, 2, 1),
      });
      clock.set(U(2026, 3, 1));
      const r = await billing.run({ subscriptionId: 'sub_trial' });
      const inv = await billing.getInvoice(r.invoiceIds[0]!);
      expect(inv.lines.map((l) => [l.kind, l.amount])).toEqual([
        ['setup', '9.99'],
        ['recurring', '21.00'],
      ]);
      expect(inv.total).toBe('30.99');
      const pv = await billing.preview('pln_trial', {}, { includeSetupFee: true });
      expect(pv.lines.map((l) => [l.kind, l.amount])).toEqual([
        ['setup', '9.99'],
        ['recurring', '31.00'],
      ]);
    });

    it('plan change mid-period and cancellation: prorated by the second, usage split at the change hour', async () => {
      clock.set(U(2026, 3, 1));
      await fx.subscription(store, {
        id: 'sub_chg',
        consumerId: 'con_a',
        planId: 'pln_basic',
        startedAt: U(2026, 3, 1),
      });
      // April (30 days): Basic (20/month) until 11 Apr 00:00, then Pro (100/month)
      await billing.recordPlanChange({ subscriptionId: 'sub_chg', toPlanId: 'pln_pro', at: U(2026, 3, 11) });
      await store.db
        .updateTable('subscriptions')
        .set({ plan_id: 'pln_pro' })
        .where('id', '=', 'sub_chg')
        .execute();
      await fx.usage(store, [
        {
          subscription_id: 'sub_chg',
          key_id: 'k',
          api_id: 'a',
          dimension: 'requests',
          hour: U(2026, 3, 10, 23),
          units: 1500,
          requests: 1,
        },
        {
          subscription_id: 'sub_chg',
          key_id: 'k',
          api_id: 'a',
          dimension: 'requests',
          hour: U(2026, 3, 11, 0),
          units: 4000,
          requests: 1,
        },
        // May: cancelled 16 May 12:00 → the final period is 1 May → 16 May 12:00
        {
          subscription_id: 'sub_chg',
          key_id: 'k',
          api_id: 'a',
          dimension: 'requests',
          hour: U(2026, 4, 16, 11),
          units: 2000,
          requests: 1,
        },
      ]);
      await store.db
        .updateTable('subscriptions')
        .set({ status: 'cancelled', cancelled_at: U(2026, 4, 16, 12) })
        .where('id', '=', 'sub_chg')
        .execute();
      clock.set(U(2026, 5, 15));
      const r = await billing.run({ subscriptionId: 'sub_chg' });
      expect(r.created).toBe(2);
      const [april, may] = await Promise.all(r.invoiceIds.map((id) => billing.getInvoice(id)));
      expect(april!.lines.map((l) => [l.planId, l.kind, l.quantity, l.amount])).toEqual([
        ['pln_basic', 'recurring', '0.333333', '6.67'], // 20 × 10/30 = 6.666… → 6.67
        ['pln_basic', 'usage', '1000', '0.00'], // 1000 included
        ['pln_basic', 'usage', '500', '0.50'], // (1500 − 1000) × 0.001
        ['pln_pro', 'recurring', '0.666667', '66.67'], // 100 × 20/30 = 66.666… → 66.67
        ['pln_pro', 'usage', '4000', '2.00'], // 4000 × 0.0005
      ]);
      expect(april!.total).toBe('75.84');
      // May has 31 days; 15.5 days used: 100 × 15.5/31 = 50.00; 2000 × 0.0005 = 1.00
      expect(may!.periodEnd).toBe('2026-05-16T12:00:00.000Z');
      expect(may!.lines.map((l) => [l.kind, l.amount])).toEqual([
        ['recurring', '50.00'],
        ['usage', '1.00'],
      ]);
      // nothing after the cancellation, ever
      clock.set(U(2027, 0, 1));
      expect((await billing.run({ subscriptionId: 'sub_chg' })).created).toBe(0);
      await expect(
        billing.recordPlanChange({ subscriptionId: 'sub_chg', toPlanId: 'pln_basic', at: U(2026, 4, 2) }),
      ).rejects.toMatchObject({
        code: 'INVALID_STATE',
        message: expect.stringContaining('already invoiced'),
      });
      await fx.subscription(store, {
        id: 'sub_cur',
        consumerId: 'con_a',
        planId: 'pln_basic',
        startedAt: U(2026, 4, 1),
      });
      await expect(
        billing.recordPlanChange({ subscriptionId: 'sub_cur', toPlanId: 'pln_jpy', at: U(2026, 4, 2) }),
      ).rejects.toMatchObject({ code: 'INVALID_STATE', message: expect.stringContaining('JPY') });
      await expect(
        billing.recordPlanChange({ subscriptionId: 'sub_cur', toPlanId: 'pln_pro', at: U(2026, 3, 2) }),
      ).rejects.toMatchObject({ code: 'VALIDATION_FAILED', issues: [{ field: 'at' }] });
    });

    it('skips subscriptions whose plan has no price, and pending ones', async () => {
      await fx.subscription(store, {
        id: 'sub_free',
        consumerId: 'con_a',
        planId: 'pln_free',
        startedAt: U(2026, 0, 1),
      });
      await fx.subscription(store, {
        id: 'sub_pend',
        consumerId: 'con_a',
        planId: 'pln_basic',
        startedAt: U(2026, 0, 1),
        status: 'pending',
      });
      const r = await billing.run();
      expect(r.skipped).toContainEqual({ subscriptionId: 'sub_free', reason: 'plan pln_free has no price' });
      expect(r.failed).toEqual([]);
      expect(
        await store.db
          .selectFrom('invoices')
          .select('id')
          .where('subscription_id', '=', 'sub_pend')
          .execute(),
      ).toEqual([]);
    });

    it('two runs at once create each invoice once, with gapless numbers', async () => {
      clock.set(U(2026, 5, 1));
      for (let i = 0; i < 5; i++)
        await fx.subscription(store, {
          id: `sub_par${i}`,
          consumerId: 'con_a',
          planId: 'pln_pro',
          startedAt: U(2026, 5, 1),
        });
      const before = await store.db.selectFrom('invoices').select('id').execute();
      clock.set(U(2026, 7, 2));
      const [a, b] = await Promise.all([billing.run(), billing.run()]);
      expect(a.failed).toEqual([]);
      expect(b.failed).toEqual([]);
      const after = await store.db
        .selectFrom('invoices')
        .select(['subscription_id', 'period_start'])
        .execute();
      const keys = after.map((r) => `${r.subscription_id}@${r.period_start}`);
      expect(new Set(keys).size).toBe(keys.length);
      expect(a.created + b.created).toBe(after.length - before.length);
      const seqs = (
        await store.db.selectFrom('invoices').select('seq').where('provider_id', '=', 'prv_acme').execute()
      )
        .map((r) => Number(r.seq))
        .sort((x, y) => x - y);
      expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    });

    it('closes a subscription at cancellation: final partial invoice, never billed again', async () => {
      // marketplace flow: changePlan(port) mid-period, then closeSubscription before status=cancelled
      clock.set(U(2026, 8, 1));
      await fx.subscription(store, {
        id: 'sub_close',
        consumerId: 'con_a',
        planId: 'pln_basic',
        startedAt: U(2026, 8, 1),
      });
      expect(await billing.trialDays('pln_trial')).toBe(10);
      expect(await billing.trialDays('pln_free')).toBeNull();
      clock.set(U(2026, 8, 16));
      const change = billing.changePlan;
      await change('sub_close', 'pln_basic', 'pln_pro'); // unbound: must not rely on `this`
      await store.db
        .updateTable('subscriptions')
        .set({ plan_id: 'pln_pro' })
        .where('id', '=', 'sub_close')
        .execute();
      await fx.usage(store, [
        {
          subscription_id: 'sub_close',
          key_id: 'k',
          api_id: 'a',
          dimension: 'requests',
          hour: U(2026, 8, 21, 9),
          units: 10,
          requests: 1,
        },
      ]);
      clock.set(U(2026, 8, 21, 9, 30));
      const r = await billing.closeSubscription('sub_close');
      expect(r.created).toBe(1);
      const inv = await billing.getInvoice(r.invoiceIds[0]!);
      // September (30 days): Basic 15 days → 20 × 15/30 = 10.00; Pro 5 d 9 h 30 min →
      // 5 × 86,400 + 9.5 × 3,600 = 466,200 s → 100 × 466,200 / 2,592,000 = 17.986… → 17.99; usage hour 21 Sep 09:00 billed (10 × 0.0005 → 0.01)
      expect(inv.periodEnd).toBe('2026-09-21T09:30:00.000Z');
      expect(inv.lines.map((l) => [l.planId, l.kind, l.amount])).toEqual([
        ['pln_basic', 'recurring', '10.00'],
        ['pln_basic', 'usage', '0.00'],
        ['pln_pro', 'recurring', '17.99'],
        ['pln_pro', 'usage', '0.01'],
      ]);
      // the marketplace then marks it cancelled a moment later: nothing more is billed
      await store.db
        .updateTable('subscriptions')
        .set({ status: 'cancelled', cancelled_at: U(2026, 8, 21, 9, 30, 2) })
        .where('id', '=', 'sub_close')
        .execute();
      clock.set(U(2026, 11, 1));
      expect((await billing.run({ subscriptionId: 'sub_close' })).created).toBe(0);
      expect((await billing.closeSubscription('sub_close')).created).toBe(0);
      await expect(billing.closeSubscription('sub_nope')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });

    it('renders HTML with every text escaped', async () => {
      const { items } = await billing.listInvoices({ consumerId: 'con_a', providerId: 'prv_acme', limit: 1 });
      const html = await billing.renderHtml(items[0]!.id);
      expect(html).toContain('Buyer &lt;A&gt; &amp; &quot;Co&quot;');
      expect(html).not.toContain('<A>');
      expect(html).toContain(items[0]!.number);
      expect(html).toContain('USD ');
    });
  });
}
