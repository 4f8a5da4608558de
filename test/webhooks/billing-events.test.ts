/** Billing's invoice events reach a provider's endpoint, signed, over a real socket. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Billing, createBilling } from '../../src/billing/index.js';
import { ManualClock, silentLogger } from '../../src/shared/index.js';
import type { Store } from '../../src/store/index.js';
import { createWebhooks, verifySignature, type Webhooks } from '../../src/webhooks/index.js';
import * as fx from '../billing/fixtures.js';
import { testOutbound } from '../helpers/outbound.js';
import { sqliteStore } from '../helpers/stores.js';

describe('invoice.* webhooks', () => {
  let store: Store;
  let server: Server;
  let url: string;
  const got: Array<{ sig: string; body: string }> = [];
  let hooks: Webhooks;
  let billing: Billing;
  const clock = new ManualClock(Date.UTC(2026, 0, 1));

  beforeAll(async () => {
    store = await sqliteStore.open();
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        got.push({ sig: String(req.headers['tollgate-signature']), body });
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/tollgate`;
    await fx.provider(store);
    await fx.plan(store, 'pln_a');
    await fx.consumer(store, 'con_a');
    await fx.subscription(store, {
      id: 'sub_a',
      consumerId: 'con_a',
      planId: 'pln_a',
      startedAt: Date.UTC(2026, 0, 1),
    });
    hooks = createWebhooks({ outbound: testOutbound(), store, clock, log: silentLogger });
    billing = createBilling({ store, clock, log: silentLogger, webhooks: hooks });
    await billing.setPrice('pln_a', { currency: 'GBP', recurringFee: '12.5' }, 'test');
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await store.close();
  });

  it('created, finalized, paid — each signed with the endpoint secret', async () => {
    const { secret } = await hooks.addEndpoint('prv_acme', { url });
    clock.set(Date.UTC(2026, 1, 1, 1));
    const { invoiceIds } = await billing.run();
    await billing.finalize(invoiceIds[0]!);
    await billing.markPaid(invoiceIds[0]!);
    expect(await hooks.deliverDue()).toEqual({ delivered: 3, retrying: 0, failed: 0 });
    const nowSec = Math.floor(clock.now() / 1000);
    for (const g of got) expect(verifySignature(g.sig, g.body, secret, { nowSec }).ok).toBe(true);
    const events = got.map(
      (g) => JSON.parse(g.body) as { type: string; data: { id: string; status: string; total: string } },
    );
    expect(events.map((e) => e.type).sort()).toEqual([
      'invoice.created',
      'invoice.finalized',
      'invoice.paid',
    ]);
    const paid = events.find((e) => e.type === 'invoice.paid')!;
    expect(paid.data).toMatchObject({ id: invoiceIds[0], status: 'paid', total: '12.50' });
  });
});
