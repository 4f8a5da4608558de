/**
 * A provider prices its plan, its buyer's usage is metered, billing runs over the admin
 * API, and the invoice is read, rendered (HTML, PDF by real Chromium), finalized, paid or
 * voided — all over a real socket on SQLite and PostgreSQL. Another provider sees none of it.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IN_CI, testStores } from '../../helpers/stores.js';
import { DAY, type Harness, HOUR, startHarness, T0 } from './harness.js';

const chromium = process.env.TOLLGATE_CHROMIUM ?? '/usr/bin/chromium';
const haveChromium = existsSync(chromium);
if (!haveChromium && IN_CI) throw new Error(`Chromium is required under CI but missing at ${chromium}`);

const APRIL = Date.UTC(2026, 3, 1);
const MAY = Date.UTC(2026, 4, 1);
const JUNE = Date.UTC(2026, 5, 1);

/** USD 29 a month, requests at 0.0035 after 1,000 free ones. */
const PRO = {
  currency: 'USD',
  recurringFee: '29',
  charges: [
    {
      model: 'per_unit',
      dimension: 'requests',
      unitPrice: '0.0035',
      includedUnits: 1000,
      description: 'API requests',
    },
  ],
};

for (const kind of await testStores()) {
  describe(`billing admin API: invoices (${kind.name})`, () => {
    let h: Harness;
    let invoiceId: string;

    beforeAll(async () => {
      h = await startHarness(kind);
    });
    afterAll(async () => {
      await h?.close();
    });

    it('a provider sets, reads and versions the price of its own plan', async () => {
      const put = await h.call('PUT', `/plans/${h.a.planId}/price`, { token: h.a.token, body: PRO });
      expect(put.status).toBe(200);
      expect(put.body).toMatchObject({
        planId: h.a.planId,
        version: 1,
        createdBy: expect.stringMatching(/^tok_/),
      });
      expect(put.body.price).toMatchObject({ currency: 'USD', recurringFee: '29', interval: 'month' });

      const got = await h.call('GET', `/plans/${h.a.planId}/price`, { token: h.a.token });
      expect(got.status).toBe(200);
      expect(got.body.id).toBe(put.body.id);

      const history = await h.call('GET', `/plans/${h.a.planId}/price/history`, { token: h.a.token });
      expect(history.body.items.map((p: { version: number }) => p.version)).toEqual([1]);

      // Bolt's plan has no price yet, and Acme cannot see Bolt's plan at all
      expect((await h.call('GET', `/plans/${h.b.planId}/price`, { token: h.b.token })).status).toBe(404);
      expect((await h.call('GET', `/plans/${h.b.planId}/price`, { token: h.a.token })).body.code).toBe(
        'NOT_FOUND',
      );
      expect((await h.call('GET', `/plans/${h.a.planId}/price/history`, { token: h.b.token })).status).toBe(
        404,
      );
    });

    it('previews what a month of usage would cost, writing nothing', async () => {
      const r = await h.call('POST', `/plans/${h.a.planId}/preview`, {
        token: h.a.token,
        body: { usage: { requests: 4500 } },
      });
      expect(r.status).toBe(200);
      // 29.00 fee + (4,500 − 1,000 free) × 0.0035 = 29.00 + 12.25 = 41.25
      expect(r.body.total).toBe('41.25');
      expect(r.body.lines.map((l: { amount: string }) => l.amount)).toEqual(['29.00', '0.00', '12.25']);
      // the billed line says how: 3,500 × USD 3.50 per 1,000 requests
      expect(r.body.lines[2].calc).toEqual({
        quantity: '3500',
        price: '3.50',
        per: 1000,
        unit: 'requests',
        note: '4,500 used, 1,000 included',
      });
      expect((await h.call('GET', '/invoices', { token: h.a.token })).body.items).toEqual([]);
      expect(
        (await h.call('POST', `/plans/${h.a.planId}/preview`, { token: h.b.token, body: {} })).status,
      ).toBe(404);
    });

    it('runs billing at the end of the period: one invoice whose lines are the metered usage', async () => {
      // March: 1,200 + 800 + 2,500 = 4,500 requests
      await h.usage(h.a.subscriptionId, [
        { hour: T0 + 5 * HOUR, units: 1200 },
        { hour: T0 + 10 * DAY, units: 800 },
        { hour: APRIL - HOUR, units: 2500 },
      ]);
      h.clock.set(APRIL + HOUR);
      const run = await h.call('POST', '/billing/runs', { token: h.a.token, body: {} });
      expect(run.status).toBe(200);
      expect(run.body).toMatchObject({ subscriptions: 1, created: 1, failed: [] });
      invoiceId = run.body.invoiceIds[0];

      // idempotent: the same run again creates nothing
      const again = await h.call('POST', '/billing/runs', { token: h.a.token });
      expect(again.body.created).toBe(0);

      const inv = await h.call('GET', `/invoices/${invoiceId}`, { token: h.a.token });
      expect(inv.status).toBe(200);
      expect(inv.body).toMatchObject({
        number: 'INV-000001',
        providerId: h.a.providerId,
        subscriptionId: h.a.subscriptionId,
        periodStart: new Date(T0).toISOString(),
        periodEnd: new Date(APRIL).toISOString(),
        currency: 'USD',
        status: 'draft',
        total: '41.25',
      });
      // the 1,000 included units, then the 3,500 billed: together the metered 4,500
      const usage = inv.body.lines.filter((l: { kind: string }) => l.kind === 'usage');
      const hours = { usageFrom: new Date(T0).toISOString(), usageTo: new Date(APRIL).toISOString() };
      expect(usage).toMatchObject([
        { dimension: 'requests', quantity: '1000', unitPrice: '0', amount: '0.00', ...hours },
        {
          dimension: 'requests',
          quantity: '3500',
          unitPrice: '0.0035',
          amount: '12.25',
          calc: { quantity: '3500', price: '3.50', per: 1000, unit: 'requests' },
          ...hours,
        },
      ]);
    });

    it('lists invoices with filters and cursor paging', async () => {
      // April and May, 100 requests each (inside the free 1,000): 29.00 each
      await h.usage(h.a.subscriptionId, [
        { hour: APRIL + DAY, units: 100 },
        { hour: MAY + DAY, units: 100 },
      ]);
      h.clock.set(JUNE + HOUR);
      const run = await h.call('POST', '/billing/runs', { token: h.a.token, body: { finalize: false } });
      expect(run.body.created).toBe(2);

      // the operator's run covers every provider: nothing left for Acme, Bolt's plan has no price
      const all = await h.call('POST', '/billing/runs', { body: {} });
      expect(all.body).toMatchObject({ subscriptions: 2, created: 0 });
      expect(all.body.skipped).toEqual([
        { subscriptionId: h.b.subscriptionId, reason: `plan ${h.b.planId} has no price` },
      ]);

      const first = await h.call('GET', '/invoices?limit=2', { token: h.a.token });
      expect(first.status).toBe(200);
      expect(first.body.items.map((i: { number: string }) => i.number)).toEqual(['INV-000001', 'INV-000002']);
      expect(first.body.nextCursor).toBe(first.body.items[1].id);
      const second = await h.call('GET', `/invoices?limit=2&cursor=${first.body.nextCursor}`, {
        token: h.a.token,
      });
      expect(second.body.items.map((i: { number: string }) => i.number)).toEqual(['INV-000003']);
      expect(second.body.nextCursor).toBeNull();

      const bySub = await h.call('GET', `/invoices?subscriptionId=${h.a.subscriptionId}&status=draft`, {
        token: h.a.token,
      });
      expect(bySub.body.items).toHaveLength(3);
      expect((await h.call('GET', '/invoices?status=paid', { token: h.a.token })).body.items).toEqual([]);
      // the operator sees everything; a bad filter is a 400 naming it
      expect((await h.call('GET', `/invoices?providerId=${h.a.providerId}`)).body.items).toHaveLength(3);
      const bad = await h.call('GET', '/invoices?status=unpaid&limit=0');
      expect(bad.status).toBe(400);
      expect(bad.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['limit', 'status']);
    });

    it("renders the invoice as HTML with its lines, and another provider can't", async () => {
      const r = await h.call('GET', `/invoices/${invoiceId}/html`, { token: h.a.token });
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toMatch(/^text\/html/);
      expect(r.text).toContain('Invoice INV-000001');
      expect(r.text).toContain('API requests');
      expect(r.text).toContain('USD 12.25');
      expect(r.text).toContain('USD 41.25');
      expect(r.text).toContain("Acme's buyer".replace("'", '&#39;'));
      expect((await h.call('GET', `/invoices/${invoiceId}/html`, { token: h.b.token })).status).toBe(404);
    });

    it.skipIf(!haveChromium)(
      'renders the invoice as a PDF printed by Chromium',
      async () => {
        const r = await h.call('GET', `/invoices/${invoiceId}/pdf`, { token: h.a.token });
        expect(r.status).toBe(200);
        expect(r.headers.get('content-type')).toBe('application/pdf');
        expect(r.headers.get('content-disposition')).toContain('INV-000001.pdf');
        expect(r.bytes.subarray(0, 5).toString('latin1')).toBe('%PDF-');
        expect(r.bytes.length).toBeGreaterThan(2000);
        expect((await h.call('GET', `/invoices/${invoiceId}/pdf`, { token: h.b.token })).status).toBe(404);
      },
      60_000,
    );

    it("provider B can't see, list, finalize, pay or void provider A's invoices", async () => {
      const b = h.b.token;
      const get = await h.call('GET', `/invoices/${invoiceId}`, { token: b });
      expect(get.status).toBe(404);
      expect(get.headers.get('content-type')).toBe('application/problem+json');
      expect(get.body).toMatchObject({ code: 'NOT_FOUND', detail: `invoice ${invoiceId} does not exist` });
      expect((await h.call('GET', '/invoices', { token: b })).body.items).toEqual([]);
      expect(
        (await h.call('GET', `/invoices?providerId=${h.a.providerId}`, { token: b })).body.items,
      ).toEqual([]);
      for (const action of ['finalize', 'pay', 'void']) {
        expect((await h.call('POST', `/invoices/${invoiceId}/${action}`, { token: b })).status).toBe(404);
      }
      const run = await h.call('POST', '/billing/runs', {
        token: b,
        body: { subscriptionId: h.a.subscriptionId },
      });
      expect(run.status).toBe(404);
      // still a draft: nothing B did moved it
      expect((await h.call('GET', `/invoices/${invoiceId}`, { token: h.a.token })).body.status).toBe('draft');
    });

    it('moves an invoice draft → open → paid, refuses the wrong transitions, voids another', async () => {
      const a = h.a.token;
      const payDraft = await h.call('POST', `/invoices/${invoiceId}/pay`, { token: a });
      expect(payDraft.status).toBe(409);
      expect(payDraft.body.code).toBe('INVALID_STATE');
      expect(payDraft.body.detail).toBe('invoice INV-000001 is draft; pay needs open');

      const fin = await h.call('POST', `/invoices/${invoiceId}/finalize`, { token: a });
      expect(fin.status).toBe(200);
      expect(fin.body).toMatchObject({ status: 'open', finalizedAt: expect.any(String) });
      const paid = await h.call('POST', `/invoices/${invoiceId}/pay`, { token: a });
      expect(paid.body).toMatchObject({ status: 'paid', paidAt: expect.any(String) });
      expect((await h.call('POST', `/invoices/${invoiceId}/void`, { token: a })).status).toBe(409);

      const drafts = await h.call('GET', '/invoices?status=draft', { token: a });
      const other = drafts.body.items[0].id as string;
      const voided = await h.call('POST', `/invoices/${other}/void`, { token: a });
      expect(voided.body).toMatchObject({ status: 'void', voidedAt: expect.any(String) });
      expect((await h.call('POST', `/invoices/${other}/finalize`, { token: a })).status).toBe(409);
      const del = await h.call('DELETE', `/invoices/${other}`, { token: a });
      expect(del.status).toBe(405);
      expect(del.headers.get('allow')).toBe('GET');

      // each transition is in the audit log under the acting token
      const audit = await h.store.db
        .selectFrom('audit_log')
        .select(['action', 'actor'])
        .where('entity', '=', 'invoice')
        .execute();
      // (same-millisecond ids do not sort by time: compare as a set)
      expect(audit.map((r) => r.action).sort()).toEqual(['invoice.finalize', 'invoice.pay', 'invoice.void']);
      expect(new Set(audit.map((r) => r.actor)).size).toBe(1);
      expect(audit[0]!.actor).toMatch(/^tok_/);
    });

    it('documents the billing routes and bodies in /admin/v1/openapi.json', async () => {
      const doc = await h.call('GET', '/openapi.json', { token: null });
      expect(doc.status).toBe(200);
      for (const p of [
        '/admin/v1/plans/{id}/price',
        '/admin/v1/plans/{id}/price/history',
        '/admin/v1/plans/{id}/preview',
        '/admin/v1/billing/runs',
        '/admin/v1/invoices',
        '/admin/v1/invoices/{id}',
        '/admin/v1/invoices/{id}/html',
        '/admin/v1/invoices/{id}/pdf',
        '/admin/v1/invoices/{id}/finalize',
        '/admin/v1/subscriptions/{id}/plan-change',
        '/admin/v1/webhooks/endpoints',
        '/admin/v1/webhooks/deliveries',
      ])
        expect(Object.keys(doc.body.paths)).toContain(p);
      const schemas = Object.keys(doc.body.components.schemas);
      for (const s of ['PriceInput', 'BillingRunInput', 'PricePreviewInput', 'PlanChangeInput', 'Invoice'])
        expect(schemas).toContain(s);
      const put = doc.body.paths['/admin/v1/plans/{id}/price'].put;
      expect(JSON.stringify(put.requestBody)).toContain('PriceInput');
    });
  });
}
