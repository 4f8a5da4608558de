/**
 * Tollgate's Stripe processor through the official `stripe` client against the local Stripe
 * server: customers, the hosted setup flow, collection (one item per line, minor units),
 * idempotent retries, declines, webhook signatures, Stripe's errors and list pagination.
 */
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PaymentProcessor, ProcessorError, stripeProcessor } from '../../src/payments/index.js';
import { DECLINING_CARD, type LocalStripe, startLocalStripe } from './stripe-server.js';

describe('Stripe processor against the local Stripe', () => {
  let stripe: LocalStripe;
  let p: PaymentProcessor;
  let client: Stripe;

  beforeAll(async () => {
    stripe = await startLocalStripe();
    p = stripeProcessor({
      secretKey: stripe.secretKey,
      webhookSecret: stripe.webhookSecret,
      apiUrl: stripe.url,
    });
    const u = new URL(stripe.url);
    client = new Stripe(stripe.secretKey, { host: u.hostname, port: Number(u.port), protocol: 'http' });
  });
  afterAll(() => stripe.close());

  async function customerWithCard(card: string) {
    const { customerRef } = await p.createCustomer({
      idempotencyKey: `k-${card}-${Math.random()}`,
      name: 'Buyer',
      email: 'b@example.com',
      metadata: {},
    });
    const { url, sessionRef } = await p.startSetup({
      idempotencyKey: `s-${customerRef}`,
      customerRef,
      returnUrl: 'http://127.0.0.1:1/back?session={SESSION}',
      cancelUrl: 'http://127.0.0.1:1/cancel',
    });
    expect(url).toBe(`${stripe.url}/checkout/${sessionRef}`);
    expect(await p.completeSetup({ sessionRef, customerRef })).toBeNull(); // not yet complete
    const back = await stripe.completeCheckout(sessionRef, card);
    expect(back).toBe(`http://127.0.0.1:1/back?session=${sessionRef}`);
    const done = await p.completeSetup({ sessionRef, customerRef });
    expect(done?.card).toMatchObject({ brand: 'visa', last4: card.slice(-4) });
    return customerRef;
  }

  it('checks the connection and refuses a wrong key with Stripe’s 401', async () => {
    expect(await p.checkConnection()).toEqual({ accountRef: 'acct_local0000000001' });
    const wrong = stripeProcessor({
      secretKey: 'sk_test_wrong0000',
      webhookSecret: 'whsec_x',
      apiUrl: stripe.url,
    });
    const e = await wrong.checkConnection().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ProcessorError);
    expect((e as ProcessorError).message).toMatch(/Invalid API Key/);
    expect((e as ProcessorError).retryable).toBe(false);
  });

  it('creates one customer per idempotency key, and one Stripe invoice per Tollgate invoice', async () => {
    const a = await p.createCustomer({
      idempotencyKey: 'tg-customer-x',
      name: 'A',
      email: null,
      metadata: {},
    });
    const b = await p.createCustomer({
      idempotencyKey: 'tg-customer-x',
      name: 'A',
      email: null,
      metadata: {},
    });
    expect(b.customerRef).toBe(a.customerRef);
    await expect(
      p.createCustomer({ idempotencyKey: 'tg-customer-x', name: 'B', email: null, metadata: {} }),
    ).rejects.toThrow(/same parameters/);

    const customerRef = await customerWithCard('4242424242424242');
    const lines = Array.from({ length: 13 }, (_, i) => ({
      description: `line ${i + 1}`,
      amountMinor: 100 * (i + 1),
    }));
    const inv = {
      id: 'inv_one',
      number: 'INV-000001',
      currency: 'EUR',
      customerRef,
      lines,
      charge: true,
      daysUntilDue: 14,
    };
    const first = await p.collect(inv);
    expect(first).toMatchObject({ status: 'paid', paymentFailed: false });
    const again = await p.collect(inv); // a retry after, say, a lost response
    expect(again.reference).toBe(first.reference);
    expect(
      [...stripe.invoices.values()].filter(
        (i) => i.metadata && (i.metadata as Record<string, string>).tollgate_invoice_id === 'inv_one',
      ),
    ).toHaveLength(1);

    // the official client pages the lines (13 > the default 10) and they agree with ours
    const remote = await client.invoices.retrieve(first.reference);
    expect(remote).toMatchObject({ currency: 'eur', total: 9100, amount_paid: 9100, status: 'paid' });
    expect(remote.lines.has_more).toBe(true);
    const all = [];
    for await (const l of client.invoices.listLineItems(first.reference, { limit: 5 })) all.push(l);
    expect(all.map((l) => [l.description, l.amount])).toEqual(
      lines.map((l) => [l.description, l.amountMinor]),
    );
  });

  it('emails the invoice when there is no card, and reports a declined card as a failed payment', async () => {
    const { customerRef } = await p.createCustomer({
      idempotencyKey: 'no-card',
      name: 'C',
      email: 'c@example.com',
      metadata: {},
    });
    const sent = await p.collect({
      id: 'inv_two',
      number: 'INV-2',
      currency: 'USD',
      customerRef,
      lines: [{ description: 'x', amountMinor: 500 }],
      charge: false,
      daysUntilDue: 7,
    });
    expect(sent).toMatchObject({ status: 'open', paymentFailed: false });
    expect(sent.hostedUrl).toBe(`${stripe.url}/i/${sent.reference}`);

    const declining = await customerWithCard(DECLINING_CARD);
    const failed = await p.collect({
      id: 'inv_three',
      number: 'INV-3',
      currency: 'USD',
      customerRef: declining,
      lines: [{ description: 'y', amountMinor: 700 }],
      charge: true,
      daysUntilDue: 7,
    });
    expect(failed).toMatchObject({ status: 'open', paymentFailed: true });
    await stripe.payHostedInvoice(failed.reference);
    expect(await p.invoice(failed.reference)).toMatchObject({ status: 'paid' });
  });

  it('verifies webhook signatures with the official library', () => {
    const payload = JSON.stringify({
      id: 'evt_1',
      object: 'event',
      type: 'invoice.paid',
      data: {
        object: {
          id: 'in_1',
          object: 'invoice',
          status: 'paid',
          attempt_count: 1,
          hosted_invoice_url: null,
          metadata: { tollgate_invoice_id: 'inv_x' },
        },
      },
    });
    const good = client.webhooks.generateTestHeaderString({ payload, secret: stripe.webhookSecret });
    expect(p.parseEvent(payload, good)).toMatchObject({
      id: 'evt_1',
      type: 'invoice.paid',
      invoice: { reference: 'in_1', status: 'paid', tollgateInvoiceId: 'inv_x' },
    });
    const forged = client.webhooks.generateTestHeaderString({ payload, secret: 'whsec_attacker' });
    expect(() => p.parseEvent(payload, forged)).toThrow(/signature/);
    expect(() => p.parseEvent(payload.replace('inv_x', 'inv_y'), good)).toThrow(/signature/);
    const stale = client.webhooks.generateTestHeaderString({
      payload,
      secret: stripe.webhookSecret,
      timestamp: Math.floor(Date.now() / 1000) - 3600,
    });
    expect(() => p.parseEvent(payload, stale)).toThrow(/signature/);
  });

  it('answers unknown parameters and missing resources the way Stripe does', async () => {
    const e1 = await client.customers.create({ nonsense: 1 } as never).catch((x: unknown) => x);
    expect(e1).toMatchObject({
      type: 'StripeInvalidRequestError',
      statusCode: 400,
      code: 'parameter_unknown',
      param: 'nonsense',
    });
    const e2 = await client.invoices.retrieve('in_missing').catch((x: unknown) => x);
    expect(e2).toMatchObject({ statusCode: 404, code: 'resource_missing' });
  });
});
