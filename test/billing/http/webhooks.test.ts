/**
 * Webhook endpoints over the admin API: a provider adds, lists, changes, disables, rotates
 * and removes its own endpoints and reads its deliveries (invoice events queued by a billing
 * run); another provider sees none of them; an operator names the provider. Real socket,
 * SQLite and PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testStores } from '../../helpers/stores.js';
import { type Harness, startHarness, T0 } from './harness.js';

const APRIL = Date.UTC(2026, 3, 1);

for (const kind of await testStores()) {
  describe(`webhook admin API (${kind.name})`, () => {
    let h: Harness;
    let endpointId: string;

    beforeAll(async () => {
      h = await startHarness(kind);
    });
    afterAll(async () => {
      await h?.close();
    });

    it('a provider adds an endpoint and sees its secret once', async () => {
      const r = await h.call('POST', '/webhooks/endpoints', {
        token: h.a.token,
        body: { url: 'http://127.0.0.1:9/hooks' },
      });
      expect(r.status).toBe(201);
      expect(r.body).toMatchObject({
        providerId: h.a.providerId,
        url: 'http://127.0.0.1:9/hooks',
        enabled: true,
        createdAt: new Date(T0).toISOString(),
        secret: expect.stringMatching(/^whsec_/),
      });
      endpointId = r.body.id;
      expect(r.headers.get('location')).toBe(`/admin/v1/webhooks/endpoints/${endpointId}`);
      const list = await h.call('GET', '/webhooks/endpoints', { token: h.a.token });
      expect(list.body.items).toHaveLength(1);
      expect(list.body.items[0]).not.toHaveProperty('secret');
    });

    it('refuses bad endpoints naming the field', async () => {
      const ftp = await h.call('POST', '/webhooks/endpoints', {
        token: h.a.token,
        body: { url: 'ftp://x.test/' },
      });
      expect(ftp.status).toBe(400);
      expect(ftp.body.errors[0].field).toBe('url');
      const short = await h.call('POST', '/webhooks/endpoints', {
        token: h.a.token,
        body: { url: 'https://x.test/', secret: 'short', extra: 1 },
      });
      expect(short.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['extra', 'secret']);
      const empty = await h.call('PATCH', `/webhooks/endpoints/${endpointId}`, {
        token: h.a.token,
        body: {},
      });
      expect(empty.status).toBe(400);
      const op = await h.call('POST', '/webhooks/endpoints', { body: { url: 'https://x.test/' } });
      expect(op.body.errors).toEqual([{ field: 'providerId', message: 'required for an operator token' }]);
      const ghost = await h.call('POST', '/webhooks/endpoints', {
        body: { url: 'https://x.test/', providerId: 'prv_01JD3Q3R9ZK0V5TQ8Y0S2M4N6P' },
      });
      expect(ghost.status).toBe(404);
      expect((await h.webhooks.listEndpoints(h.a.providerId)).length).toBe(1);
    });

    it("provider B can't see or touch A's endpoint", async () => {
      const b = h.b.token;
      expect((await h.call('GET', '/webhooks/endpoints', { token: b })).body.items).toEqual([]);
      expect(
        (await h.call('GET', `/webhooks/endpoints?providerId=${h.a.providerId}`, { token: b })).status,
      ).toBe(404);
      expect(
        (await h.call('PATCH', `/webhooks/endpoints/${endpointId}`, { token: b, body: { enabled: false } }))
          .status,
      ).toBe(404);
      expect(
        (await h.call('POST', `/webhooks/endpoints/${endpointId}/rotate-secret`, { token: b })).status,
      ).toBe(404);
      expect((await h.call('DELETE', `/webhooks/endpoints/${endpointId}`, { token: b })).status).toBe(404);
      expect((await h.call('GET', '/webhooks/deliveries', { token: b })).body.items).toEqual([]);
      expect((await h.webhooks.listEndpoints(h.a.providerId))[0]!.enabled).toBe(true);
    });

    it('disabling stays disabled when only the URL changes next; the secret rotates', async () => {
      const off = await h.call('PATCH', `/webhooks/endpoints/${endpointId}`, {
        token: h.a.token,
        body: { enabled: false },
      });
      expect(off.body.enabled).toBe(false);
      const moved = await h.call('PATCH', `/webhooks/endpoints/${endpointId}`, {
        token: h.a.token,
        body: { url: 'http://127.0.0.1:9/v2/hooks' },
      });
      expect(moved.body).toMatchObject({ url: 'http://127.0.0.1:9/v2/hooks', enabled: false });
      const on = await h.call('PATCH', `/webhooks/endpoints/${endpointId}`, { body: { enabled: true } });
      expect(on.body.enabled).toBe(true);

      const before = await h.store.db
        .selectFrom('webhook_endpoints')
        .select('secret_sealed')
        .where('id', '=', endpointId)
        .executeTakeFirstOrThrow();
      const rot = await h.call('POST', `/webhooks/endpoints/${endpointId}/rotate-secret`, {
        token: h.a.token,
      });
      expect(rot.status).toBe(200);
      expect(rot.body.id).toBe(endpointId);
      expect(rot.body.secret).toMatch(/^whsec_/);
      const after = await h.store.db
        .selectFrom('webhook_endpoints')
        .select('secret_sealed')
        .where('id', '=', endpointId)
        .executeTakeFirstOrThrow();
      expect(after.secret_sealed).not.toBe(before.secret_sealed); // stored sealed, and replaced
    });

    it('lists the deliveries of invoice events (operator names the provider)', async () => {
      await h.billing.setPrice(h.a.planId, { currency: 'USD', recurringFee: '5' }, 'test');
      h.clock.set(APRIL + 1);
      const run = await h.call('POST', '/billing/runs', { token: h.a.token, body: { finalize: true } });
      expect(run.body.created).toBe(1);
      const mine = await h.call('GET', '/webhooks/deliveries', { token: h.a.token });
      expect(mine.status).toBe(200);
      expect(mine.body.items.map((d: { type: string }) => d.type).sort()).toEqual([
        'invoice.created',
        'invoice.finalized',
      ]);
      expect(mine.body.items[0]).toMatchObject({
        url: 'http://127.0.0.1:9/v2/hooks',
        status: 'pending',
        attempts: 0,
        nextAttemptAt: new Date(APRIL + 1).toISOString(),
      });
      const eventId = mine.body.items[0].eventId as string;
      const one = await h.call(
        'GET',
        `/webhooks/deliveries?providerId=${h.a.providerId}&eventId=${eventId}&limit=5`,
      );
      expect(one.body.items.map((d: { eventId: string }) => d.eventId)).toEqual([eventId]);
      expect((await h.call('GET', '/webhooks/deliveries')).status).toBe(400);
    });

    it('removes the endpoint', async () => {
      expect((await h.call('DELETE', `/webhooks/endpoints/${endpointId}`, { token: h.a.token })).status).toBe(
        204,
      );
      expect((await h.call('GET', '/webhooks/endpoints', { token: h.a.token })).body.items).toEqual([]);
      expect((await h.call('DELETE', `/webhooks/endpoints/${endpointId}`)).status).toBe(404);
    });
  });
}
