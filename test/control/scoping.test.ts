/**
 * Two providers share one Tollgate. Each gets a provider-scoped admin token; neither can
 * see or touch the other's API, plan, subscription, key or consumer (404, as if absent),
 * nor create admin tokens (403). The operator sees everything.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testStores } from '../helpers/stores.js';
import { type Harness, startHarness } from './harness.js';

interface World {
  providerId: string;
  token: string;
  tokenId: string;
  apiId: string;
  planId: string;
  consumerId: string;
  subId: string;
  keyId: string;
}

for (const kind of await testStores()) {
  describe(`admin API provider scoping on ${kind.name}`, () => {
    let h: Harness;
    let a: World;
    let b: World;

    async function world(name: string): Promise<World> {
      const providerId = (await h.call('POST', '/admin/v1/providers', { body: { name } })).body.id;
      const tok = await h.call('POST', '/admin/v1/tokens', {
        body: { name: `${name} ops`, scope: 'provider', providerId },
      });
      expect(tok.status).toBe(201);
      expect(tok.body.value).toMatch(/^tga_/);
      const token = tok.body.value as string;
      // Everything below is created by the provider's own token.
      const as = { token };
      const api = await h.call('POST', '/admin/v1/apis', {
        ...as,
        body: {
          name: `${name} API`,
          upstreamUrl: 'http://127.0.0.1:3',
          pathPrefix: `/${name.toLowerCase()}`,
        },
      });
      expect(api.status).toBe(201);
      expect(api.body.providerId).toBe(providerId);
      const plan = await h.call('POST', '/admin/v1/plans', {
        ...as,
        body: { name: 'Gold', apiIds: [api.body.id] },
      });
      const consumer = await h.call('POST', '/admin/v1/consumers', {
        ...as,
        body: { name: `${name} buyer` },
      });
      const sub = await h.call('POST', '/admin/v1/subscriptions', {
        ...as,
        body: { consumerId: consumer.body.id, planId: plan.body.id },
      });
      const key = await h.call('POST', '/admin/v1/keys', { ...as, body: { subscriptionId: sub.body.id } });
      expect(key.status).toBe(201);
      return {
        providerId,
        token,
        tokenId: tok.body.id,
        apiId: api.body.id,
        planId: plan.body.id,
        consumerId: consumer.body.id,
        subId: sub.body.id,
        keyId: key.body.id,
      };
    }

    beforeAll(async () => {
      h = await startHarness(kind);
      a = await world('Alpha');
      b = await world('Beta');
    });
    afterAll(async () => {
      await h.close();
    });

    it("cannot read, change or delete another provider's records: 404", async () => {
      const as = { token: a.token };
      const attempts: Array<[string, string, unknown?]> = [
        ['GET', `/admin/v1/providers/${b.providerId}`],
        ['PATCH', `/admin/v1/providers/${b.providerId}`, { name: 'mine' }],
        ['GET', `/admin/v1/apis/${b.apiId}`],
        ['PATCH', `/admin/v1/apis/${b.apiId}`, { name: 'mine' }],
        ['DELETE', `/admin/v1/apis/${b.apiId}`],
        ['GET', `/admin/v1/plans/${b.planId}`],
        ['PATCH', `/admin/v1/plans/${b.planId}`, { name: 'mine' }],
        ['DELETE', `/admin/v1/plans/${b.planId}`],
        ['GET', `/admin/v1/consumers/${b.consumerId}`],
        ['PATCH', `/admin/v1/consumers/${b.consumerId}`, { name: 'mine' }],
        ['DELETE', `/admin/v1/consumers/${b.consumerId}`],
        ['GET', `/admin/v1/subscriptions/${b.subId}`],
        ['PATCH', `/admin/v1/subscriptions/${b.subId}`, { status: 'suspended' }],
        ['DELETE', `/admin/v1/subscriptions/${b.subId}`],
        ['GET', `/admin/v1/subscriptions/${b.subId}/quota`],
        ['POST', `/admin/v1/subscriptions/${b.subId}/quota`, { delta: 1000, reason: 'free stuff' }],
        ['GET', `/admin/v1/keys/${b.keyId}`],
        ['PATCH', `/admin/v1/keys/${b.keyId}`, { enabled: false }],
        ['POST', `/admin/v1/keys/${b.keyId}/disable`],
        ['POST', `/admin/v1/keys/${b.keyId}/roll`],
        ['DELETE', `/admin/v1/keys/${b.keyId}`],
        ['GET', `/admin/v1/tokens/${b.tokenId}`],
        ['DELETE', `/admin/v1/tokens/${b.tokenId}`],
      ];
      for (const [method, path, body] of attempts) {
        const r = await h.call(method, path, { ...as, body });
        expect(r.status, `${method} ${path}`).toBe(404);
        expect(r.body.code).toBe('NOT_FOUND');
      }
      // Nor can it reach B's records by reference.
      const refs: Array<[string, unknown, string]> = [
        ['/admin/v1/plans', { name: 'steal', apiIds: [b.apiId] }, 'apiIds[0]'],
        ['/admin/v1/plans', { name: 'steal', providerId: b.providerId }, ''],
        ['/admin/v1/subscriptions', { consumerId: a.consumerId, planId: b.planId }, 'planId'],
        ['/admin/v1/subscriptions', { consumerId: b.consumerId, planId: a.planId }, 'consumerId'],
        ['/admin/v1/keys', { subscriptionId: b.subId }, 'subscriptionId'],
        [
          '/admin/v1/keys:import',
          { subscriptionId: b.subId, value: 'imported-into-beta-0001' },
          'subscriptionId',
        ],
      ];
      for (const [path, body, field] of refs) {
        const r = await h.call('POST', path, { ...as, body });
        expect([400, 404], `${path} ${JSON.stringify(body)}`).toContain(r.status);
        if (field) expect(r.body.errors.map((e: { field: string }) => e.field)).toContain(field);
      }
      // B's records are unchanged.
      const key = await h.call('GET', `/admin/v1/keys/${b.keyId}`);
      expect(key.body).toMatchObject({ enabled: true, replacedBy: null });
      const sub = await h.call('GET', `/admin/v1/subscriptions/${b.subId}`);
      expect(sub.body.status).toBe('active');
    });

    it('lists only its own records', async () => {
      const as = { token: a.token };
      for (const [path, id] of [
        ['providers', a.providerId],
        ['apis', a.apiId],
        ['plans', a.planId],
        ['consumers', a.consumerId],
        ['subscriptions', a.subId],
        ['keys', a.keyId],
        ['tokens', a.tokenId],
      ] as const) {
        const r = await h.call('GET', `/admin/v1/${path}?limit=200`, as);
        expect(r.status, path).toBe(200);
        expect(
          r.body.items.map((x: { id: string }) => x.id),
          path,
        ).toEqual([id]);
      }
      const audit = await h.call('GET', '/admin/v1/audit?limit=200', as);
      expect(audit.body.items.length).toBeGreaterThan(0);
      for (const e of audit.body.items) expect(e.providerId).toBe(a.providerId);
      const all = await h.call('GET', '/admin/v1/apis?limit=200');
      expect(all.body.items.map((x: { id: string }) => x.id)).toEqual(
        expect.arrayContaining([a.apiId, b.apiId]),
      );
    });

    it('sees a marketplace consumer once it subscribes to one of its plans', async () => {
      const market = await h.call('POST', '/admin/v1/consumers', { body: { name: 'Marketplace buyer' } });
      expect(market.body.providerId).toBeNull();
      expect((await h.call('GET', `/admin/v1/consumers/${market.body.id}`, { token: a.token })).status).toBe(
        404,
      );
      const sub = await h.call('POST', '/admin/v1/subscriptions', {
        body: { consumerId: market.body.id, planId: a.planId },
      });
      expect(sub.status).toBe(201);
      expect((await h.call('GET', `/admin/v1/consumers/${market.body.id}`, { token: a.token })).status).toBe(
        200,
      );
      expect((await h.call('GET', `/admin/v1/consumers/${market.body.id}`, { token: b.token })).status).toBe(
        404,
      );
    });

    it('cannot create admin tokens or providers, and a revoked token stops working', async () => {
      for (const scope of ['operator', 'provider']) {
        const r = await h.call('POST', '/admin/v1/tokens', {
          token: a.token,
          body: { name: 'more', scope, ...(scope === 'provider' ? { providerId: a.providerId } : {}) },
        });
        expect(r.status, scope).toBe(403);
        expect(r.body.code).toBe('FORBIDDEN');
      }
      expect(
        (await h.call('POST', '/admin/v1/providers', { token: a.token, body: { name: 'x' } })).status,
      ).toBe(403);
      const spare = await h.call('POST', '/admin/v1/tokens', {
        body: { name: 'spare', scope: 'provider', providerId: a.providerId },
      });
      const revoked = await h.call('DELETE', `/admin/v1/tokens/${spare.body.id}`, { token: a.token });
      expect(revoked.status).toBe(200);
      expect(revoked.body.revokedAt).not.toBeNull();
      expect(revoked.text).not.toContain(spare.body.value);
      expect((await h.call('GET', '/admin/v1/apis', { token: spare.body.value })).status).toBe(401);
      expect((await h.call('GET', '/admin/v1/apis', { token: a.token })).status).toBe(200);
    });
  });
}
