/** Webhook delivery against a real loopback HTTP server, on SQLite and PostgreSQL. */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock, silentLogger } from '../../src/shared/index.js';
import type { Store } from '../../src/store/index.js';
import { createWebhooks, signatureHeader, verifySignature, type Webhooks } from '../../src/webhooks/index.js';
import { testOutbound } from '../helpers/outbound.js';
import { testStores } from '../helpers/stores.js';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A receiver that answers with the queued statuses (then 200) and records what it got. */
async function receiver(): Promise<{ server: Server; url: string; got: Received[]; statuses: number[] }> {
  const got: Received[] = [];
  const statuses: number[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      res.statusCode = statuses.shift() ?? 200;
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}/hooks`, got, statuses };
}

describe('signature', () => {
  it('verifies its own header, rejects a changed body, a wrong secret and an old timestamp', () => {
    const body = '{"id":"evt_1"}';
    const h = signatureHeader('whsec_x', 1_700_000_000, body);
    expect(h).toMatch(/^t=1700000000,v1=[0-9a-f]{64}$/);
    expect(verifySignature(h, body, 'whsec_x', { nowSec: 1_700_000_010 })).toEqual({
      ok: true,
      timestamp: 1_700_000_000,
    });
    expect(verifySignature(h, `${body} `, 'whsec_x', { nowSec: 1_700_000_010 })).toEqual({
      ok: false,
      reason: 'MISMATCH',
    });
    expect(verifySignature(h, body, 'whsec_y', { nowSec: 1_700_000_010 }).ok).toBe(false);
    expect(verifySignature(h, body, 'whsec_x', { nowSec: 1_700_001_000 })).toEqual({
      ok: false,
      reason: 'TOO_OLD',
    });
    expect(verifySignature('garbage', body, 'whsec_x')).toEqual({ ok: false, reason: 'MALFORMED' });
  });
});

for (const kind of await testStores()) {
  describe(`webhooks on ${kind.name}`, () => {
    let store: Store;
    let hooks: Webhooks;
    let rx: Awaited<ReturnType<typeof receiver>>;
    const clock = new ManualClock(Date.UTC(2026, 3, 1));

    beforeAll(async () => {
      store = await kind.open();
      rx = await receiver();
      await store.db.insertInto('providers').values({ id: 'prv_a', name: 'Acme', created_at: 0 }).execute();
      await store.db.insertInto('providers').values({ id: 'prv_b', name: 'Other', created_at: 0 }).execute();
      hooks = createWebhooks({
        outbound: testOutbound(),
        store,
        clock,
        log: silentLogger,
        timeoutMs: 2000,
        backoffBaseMs: 60_000,
      });
    });
    afterAll(async () => {
      await new Promise((r) => rx.server.close(r));
      await store.close();
    });

    it('delivers a signed event that the receiver can verify', async () => {
      const ep = await hooks.addEndpoint('prv_a', { url: rx.url });
      expect(ep.secret).toMatch(/^whsec_/);
      const id = await store.db
        .transaction()
        .execute((tx) => hooks.emit('prv_a', 'invoice.created', { invoice: 'inv_1' }, tx));
      expect(await hooks.emit('prv_b', 'invoice.created', {})).toMatch(/^evt_/); // no endpoint: nothing queued
      expect(await hooks.deliverDue()).toEqual({ delivered: 1, retrying: 0, failed: 0 });
      expect(rx.got).toHaveLength(1);
      const { headers, body } = rx.got[0]!;
      expect(headers['tollgate-event-id']).toBe(id);
      expect(headers['tollgate-event-type']).toBe('invoice.created');
      expect(JSON.parse(body)).toMatchObject({ id, type: 'invoice.created', data: { invoice: 'inv_1' } });
      const v = verifySignature(headers['tollgate-signature'] as string, body, ep.secret, {
        nowSec: Math.floor(clock.now() / 1000),
      });
      expect(v.ok).toBe(true);
      expect(await hooks.deliverDue()).toEqual({ delivered: 0, retrying: 0, failed: 0 });
    });

    it('an event emitted in a rolled-back transaction is never sent', async () => {
      await expect(
        store.db.transaction().execute(async (tx) => {
          await hooks.emit('prv_a', 'invoice.created', {}, tx);
          throw new Error('rollback');
        }),
      ).rejects.toThrow('rollback');
      expect(await hooks.deliverDue()).toEqual({ delivered: 0, retrying: 0, failed: 0 });
    });

    it('retries after a 500 with backoff, with the same event id', async () => {
      rx.got.length = 0;
      rx.statuses.push(500);
      const id = await hooks.emit('prv_a', 'invoice.paid', { n: 1 });
      expect(await hooks.deliverDue()).toEqual({ delivered: 0, retrying: 1, failed: 0 });
      // not due yet: first backoff is 60 s
      clock.advance(59_000);
      expect(await hooks.deliverDue()).toEqual({ delivered: 0, retrying: 0, failed: 0 });
      clock.advance(1_000);
      expect(await hooks.deliverDue()).toEqual({ delivered: 1, retrying: 0, failed: 0 });
      expect(rx.got.map((g) => g.headers['tollgate-event-id'])).toEqual([id, id]);
      const [d] = await hooks.listDeliveries('prv_a', { eventId: id });
      expect(d).toMatchObject({ status: 'delivered', attempts: 2, lastStatus: 200 });
    });

    it('a refused connection is retried, then given up after maxAttempts', async () => {
      const dead = createWebhooks({
        outbound: testOutbound(),
        store,
        clock,
        log: silentLogger,
        maxAttempts: 2,
        backoffBaseMs: 1000,
      });
      const closed = createServer();
      await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
      const port = (closed.address() as AddressInfo).port;
      await new Promise((r) => closed.close(r)); // nothing listens there now
      const ep = await dead.addEndpoint('prv_b', { url: `http://127.0.0.1:${port}/x` });
      const id = await dead.emit('prv_b', 'invoice.voided', {});
      expect((await dead.deliverDue()).retrying).toBe(1);
      clock.advance(1000);
      expect((await dead.deliverDue()).failed).toBe(1);
      const [d] = await dead.listDeliveries('prv_b', { eventId: id });
      expect(d).toMatchObject({ status: 'failed', attempts: 2, nextAttemptAt: null });
      await dead.removeEndpoint(ep.id);
    });

    it('the delivery loop sends what is due and stops cleanly', async () => {
      rx.got.length = 0;
      const id = await hooks.emit('prv_a', 'invoice.finalized', { n: 2 });
      const stop = hooks.startDelivery(10);
      const deadline = Date.now() + 3000;
      while (rx.got.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      await stop();
      expect(rx.got.map((g) => g.headers['tollgate-event-id'])).toEqual([id]);
    });

    it('validates endpoint input and manages secrets', async () => {
      await expect(hooks.addEndpoint('prv_a', { url: 'ftp://x' })).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
        issues: [{ field: 'url' }],
      });
      const [ep] = await hooks.listEndpoints('prv_a');
      expect(ep).not.toHaveProperty('secret');
      const { secret } = await hooks.rotateSecret(ep!.id);
      expect(secret).toMatch(/^whsec_/);
      expect((await hooks.updateEndpoint(ep!.id, { enabled: false })).enabled).toBe(false);
      // Changing only the URL leaves a disabled endpoint disabled.
      const moved = await hooks.updateEndpoint(ep!.id, { url: `${rx.url}/v2` });
      expect(moved).toMatchObject({ url: `${rx.url}/v2`, enabled: false });
      expect(await hooks.emit('prv_a', 'invoice.created', {})).toMatch(/^evt_/);
      expect(await hooks.deliverDue()).toEqual({ delivered: 0, retrying: 0, failed: 0 });
    });
  });
}
