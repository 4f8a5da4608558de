/**
 * Two Tollgates on loopback sockets: a provider selling its product through a marketplace
 * Tollgate. Subscribe on the marketplace → token → onboarding at the provider (official
 * ResolveCustomer client) → key shown once → SigV4-signed lifecycle notifications →
 * final usage exported on unsubscribe-pending → keys disabled on unsubscribe-success.
 */
import { createHmac } from 'node:crypto';
import { Hono } from 'hono';
import { chromium } from 'playwright-core';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Billing, createBilling } from '../../src/billing/index.js';
import { createCatalog } from '../../src/catalog/index.js';
import {
  createMarketplace,
  type Marketplace,
  registrationRedirectPage,
} from '../../src/marketplace/index.js';
import { ManualClock, silentLogger } from '../../src/shared/index.js';
import type { Store } from '../../src/store/index.js';
import { testOutbound } from '../helpers/outbound.js';
import { sqliteStore, testStores } from '../helpers/stores.js';
import { addUsage, listen, seedProvider } from './fixtures.js';

const HOUR = 3600_000;
const OP = { kind: 'operator' as const, id: 'test' };

async function post(url: string, form: Record<string, string>) {
  const res = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.statusCode, html: await res.body.text(), headers: res.headers };
}

for (const kind of await testStores()) {
  describe(`selling through a marketplace Tollgate (marketplace on ${kind.name})`, () => {
    let marketStore: Store;
    let sellerStore: Store;
    let market: Marketplace;
    let seller: Marketplace;
    let marketServer: { url: string; close: () => Promise<void> };
    let sellerServer: { url: string; close: () => Promise<void> };
    const clock = new ManualClock(Date.now());
    let mSeed: Awaited<ReturnType<typeof seedProvider>>;
    let sSeed: Awaited<ReturnType<typeof seedProvider>>;
    let marketProductId: string;
    let sellerFlushes = 0;
    let billing: Billing;

    beforeAll(async () => {
      marketStore = await kind.open();
      sellerStore = await sqliteStore.open();
      const now = clock.now();
      mSeed = await seedProvider(marketStore.db, now);
      sSeed = await seedProvider(sellerStore.db, now);
      billing = createBilling({ store: marketStore, clock, log: silentLogger });
      await billing.setPrice(
        mSeed.planId,
        {
          currency: 'USD',
          charges: [
            { model: 'per_unit', dimension: 'requests', unitPrice: '0.01' },
            { model: 'per_unit', dimension: 'chars', unitPrice: '0.001' },
          ],
        },
        'test',
      );
      market = createMarketplace({
        outbound: testOutbound(),
        store: marketStore,
        clock,
        log: silentLogger,
        billing,
        catalog: createCatalog({ outbound: testOutbound(), store: marketStore, clock, log: silentLogger }),
        secretKey: 'market-secret-key-0123456789',
      });
      marketServer = await listen(market.app);
      const creds = await market.credentials.issue(mSeed.providerId, 'seller tollgate');
      // The seller's Tollgate: configured with the marketplace's endpoint and the credentials it issued.
      const sellerApp = { fetch: (r: Request) => seller.app.fetch(r) };
      sellerServer = await listen(sellerApp as never);
      seller = createMarketplace({
        outbound: testOutbound(),
        store: sellerStore,
        clock,
        log: silentLogger,
        catalog: createCatalog({ outbound: testOutbound(), store: sellerStore, clock, log: silentLogger }),
        secretKey: 'seller-secret-key-0123456789',
        external: {
          endpoint: marketServer.url,
          region: 'us-east-1',
          accessKeyId: creds.accessKeyId,
          secretAccessKey: creds.secretAccessKey,
          notificationSecret: 'relay-secret',
        },
        flushUsage: async () => {
          sellerFlushes++;
        },
      });
      const listing = await market.products.create(OP, {
        providerId: mSeed.providerId,
        title: 'Proper nouns',
        apiIds: [mSeed.apiId],
        planIds: [mSeed.planId],
        registrationUrl: `${sellerServer.url}/marketplace/register`,
        notificationUrl: `${sellerServer.url}/marketplace/notifications`,
      });
      await market.products.publish(OP, listing.id);
      marketProductId = listing.id;
      const own = await seller.products.create(OP, {
        providerId: sSeed.providerId,
        title: 'Nouns <b>&</b>',
        apiIds: [sSeed.apiId],
        planIds: [sSeed.planId],
        externalProductCode: listing.productCode,
      });
      await seller.products.publish(OP, own.id);
    });
    afterAll(async () => {
      market?.stop();
      seller?.stop();
      await sellerServer?.close();
      await marketServer?.close();
      await billing?.close();
      await marketStore?.close();
      await sellerStore?.close();
    });

    it('onboards the buyer, exports final usage on unsubscribe, and disables the key', async () => {
      // 0. The buyer reads the listing: plans with limits and prices.
      const listing = await market.listing(marketProductId);
      expect(listing.plans.map((p) => [p.id, p.quota, (p.price as { currency: string }).currency])).toEqual([
        [mSeed.planId, { limit: 1000, period: 'MONTH' }, 'USD'],
      ]);
      expect(listing.apis.map((a) => a.id)).toEqual([mSeed.apiId]);
      // 1. The buyer subscribes on the marketplace and is handed a registration token.
      const sub = await market.subscriptions.subscribe({
        productId: marketProductId,
        planId: mSeed.planId,
        consumer: { name: 'Buyer', email: 'buyer@example.com' },
      });
      expect(sub.key).toBeUndefined();
      expect(sub.registration?.url).toBe(`${sellerServer.url}/marketplace/register`);

      // 2. The browser form-POSTs the token to the seller: key page, escaped, shown once.
      const page = await post(sub.registration!.url, { 'x-amzn-marketplace-token': sub.registration!.token });
      expect(page.status).toBe(200);
      expect(page.headers['cache-control']).toBe('no-store');
      expect(page.html).toContain('Welcome to Nouns &lt;b&gt;&amp;&lt;/b&gt;');
      const key = /id="api-key">([^<]+)</.exec(page.html)?.[1];
      expect(key).toMatch(/^tg_/);
      // subscribe-success arrived (SigV4-signed) before onboarding: the subscription is active at once.
      expect(/id="status">([^<]+)</.exec(page.html)?.[1]).toBe('active');

      const consumer = await sellerStore.db
        .selectFrom('consumers')
        .selectAll()
        .where('provider_id', '=', sSeed.providerId)
        .executeTakeFirstOrThrow();
      const agreement = (await market.agreements.bySubscription(sub.subscription.id))!;
      expect(consumer.external_customer_id).toBe(agreement.customerIdentifier);
      expect(JSON.parse(consumer.external)).toEqual({
        CustomerIdentifier: agreement.customerIdentifier,
        CustomerAWSAccountId: agreement.customerAWSAccountId,
        LicenseArn: agreement.licenseArn,
        ProductCode: (await market.products.get(OP, marketProductId)).productCode,
      });
      const sellerSub = await sellerStore.db
        .selectFrom('subscriptions')
        .selectAll()
        .where('consumer_id', '=', consumer.id)
        .executeTakeFirstOrThrow();
      const keyRow = await sellerStore.db
        .selectFrom('api_keys')
        .selectAll()
        .where('subscription_id', '=', sellerSub.id)
        .executeTakeFirstOrThrow();
      expect(keyRow.enabled).toBe(1);

      // 3. The same token again, a forged one, none at all: clear pages, no stack trace.
      const reused = await post(sub.registration!.url, {
        'x-amzn-marketplace-token': sub.registration!.token,
      });
      expect(reused.status).toBe(410);
      expect(reused.html).toContain('expired or was already used');
      const forged = await post(sub.registration!.url, { 'x-amzn-marketplace-token': 'forged-token' });
      expect(forged.status).toBe(400);
      expect(forged.html).toContain('not valid');
      const missing = await post(sub.registration!.url, {});
      expect(missing.status).toBe(400);
      for (const p of [reused, forged, missing]) expect(p.html).not.toMatch(/Exception|at .*\.js/);

      // 4. Usage at the seller (this hour and the last).
      const hour = Math.floor(clock.now() / HOUR) * HOUR;
      await addUsage(sellerStore.db, sellerSub.id, 'requests', hour, 12);
      await addUsage(sellerStore.db, sellerSub.id, 'chars', hour, 3400);

      // 5. A minute later the buyer cancels: unsubscribe-pending → the seller flushes and exports at once.
      clock.advance(60_000);
      const flushesBefore = sellerFlushes;
      const pending = await market.subscriptions.cancel(sub.subscription.id);
      expect(pending.status).toBe('cancel_pending');
      expect(sellerFlushes).toBeGreaterThan(flushesBefore);
      const billed = await marketStore.db
        .selectFrom('usage')
        .select(['dimension', 'hour', 'units'])
        .where('subscription_id', '=', sub.subscription.id)
        .orderBy('dimension')
        .execute();
      expect(billed).toEqual([
        { dimension: 'chars', hour, units: 3400 },
        { dimension: 'requests', hour, units: 12 },
      ]);
      expect(
        (
          await sellerStore.db
            .selectFrom('subscriptions')
            .select('status')
            .where('id', '=', sellerSub.id)
            .executeTakeFirstOrThrow()
        ).status,
      ).toBe('cancel_pending');

      // 6. The grace period ends: unsubscribe-success → the seller's key is disabled.
      const done = await market.subscriptions.completeCancellation(sub.subscription.id);
      expect(done.status).toBe('cancelled');
      const after = await sellerStore.db
        .selectFrom('api_keys')
        .select('enabled')
        .where('id', '=', keyRow.id)
        .executeTakeFirstOrThrow();
      expect(after.enabled).toBe(0);
      // The marketplace's final invoice for the buyer carries exactly the exported quantities.
      const invoices = await billing.listInvoices({ subscriptionId: sub.subscription.id });
      expect(invoices.items).toHaveLength(1);
      const invoice = await billing.getInvoice(invoices.items[0]!.id);
      const usageLines = invoice.lines
        .filter((l) => l.dimension)
        .map((l) => [l.dimension, l.quantity, l.amount]);
      expect(usageLines).toEqual(
        expect.arrayContaining([
          ['requests', '12', '0.12'],
          ['chars', '3400', '3.40'],
        ]),
      );
      const history = await seller.subscriptions.history(sellerSub.id);
      // Access ends at unsubscribe-pending, before the final export (nothing can follow it).
      expect(history.map((e) => e.type)).toEqual([
        'onboarded',
        'cancel_requested',
        'keys_disabled',
        'cancelled',
      ]);
      const mHistory = await market.subscriptions.history(sub.subscription.id);
      expect(mHistory.map((e) => e.type)).toEqual(['subscribed', 'cancel_requested', 'cancelled']);
      const notes = await sellerStore.db
        .selectFrom('marketplace_notifications')
        .select(['action', 'outcome'])
        .orderBy('received_at')
        .execute();
      expect(notes.map((n) => n.action)).toEqual([
        'subscribe-success',
        'unsubscribe-pending',
        'unsubscribe-success',
      ]);
    });

    it('refuses unauthenticated notifications and accepts an HMAC-signed relay once', async () => {
      const url = `${sellerServer.url}/marketplace/notifications`;
      const body = JSON.stringify({
        Type: 'Notification',
        MessageId: `m-${kind.name}`,
        Message: JSON.stringify({
          action: 'entitlement-updated',
          CustomerIdentifier: 'nobody',
          ProductCode: 'x',
        }),
      });
      const unsigned = await request(url, {
        method: 'POST',
        body,
        headers: { 'content-type': 'text/plain' },
      });
      expect(unsigned.statusCode).toBe(401);
      await unsigned.body.dump();
      const t = Math.floor(clock.now() / 1000);
      const sig = createHmac('sha256', 'relay-secret').update(`${t}.${body}`).digest('hex');
      const bad = await request(url, {
        method: 'POST',
        body,
        headers: { 'x-tollgate-signature': `t=${t},v1=${'0'.repeat(64)}` },
      });
      expect(bad.statusCode).toBe(401);
      await bad.body.dump();
      const ok = await request(url, {
        method: 'POST',
        body,
        headers: { 'x-tollgate-signature': `t=${t},v1=${sig}` },
      });
      expect(ok.statusCode).toBe(200);
      expect(await ok.body.json()).toEqual({ outcome: 'ignored: unknown product' });
      const again = await request(url, {
        method: 'POST',
        body,
        headers: { 'x-tollgate-signature': `t=${t},v1=${sig}` },
      });
      expect(await again.body.json()).toEqual({ outcome: 'duplicate' });
    });
    it('keeps a buyer pending until subscribe-success, then calls GetEntitlements on entitlement-updated', async () => {
      // The marketplace's own notification is held back, so the seller hears nothing yet.
      await marketStore.db
        .updateTable('marketplace_products')
        .set({ notification_url: null })
        .where('id', '=', marketProductId)
        .execute();
      const sub = await market.subscriptions.subscribe({
        productId: marketProductId,
        planId: mSeed.planId,
        consumer: { name: 'Late' },
      });
      const page = await post(sub.registration!.url, { 'x-amzn-marketplace-token': sub.registration!.token });
      expect(page.status).toBe(200);
      expect(/id="status">([^<]+)</.exec(page.html)?.[1]).toBe('pending');
      expect(page.html).toContain('id="pending"');
      const agreement = (await market.agreements.bySubscription(sub.subscription.id))!;
      const code = (await market.products.get(OP, marketProductId)).productCode;
      const consumer = await sellerStore.db
        .selectFrom('consumers')
        .select('id')
        .where('external_customer_id', '=', agreement.customerIdentifier)
        .executeTakeFirstOrThrow();
      const sellerSub = await sellerStore.db
        .selectFrom('subscriptions')
        .selectAll()
        .where('consumer_id', '=', consumer.id)
        .executeTakeFirstOrThrow();
      const keyEnabled = async () =>
        (
          await sellerStore.db
            .selectFrom('api_keys')
            .select('enabled')
            .where('subscription_id', '=', sellerSub.id)
            .executeTakeFirstOrThrow()
        ).enabled;
      expect(await keyEnabled()).toBe(0);

      const notify = async (id: string, action: string) => {
        const body = JSON.stringify({
          Type: 'Notification',
          MessageId: id,
          Message: JSON.stringify({
            action,
            'customer-identifier': agreement.customerIdentifier,
            'product-code': code,
          }),
        });
        const t = Math.floor(clock.now() / 1000);
        const sig = createHmac('sha256', 'relay-secret').update(`${t}.${body}`).digest('hex');
        const res = await request(`${sellerServer.url}/marketplace/notifications`, {
          method: 'POST',
          body,
          headers: { 'x-tollgate-signature': `t=${t},v1=${sig}` },
        });
        return { status: res.statusCode, body: (await res.body.json()) as { outcome: string } };
      };
      expect(await notify(`ss-${kind.name}`, 'subscribe-success')).toEqual({
        status: 200,
        body: { outcome: 'activated' },
      });
      expect(await keyEnabled()).toBe(1);
      expect(await notify(`eu-${kind.name}`, 'entitlement-updated')).toEqual({
        status: 200,
        body: { outcome: 'entitlements recorded' },
      });
      const history = await seller.subscriptions.history(sellerSub.id);
      expect(history.map((e) => e.type)).toEqual(['onboarded', 'activated', 'entitlements_updated']);
      expect(history[2]!.data.entitlements).toEqual([
        { dimension: mSeed.planId, value: { IntegerValue: 1000 }, expires: undefined },
      ]);
    });
    it('queues notifications while the provider is down and delivers them in order afterwards', async () => {
      await marketStore.db
        .updateTable('marketplace_products')
        .set({ notification_url: `${sellerServer.url}/marketplace/notifications` })
        .where('id', '=', marketProductId)
        .execute();
      const port = Number(new URL(sellerServer.url).port);
      await sellerServer.close();
      const sub = await market.subscriptions.subscribe({
        productId: marketProductId,
        planId: mSeed.planId,
        consumer: { name: 'Away' },
      });
      await market.subscriptions.cancel(sub.subscription.id);
      const queued = await marketStore.db
        .selectFrom('marketplace_outbox')
        .select(['status', 'attempts', 'payload'])
        .where('status', '=', 'pending')
        .orderBy('id')
        .execute();
      expect(queued.map((q) => [JSON.parse(q.payload).action, q.attempts])).toEqual([
        ['subscribe-success', 1],
        ['unsubscribe-pending', 0],
      ]);
      sellerServer = await listen({ fetch: (r: Request) => seller.app.fetch(r) } as never, port);
      expect(await market.deliverNotifications()).toBe(0); // not due yet (30 s backoff)
      clock.advance(31_000);
      expect(await market.deliverNotifications()).toBe(2);
      const agreement = (await market.agreements.bySubscription(sub.subscription.id))!;
      const received = await sellerStore.db
        .selectFrom('marketplace_notifications')
        .select(['action', 'message_id'])
        .where('customer_identifier', '=', agreement.customerIdentifier)
        .orderBy('received_at')
        .orderBy('message_id')
        .execute();
      expect(received.map((r) => r.action)).toEqual(['subscribe-success', 'unsubscribe-pending']);
      expect(received[0]!.message_id).toMatch(/^ntf_/);
    });
    it('a real browser is handed from the marketplace to the provider and sees its key once', async () => {
      await marketStore.db
        .updateTable('marketplace_products')
        .set({ notification_url: `${sellerServer.url}/marketplace/notifications` })
        .where('id', '=', marketProductId)
        .execute();
      const sub = await market.subscriptions.subscribe({
        productId: marketProductId,
        planId: mSeed.planId,
        consumer: { name: 'Browser' },
      });
      const handoff = new Hono().get('/continue', (c) =>
        c.html(
          registrationRedirectPage(sub.registration!.url, sub.registration!.token, 'Proper "nouns" <x>'),
        ),
      );
      const page = await listen(handoff);
      const browser = await chromium.launch({
        executablePath: '/usr/bin/chromium',
        args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
      });
      try {
        const tab = await browser.newPage();
        await tab.goto(`${page.url}/continue`);
        await tab.waitForURL(sub.registration!.url, { timeout: 10_000 });
        const key = await tab
          .locator('#api-key')
          .textContent({ timeout: 10_000 })
          .catch(async (err: Error) => {
            // Say which page the buyer saw instead (an error page names its cause).
            const shown = await tab
              .locator('body')
              .innerText()
              .catch(() => '(no page)');
            throw new Error(`no key on the registration page; it says: ${shown}`, { cause: err });
          });
        expect(key).toMatch(/^tg_/);
        expect(await tab.locator('#status').textContent()).toBe('active');
        // Back and submit again: the token was single-use.
        await tab.goto(`${page.url}/continue`);
        await tab.waitForURL(sub.registration!.url, { timeout: 10_000 });
        expect(await tab.locator('#error').textContent()).toContain('expired or was already used');
      } finally {
        await browser.close();
        await page.close();
      }
    }, 30_000);
  });
}
