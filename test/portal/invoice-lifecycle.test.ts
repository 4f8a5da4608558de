/**
 * The invoice lifecycle in the pages, over plain HTTP against a real server (SQLite and
 * PostgreSQL): the buyer sees an estimate of the running period and only finalized invoices;
 * the provider filters by status, finalizes, voids with a reason, re-issues, marks paid with
 * a reference — every action a CSRF-checked form, every refusal in plain words.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testStores } from '../helpers/stores.js';
import { Browserless, type PortalHarness, seedProduct, startPortal } from './harness.js';

const PASSWORD = 'correct horse battery';
const DAY = 86_400_000;

for (const kind of await testStores()) {
  describe(`invoice lifecycle in the portal (${kind.name})`, () => {
    let h: PortalHarness;
    let seed: Awaited<ReturnType<typeof seedProduct>>;
    const buyer = new Browserless('', { 'x-forwarded-for': '10.7.0.1' });
    const seller = new Browserless('', { 'x-forwarded-for': '10.7.0.2' });
    let subscriptionId = '';
    let key = '';
    let sellerEmail = '';
    let buyerEmail = '';
    /** Moves the clock (sessions last 12 hours: both log in again). */
    async function later(ms: number) {
      h.clock.advance(ms);
      await seller.login(sellerEmail, PASSWORD);
      await buyer.login(buyerEmail, PASSWORD);
    }

    beforeAll(async () => {
      h = await startPortal(kind, { trustProxy: true });
      seed = await seedProduct(h);
      Object.assign(buyer, { base: h.url });
      Object.assign(seller, { base: h.url });
      const email = `lifecycle-${Date.now()}@example.com`;
      sellerEmail = email;
      buyerEmail = `g-${email}`;
      await h.accounts.createUser({
        email,
        name: 'Seller',
        password: PASSWORD,
        role: 'provider',
        providerId: seed.providerId,
      });
      await seller.login(email, PASSWORD);
      await buyer.get('/signup');
      await buyer.post('/signup', { name: 'Grace', email: `g-${email}`, password: PASSWORD });
      await buyer.get(`/products/${seed.productId}`);
      const r = await buyer.post(`/products/${seed.productId}/subscribe`, { planId: seed.planId });
      key = /<output id="key-value"[^>]*>([^<]+)<\/output>/.exec(r.text)![1]!.trim();
      subscriptionId = /\/account\/subscriptions\/(sub_[0-9A-Z]+)/.exec(
        (await buyer.get('/account')).text,
      )![1]!;
    });
    afterAll(async () => {
      await h?.close();
    });

    const listed = (text: string) => [
      ...text.matchAll(/data-invoice="(inv_[0-9A-Z]+)" data-status="(\w+)"/g),
    ];

    it('shows the buyer an estimate of the running period, marked as one, and no invoice yet', async () => {
      for (let i = 0; i < 4; i++) {
        const res = await fetch(`${h.gatewayUrl}${seed.pathPrefix}/forecast/rome`, {
          headers: { 'x-api-key': key },
        });
        expect(res.status).toBe(200);
      }
      const page = await buyer.get('/account/invoices');
      expect(page.status).toBe(200);
      const card = page.text.slice(page.text.indexOf(`data-estimate="${subscriptionId}"`));
      expect(card).toContain('This is an estimate, not an invoice');
      // 10.00 + 4 × 0.05 = 10.20 so far (the meter is flushed before the estimate)
      expect(card).toMatch(/Estimated so far <strong>USD 10\.20<\/strong>/);
      expect(page.text).toContain('No invoices yet');
    });

    it('lets the seller act on drafts: filters, finalize, void with a reason, re-issue, mark paid', async () => {
      await later(32 * DAY);
      await h.billing.run(); // a draft, as the scheduler writes it
      const drafts = await seller.get('/console/invoices?status=draft');
      const draftId = listed(drafts.text)[0]?.[1] ?? '';
      expect(draftId).toMatch(/^inv_/);
      expect(listed((await seller.get('/console/invoices?status=paid')).text)).toEqual([]);
      expect((await seller.get('/console/invoices?status=bogus')).text).toContain('status filter is unknown');

      // the buyer does not see the draft, only that one is being prepared
      const waiting = await buyer.get('/account/invoices');
      expect(waiting.text).not.toContain(draftId);
      expect(waiting.text).toContain('One invoice is being prepared');
      expect((await buyer.get(`/account/invoices/${draftId}`)).status).toBe(404);

      await seller.get(`/console/invoices/${draftId}`);
      expect(
        (await seller.post(`/console/invoices/${draftId}/finalize`, {}, { csrf: 'forged' })).status,
      ).toBe(403);
      const fin = await seller.post(`/console/invoices/${draftId}/finalize`, {});
      expect(fin.status).toBe(303);
      const seen = await buyer.get('/account/invoices');
      expect(seen.text).toContain(`data-invoice="${draftId}"`);

      // a second finalize is refused in plain words
      await seller.get(`/console/invoices/${draftId}`);
      const again = await seller.post(`/console/invoices/${draftId}/finalize`, {});
      expect(again.status).toBe(409);
      expect(again.text).toContain('is open now, so it was not finalized. Only a draft can be finalized.');

      const noReason = await seller.post(`/console/invoices/${draftId}/void`, { reason: '  ' });
      expect(noReason.status).toBe(400);
      expect(noReason.text).toContain('Say why the invoice is void');
      expect((await h.billing.getInvoice(draftId)).status).toBe('open');
      await seller.post(`/console/invoices/${draftId}/void`, { reason: 'wrong plan <b>applied</b>' });
      const voided = await seller.get(`/console/invoices/${draftId}`);
      expect(voided.text).toContain('wrong plan &lt;b&gt;applied&lt;/b&gt;');
      expect((await buyer.get(`/account/invoices/${draftId}`)).text).toContain('Nothing is owed on it');

      const re = await seller.post(`/console/invoices/${draftId}/reissue`, {});
      expect(re.status).toBe(303);
      const newId = /\/console\/invoices\/(inv_[0-9A-Z]+)$/.exec(re.location!)?.[1] ?? '';
      expect(newId).not.toBe(draftId);
      const replacement = await h.billing.getInvoice(newId);
      expect(replacement).toMatchObject({ status: 'draft', reissueOf: draftId, total: '10.20' });
      expect((await seller.get(`/console/invoices/${draftId}`)).text).toContain(
        `Re-issued as <a href="/console/invoices/${newId}"`,
      );
      const twice = await seller.post(`/console/invoices/${draftId}/reissue`, {});
      expect(twice.status).toBe(409);
      expect(twice.text).toContain('was already re-issued as');

      await seller.get(`/console/invoices/${newId}`);
      expect((await seller.post(`/console/invoices/${newId}/pay`, { reference: 'x' })).status).toBe(409);
      await seller.post(`/console/invoices/${newId}/finalize`, {});
      await seller.post(`/console/invoices/${newId}/pay`, { reference: 'bank transfer 4711' });
      expect(await h.billing.getInvoice(newId)).toMatchObject({
        status: 'paid',
        paidReference: 'bank transfer 4711',
      });
      const paid = listed((await seller.get('/console/invoices?status=paid')).text);
      expect(paid.map((m) => m[1])).toEqual([newId]);
      const audit = await h.store.db
        .selectFrom('audit_log')
        .select(['action', 'actor'])
        .where('action', 'like', 'invoice.%')
        .orderBy('at')
        .execute();
      expect(audit.map((a) => a.action)).toEqual([
        'invoice.finalize',
        'invoice.void',
        'invoice.reissue',
        'invoice.finalize',
        'invoice.pay',
      ]);
      expect(new Set(audit.map((a) => a.actor.startsWith('portal:')))).toEqual(new Set([true]));
    });

    it('after a cancel the final invoice appears once finalized, as the cancel page promised', async () => {
      const sub = await buyer.get(`/account/subscriptions/${subscriptionId}`);
      expect(sub.text).toContain('a final invoice for the usage so far');
      await later(3 * DAY);
      await buyer.get(`/account/subscriptions/${subscriptionId}`);
      const c = await buyer.post(`/account/subscriptions/${subscriptionId}/cancel`, {});
      expect(c.status).toBe(303);
      expect((await buyer.get(`/account/subscriptions/${subscriptionId}`)).text).toContain(
        'data-final-invoice',
      );
      const [final] = (await h.billing.listInvoices({ subscriptionId, status: 'draft' })).items;
      expect(final).toBeDefined();
      expect((await buyer.get('/account/invoices')).text).not.toContain(`data-invoice="${final!.id}"`);
      await h.billing.finalize(final!.id, 'scheduler');
      const after = await buyer.get('/account/invoices');
      expect(after.text).toContain(`data-invoice="${final!.id}"`);
      expect(after.text).not.toContain('data-estimate'); // billing ended: nothing upcoming
    });

    it("keeps another provider's members away from these invoices and actions", async () => {
      const other = await seedProduct(h);
      const email = `other-${Date.now()}@example.com`;
      await h.accounts.createUser({
        email,
        name: 'O',
        password: PASSWORD,
        role: 'provider',
        providerId: other.providerId,
      });
      const o = new Browserless(h.url, { 'x-forwarded-for': '10.7.0.3' });
      await o.login(email, PASSWORD);
      const [inv] = (await h.billing.listInvoices({ subscriptionId })).items;
      await o.get('/console/invoices');
      expect((await o.post(`/console/invoices/${inv!.id}/void`, { reason: 'mine now' })).status).toBe(404);
      expect(listed((await o.get('/console/invoices')).text)).toEqual([]);
      expect((await buyer.post(`/console/invoices/${inv!.id}/void`, { reason: 'x' })).status).toBe(403);
    });
  });
}
