/**
 * Getting paid, end to end on one process (SQLite, real sockets) with the local Stripe
 * server standing in for Stripe and the official `stripe` client on both sides:
 *
 * 1. a buyer adds a card through the hosted flow, calls the API, the period closes, the
 *    Tollgate and Stripe invoices agree line by line in minor units, and the invoice is paid
 *    in the console and the portal;
 * 2. a declined card makes the invoice past due; after the plan's N days (manual clock) the
 *    keys answer 403; a forged or duplicated webhook changes nothing; paying the hosted
 *    invoice (→ invoice.paid) brings the keys back;
 * 3. a lost webhook is repaired by reconciliation; a zero-amount invoice is paid without Stripe;
 * 4. a buyer's hard budget stops calls at the budget and each alert threshold fires once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { startTollgate, type Tollgate } from '../../src/main/index.js';
import { createAccounts } from '../../src/portal/index.js';
import { ManualClock, silentLogger } from '../../src/shared/index.js';
import { type AdminClient, adminClient } from '../helpers/admin.js';
import { LOOPBACK_ALLOWED } from '../helpers/outbound.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { DECLINING_CARD, type LocalStripe, startLocalStripe } from '../payments/stripe-server.js';
import { Browserless } from '../portal/harness.js';

const TOKEN = `tga_payments_${'p'.repeat(32)}`;
const PASSWORD = 'correct horse battery staple';
const DAY = 86_400_000;

async function until<T>(what: string, fn: () => Promise<T>, ok: (v: T) => boolean, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: last ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('payments through Stripe', () => {
  const clock = new ManualClock(Date.UTC(2026, 10, 1, 9, 0));
  let dir: string;
  let tg: Tollgate;
  let stripe: LocalStripe;
  let client: Stripe;
  let up: Upstream;
  let admin: AdminClient;
  let providerId: string;
  let apiPrefix: string;
  let planId: string;

  const call = async (key: string) => {
    const r = await fetch(`${tg.gatewayUrl}${apiPrefix}/x`, { headers: { 'x-api-key': key } });
    return { status: r.status, body: await r.text() };
  };

  async function subscriber(name: string) {
    const consumer = await admin.post<{ id: string }>('/consumers', {
      providerId,
      name,
      email: `${name}@buyer.test`,
    });
    const sub = await admin.post<{ id: string }>('/subscriptions', { consumerId: consumer.id, planId });
    const key = await admin.post<{ value: string }>('/keys', { subscriptionId: sub.id, name: 'k' });
    return { consumerId: consumer.id, subscriptionId: sub.id, key: key.value };
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tollgate-pay-'));
    stripe = await startLocalStripe();
    const u = new URL(stripe.url);
    client = new Stripe(stripe.secretKey, { host: u.hostname, port: Number(u.port), protocol: 'http' });
    up = await startUpstream();
    tg = await startTollgate(
      loadConfig(
        {
          databaseUrl: `sqlite:${join(dir, 't.db')}`,
          dataDir: dir,
          gatewayPort: 0,
          consolePort: 0,
          gatewayHost: '127.0.0.1',
          consoleHost: '127.0.0.1',
          adminToken: TOKEN,
          outboundAllow: LOOPBACK_ALLOWED, // the test's upstream on loopback
          stripeApiUrl: stripe.url,
        },
        {},
      ),
      { clock, log: silentLogger },
    );
    admin = adminClient(tg.consoleUrl!, TOKEN);
    providerId = (await admin.post<{ id: string }>('/providers', { name: 'Acme Pay' })).id;
    apiPrefix = '/paid';
    const api = await admin.post<{ id: string }>('/apis', {
      providerId,
      name: 'Paid',
      upstreamUrl: up.url,
      pathPrefix: apiPrefix,
    });
    planId = (await admin.post<{ id: string }>('/plans', { providerId, name: 'Metered', apiIds: [api.id] }))
      .id;
    await tg.billing.setPrice(
      planId,
      {
        currency: 'USD',
        recurringFee: '5',
        charges: [{ model: 'per_unit', dimension: 'requests', unitPrice: '0.013' }],
      },
      'test',
    );
    const conn = await tg.payments.connections.connect(providerId, {
      secretKey: stripe.secretKey,
      webhookSecret: stripe.webhookSecret,
    });
    expect(conn.secretKey).toMatch(/^sk_test_…\w{4}$/);
    expect((await tg.payments.connections.check(providerId)).checkResult).toBe('ok');
    stripe.webhookUrl = `${tg.consoleUrl}/payments/stripe/webhook/${providerId}`;
  }, 60_000);

  afterAll(async () => {
    await tg?.close();
    await stripe?.close();
    await up?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('card through the hosted flow → calls → period closes → invoices agree → paid in console and portal', async () => {
    const buyer = await subscriber('ada');
    const accounts = createAccounts({
      store: tg.store,
      clock,
      log: silentLogger,
      catalog: tg.catalog,
    } as never);
    await accounts.createUser({
      email: 'ada@buyer.test',
      name: 'Ada',
      password: PASSWORD,
      role: 'buyer',
      consumerId: buyer.consumerId,
    });
    await accounts.createUser({
      email: 'acme@seller.test',
      name: 'Acme',
      password: PASSWORD,
      role: 'provider',
      providerId,
    });
    const portal = new Browserless(tg.consoleUrl!);
    await portal.login('ada@buyer.test', PASSWORD);

    expect((await portal.get('/account/billing')).text).toContain('Add a card');
    const setup = await portal.post(`/account/billing/${providerId}/setup`, {});
    expect(setup.status).toBe(303);
    const session = /\/checkout\/(cs_test_\w+)$/.exec(setup.location!)![1]!;
    const back = await stripe.completeCheckout(session, '4242424242424242');
    expect(back.startsWith(`${tg.consoleUrl}/account/billing/${providerId}/return?session=${session}`)).toBe(
      true,
    );
    const saved = await portal.get(back.slice(tg.consoleUrl!.length));
    expect(saved.res.headers.get('location')).toBe('/account/billing?card=saved');
    expect((await portal.get('/account/billing')).text).toMatch(/visa •••• 4242, expires 12\/\d{4}/);

    for (let i = 0; i < 7; i++) expect((await call(buyer.key)).status).toBe(200);
    await tg.meter!.flush();
    clock.set(Date.UTC(2026, 11, 1, 10, 0));
    const run = await tg.billing.run({ subscriptionId: buyer.subscriptionId, finalize: true });
    const invoiceId = run.invoiceIds[0]!;
    const payment = await until(
      'payment',
      () => tg.payments.paymentOf(invoiceId),
      (p) => p?.status === 'paid',
    );
    const ours = await tg.billing.getInvoice(invoiceId);
    expect(ours.status).toBe('paid');
    expect(ours.lines.map((l) => [l.description, l.amount])).toEqual([
      [expect.stringContaining('Metered'), '5.00'],
      [expect.any(String), '0.09'], // 7 × 0.013 = 0.091 → 0.09
    ]);

    const theirs = await client.invoices.retrieve(payment!.reference!);
    expect(theirs).toMatchObject({ currency: 'usd', status: 'paid', total: 509, amount_paid: 509 });
    expect(theirs.metadata).toMatchObject({
      tollgate_invoice_id: invoiceId,
      tollgate_invoice_number: ours.number,
    });
    const lines = [];
    for await (const l of client.invoices.listLineItems(theirs.id!, { limit: 1 })) lines.push(l);
    expect(lines.map((l) => [l.description, l.amount])).toEqual(
      ours.lines.map((l) => [l.description, Math.round(Number(l.amount) * 100)]),
    );

    await stripe.settle();
    expect(stripe.deliveries).toContainEqual({ type: 'invoice.paid', status: 200 });
    await portal.login('ada@buyer.test', PASSWORD); // the session ended with the month that passed
    const mine = await portal.get(`/account/invoices/${invoiceId}`);
    expect(mine.text).toContain('data-payment="paid"');
    expect(mine.text).toContain(theirs.id!);
    const seller = new Browserless(tg.consoleUrl!);
    await seller.login('acme@seller.test', PASSWORD);
    const theirView = await seller.get(`/console/invoices/${invoiceId}`);
    expect(theirView.text).toContain('data-payment="paid"');
    expect((await seller.get('/console/payments')).text).toContain('sk_test_…');
  });

  it('declined card → past due → suspended after N days → forged and duplicated webhooks change nothing → paid → keys work', async () => {
    await tg.payments.dunning.setPolicy(planId, 3);
    const buyer = await subscriber('bob');
    const url = await tg.payments.startSetup(providerId, buyer.consumerId, {
      returnUrl: 'http://127.0.0.1:9/r?s={SESSION}',
      cancelUrl: 'http://127.0.0.1:9/c',
    });
    const session = /\/checkout\/(cs_test_\w+)$/.exec(url)![1]!;
    await stripe.completeCheckout(session, DECLINING_CARD);
    expect(await tg.payments.completeSetup(providerId, buyer.consumerId, session)).toMatchObject({
      last4: '0341',
    });

    for (let i = 0; i < 3; i++) expect((await call(buyer.key)).status).toBe(200);
    await tg.meter!.flush();
    clock.advance(31 * DAY);
    const run = await tg.billing.run({ subscriptionId: buyer.subscriptionId, finalize: true });
    const invoiceId = run.invoiceIds[0]!;
    const pastDue = await until(
      'past due',
      () => tg.payments.paymentOf(invoiceId),
      (p) => p?.status === 'past_due',
    );
    expect((await tg.payments.pastDue(providerId)).map((p) => p.subscriptionId)).toEqual([
      buyer.subscriptionId,
    ]);

    clock.advance(2 * DAY);
    await tg.payments.tick();
    expect((await call(buyer.key)).status).toBe(200); // 2 days: not yet

    clock.advance(1 * DAY + 1000);
    await tg.payments.tick();
    const suspendedAt = Date.now();
    await until(
      '403',
      () => call(buyer.key),
      (r) => r.status === 403,
      5_000,
    );
    expect(Date.now() - suspendedAt).toBeLessThan(1000);

    // forged: signed with another secret, or a signature copied onto another body
    const inv = await client.invoices.retrieve(pastDue!.reference!);
    const payload = JSON.stringify({
      id: 'evt_forged1',
      object: 'event',
      type: 'invoice.paid',
      api_version: null,
      created: 1,
      data: { object: { ...inv, status: 'paid' } },
    });
    const forged = client.webhooks.generateTestHeaderString({ payload, secret: 'whsec_notTheRealOne1' });
    const hook = stripe.webhookUrl!;
    const r1 = await fetch(hook, { method: 'POST', headers: { 'stripe-signature': forged }, body: payload });
    expect(r1.status).toBe(400);
    const real = client.webhooks.generateTestHeaderString({ payload: '{}', secret: stripe.webhookSecret });
    const r2 = await fetch(hook, { method: 'POST', headers: { 'stripe-signature': real }, body: payload });
    expect(r2.status).toBe(400);
    const big = await fetch(hook, {
      method: 'POST',
      headers: { 'stripe-signature': real },
      body: 'x'.repeat(300_000),
    });
    expect(big.status).toBe(413);
    expect((await tg.payments.paymentOf(invoiceId))?.status).toBe('past_due');
    expect((await call(buyer.key)).status).toBe(403);

    await stripe.payHostedInvoice(pastDue!.reference!);
    await stripe.settle();
    await until(
      'paid',
      () => tg.payments.paymentOf(invoiceId),
      (p) => p?.status === 'paid',
    );
    await until(
      'keys back',
      () => call(buyer.key),
      (r) => r.status === 200,
      5_000,
    );
    expect((await tg.billing.getInvoice(invoiceId)).status).toBe('paid');
    expect(await tg.payments.pastDue(providerId)).toEqual([]);

    // the same invoice.paid again (Stripe's at-least-once delivery): answered, not re-applied
    const paidEvent = stripe.events.filter((e) => e.type === 'invoice.paid').at(-1)!;
    const audits = async () =>
      (await tg.store.db.selectFrom('audit_log').select('id').where('entity_id', '=', invoiceId).execute())
        .length;
    const before = await audits();
    expect(await stripe.redeliver(paidEvent.id)).toBe(200);
    // and a late payment_failed for a paid invoice: a final state is never undone
    const failedEvent = stripe.events.find((e) => e.type === 'invoice.payment_failed')!;
    expect(await stripe.redeliver(failedEvent.id)).toBe(200);
    expect(await audits()).toBe(before);
    expect((await tg.payments.paymentOf(invoiceId))?.status).toBe('paid');
    expect((await call(buyer.key)).status).toBe(200);
  });

  it('a lost webhook is repaired by reconciliation; a zero invoice is paid without Stripe', async () => {
    const buyer = await subscriber('dee');
    const url = await tg.payments.startSetup(providerId, buyer.consumerId, {
      returnUrl: 'http://127.0.0.1:9/r?s={SESSION}',
      cancelUrl: 'http://127.0.0.1:9/c',
    });
    const session = /\/checkout\/(cs_test_\w+)$/.exec(url)![1]!;
    await stripe.completeCheckout(session, DECLINING_CARD);
    await tg.payments.completeSetup(providerId, buyer.consumerId, session);
    clock.advance(31 * DAY);
    const run = await tg.billing.run({ subscriptionId: buyer.subscriptionId, finalize: true });
    const invoiceId = run.invoiceIds[0]!;
    const due = await until(
      'past due',
      () => tg.payments.paymentOf(invoiceId),
      (p) => p?.status === 'past_due',
    );
    await stripe.settle();
    stripe.dropEvents = true; // Stripe's invoice.paid never arrives
    await stripe.payHostedInvoice(due!.reference!);
    expect((await tg.payments.paymentOf(invoiceId))?.status).toBe('past_due');
    expect(await tg.payments.reconcile()).toMatchObject({ changed: 1, failed: 0 });
    expect((await tg.billing.getInvoice(invoiceId)).status).toBe('paid');
    stripe.dropEvents = false;

    const free = await admin.post<{ id: string }>('/plans', { providerId, name: 'Free', apiIds: [] });
    await tg.billing.setPrice(free.id, { currency: 'USD', recurringFee: '0', charges: [] }, 'test');
    const consumer = await admin.post<{ id: string }>('/consumers', { providerId, name: 'eve' });
    const sub = await admin.post<{ id: string }>('/subscriptions', {
      consumerId: consumer.id,
      planId: free.id,
    });
    const stripeInvoices = stripe.invoices.size;
    clock.advance(31 * DAY);
    const zero = await tg.billing.run({ subscriptionId: sub.id, finalize: true });
    const inv = await tg.billing.getInvoice(zero.invoiceIds[0]!);
    expect(inv).toMatchObject({ total: '0.00', status: 'paid' });
    expect(await tg.payments.paymentOf(inv.id)).toMatchObject({ status: 'paid', reference: null });
    expect(stripe.invoices.size).toBe(stripeInvoices);
  });

  it('a hard budget stops calls at the budget, and each alert threshold fires once', async () => {
    const buyer = await subscriber('cy');
    // 0.013 per call: the 8th call takes the estimate to 0.104 ≥ 0.10
    expect(
      await tg.payments.spend.setBudget(buyer.subscriptionId, { amount: '0.10', hardCap: true }),
    ).toMatchObject({
      spent: '0',
      capped: false,
    });
    const served: number[] = [];
    for (let i = 1; i <= 8; i++) {
      if ((await call(buyer.key)).status === 200) served.push(i);
      await tg.meter!.flush(); // the metering side (alerts' spendOf) re-estimates after each flush
    }
    // nothing but the flush path sets the flag: wait for it, then the gateway refuses
    const capped = () =>
      tg.store.db
        .selectFrom('spend_budgets')
        .select('capped_until')
        .where('subscription_id', '=', buyer.subscriptionId)
        .executeTakeFirstOrThrow();
    await until('cap', capped, (r) => r.capped_until !== null);
    await tg.snapshots.refresh(); // the reload the change already triggered, awaited
    const refused = await call(buyer.key); // the 9th call: not served
    expect(refused).toEqual({ status: 429, body: '{"message":"Limit Exceeded"}' });
    for (let i = 0; i < 3; i++) expect((await call(buyer.key)).status).toBe(429);
    await tg.meter!.flush();
    expect(served).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const alerts = () =>
      tg.store.db
        .selectFrom('usage_alerts')
        .select(['threshold'])
        .where('subscription_id', '=', buyer.subscriptionId)
        .where('kind', '=', 'spend')
        .orderBy('threshold')
        .execute();
    const fired = await until('alerts', alerts, (rows) => rows.length === 3);
    expect(fired.map((a) => a.threshold)).toEqual([50, 80, 100]);
    expect(await alerts()).toHaveLength(3);
  });
});
