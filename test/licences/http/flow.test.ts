/**
 * The wholesale story over HTTP, on SQLite and PostgreSQL: Acme issues a licence for two
 * deployments to its buyer, the buyer downloads the file and verifies it offline against
 * Acme's published keys, two instances activate, a third is refused, one releases and the
 * third gets its seat; Acme renews, adds a deployment mid-way, rotates its key, revokes —
 * and activation is refused with a message that says so. Bolt (another provider) sees none
 * of it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PublicKeySet, peekLicence, verifyLicence } from '../../../src/licences/index.js';
import { testStores } from '../../helpers/stores.js';
import { DAY, type Harness, HOUR, startHarness, T0 } from './harness.js';

const iso = (ms: number) => new Date(ms).toISOString();

for (const kind of await testStores()) {
  describe(`licence HTTP flow on ${kind.name}`, () => {
    let h: Harness;
    let licenceId: string;
    let file: string;
    let keys: PublicKeySet;

    const activate = (instanceId: string, token = file) =>
      h.call('POST', '/licences/v1/activate', { token: null, body: { token, instanceId } });

    beforeAll(async () => {
      h = await startHarness(kind);
    });
    afterAll(async () => {
      await h?.close();
    });

    it('issues a licence with a provider token, scoped to that provider', async () => {
      const res = await h.call('POST', '/admin/v1/licences', {
        token: h.a.token,
        body: {
          productId: 'prd_nouns',
          consumerId: h.a.consumerId,
          subscriptionId: h.a.subscriptionId,
          deployments: 2,
          features: ['nouns', 'batch'],
          limits: { rateLimit: 50, burstLimit: 100 },
          validFrom: iso(T0),
          validUntil: iso(T0 + 365 * DAY),
        },
      });
      expect(res.status, res.text).toBe(201);
      licenceId = res.body.id;
      expect(licenceId).toMatch(/^lic_/);
      expect(res.headers.get('location')).toBe(`/admin/v1/licences/${licenceId}`);
      expect(res.body).toMatchObject({
        providerId: h.a.providerId,
        productId: 'prd_nouns',
        licensee: { id: h.a.consumerId, name: "Acme's buyer" },
        subscriptionId: h.a.subscriptionId,
        deployments: 2,
        features: ['nouns', 'batch'],
        limits: { rateLimit: 50, burstLimit: 100 },
        validFrom: iso(T0),
        validUntil: iso(T0 + 365 * DAY),
        status: 'active',
        revokedAt: null,
      });
      expect(res.body).not.toHaveProperty('token');
    });

    it('serves the signed file as application/jwt, and it verifies against the published keys', async () => {
      const res = await fetch(`${h.url}/admin/v1/licences/${licenceId}/file`, {
        headers: { authorization: `Bearer ${h.a.token}` },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/jwt');
      expect(res.headers.get('content-disposition')).toBe('attachment; filename="licence.jwt"');
      expect(res.headers.get('cache-control')).toBe('no-store');
      file = (await res.text()).trim();
      expect(peekLicence(file)).toEqual({ providerId: h.a.providerId, licenceId });

      const pub = await fetch(`${h.url}/licences/v1/keys/${h.a.providerId}`);
      expect(pub.status).toBe(200);
      expect(pub.headers.get('content-type')).toBe('application/jwk-set+json');
      keys = (await pub.json()) as PublicKeySet;
      expect(keys.keys).toHaveLength(1);
      expect(keys.keys[0]).not.toHaveProperty('d');
      expect(keys.revoked).toEqual([]);

      const verdict = await verifyLicence(file, keys, { productId: 'prd_nouns', nowMs: h.clock.now() });
      expect(verdict.ok).toBe(true);
      if (verdict.ok) {
        expect(verdict.licence).toMatchObject({
          id: licenceId,
          deployments: 2,
          features: ['nouns', 'batch'],
        });
      }
      const wrong = await verifyLicence(file, keys, { productId: 'prd_capture', nowMs: h.clock.now() });
      expect(wrong).toMatchObject({ ok: false, code: 'WRONG_PRODUCT' });
    });

    it('admits two deployments, refuses a third, and lets it in after a release', async () => {
      const one = await activate('vm-1:gw');
      expect(one.status, one.text).toBe(200);
      expect(one.body).toMatchObject({ ok: true, licenceId, deployments: 2, inUse: 1, heartbeatTtlMs: HOUR });
      const again = await activate('vm-1:gw');
      expect(again.body).toMatchObject({ ok: true, inUse: 1 });
      const two = await activate('vm-2:gw');
      expect(two.body).toMatchObject({ ok: true, inUse: 2 });

      const three = await activate('vm-3:gw');
      expect(three.status).toBe(409);
      expect(three.body.ok).toBe(false);
      expect(three.body.code).toBe('SEATS_EXHAUSTED');
      expect(three.body.message).toMatch(/All 2 deployment\(s\).*vm-1:gw, vm-2:gw/);

      const seats = await h.call('GET', `/admin/v1/licences/${licenceId}/activations`, { token: h.a.token });
      expect(seats.status).toBe(200);
      expect(seats.body).toMatchObject({ licenceId, deployments: 2, inUse: 2, heartbeatTtlMs: HOUR });
      expect(seats.body.items.map((a: { instanceId: string }) => a.instanceId).sort()).toEqual([
        'vm-1:gw',
        'vm-2:gw',
      ]);

      const released = await h.call('POST', '/licences/v1/release', {
        token: null,
        body: { token: file, instanceId: 'vm-1:gw' },
      });
      expect(released.status).toBe(200);
      expect(released.body).toMatchObject({ ok: true, inUse: 1 });
      expect((await activate('vm-3:gw')).body).toMatchObject({ ok: true, inUse: 2 });

      const live = await h.call('GET', `/admin/v1/licences/${licenceId}/activations?live=true`, {
        token: h.a.token,
      });
      expect(live.body.items.map((a: { instanceId: string }) => a.instanceId).sort()).toEqual([
        'vm-2:gw',
        'vm-3:gw',
      ]);
      const gone = await h.call('GET', `/admin/v1/licences/${licenceId}/activations?live=false`, {
        token: h.a.token,
      });
      expect(gone.body.items).toMatchObject([{ instanceId: 'vm-1:gw', live: false }]);
      expect(gone.body.items[0].releasedAt).not.toBeNull();
    });

    it('adds a deployment mid-way: the file is re-signed and the timeline shows both counts', async () => {
      h.clock.set(T0 + 10 * DAY);
      const changed = await h.call('POST', `/admin/v1/licences/${licenceId}/deployments`, {
        token: h.a.token,
        body: { deployments: 3, effectiveAt: iso(T0 + 15 * DAY) },
      });
      expect(changed.status, changed.text).toBe(200);
      expect(changed.body.deployments).toBe(3);

      const timeline = await h.call(
        'GET',
        `/admin/v1/licences/${licenceId}/timeline?from=${iso(T0)}&to=${iso(T0 + 30 * DAY)}`,
        { token: h.a.token },
      );
      expect(timeline.status, timeline.text).toBe(200);
      expect(timeline.body).toEqual({
        licenceId,
        from: iso(T0),
        to: iso(T0 + 30 * DAY),
        segments: [
          { from: iso(T0), to: iso(T0 + 15 * DAY), quantity: 2 },
          { from: iso(T0 + 15 * DAY), to: iso(T0 + 30 * DAY), quantity: 3 },
        ],
      });

      const whole = await h.call('GET', `/admin/v1/licences/${licenceId}/timeline`, { token: h.a.token });
      expect(whole.body.from).toBe(iso(T0));
      expect(whole.body.to).toBe(iso(T0 + 365 * DAY));

      const fresh = await (
        await fetch(`${h.url}/admin/v1/licences/${licenceId}/file`, {
          headers: { authorization: `Bearer ${h.operator}` },
        })
      ).text();
      const v = await verifyLicence(fresh, keys, { nowMs: h.clock.now() });
      expect(v.ok && v.licence.deployments).toBe(3);
      file = fresh.trim();
      // Ten days on, the earlier instances stopped sending heartbeats long ago: their seats lapsed.
      expect((await activate('vm-4:gw')).body).toMatchObject({ ok: true, deployments: 3, inUse: 1 });
    });

    it('renews, and after a key rotation the renewed file verifies with the new key', async () => {
      const rotated = await h.call('POST', '/admin/v1/licence-keys/rotate', { token: h.a.token });
      expect(rotated.status, rotated.text).toBe(201);
      expect(rotated.body).toMatchObject({ providerId: h.a.providerId, status: 'active' });
      expect(rotated.body.publicJwk).not.toHaveProperty('d');
      const list = await h.call('GET', '/admin/v1/licence-keys', { token: h.a.token });
      expect(list.body.items.map((k: { status: string }) => k.status)).toEqual(['previous', 'active']);
      for (const k of list.body.items) expect(k.publicJwk).not.toHaveProperty('d');

      const renewed = await h.call('POST', `/admin/v1/licences/${licenceId}/renew`, {
        token: h.a.token,
        body: { validUntil: iso(T0 + 730 * DAY) },
      });
      expect(renewed.status, renewed.text).toBe(200);
      expect(renewed.body.validUntil).toBe(iso(T0 + 730 * DAY));
      expect(renewed.body.kid).toBe(rotated.body.kid);

      const pub = (await (await fetch(`${h.url}/licences/v1/keys/${h.a.providerId}`)).json()) as PublicKeySet;
      expect(pub.keys.map((k) => k.kid)).toContain(rotated.body.kid);
      const text = await (
        await fetch(`${h.url}/admin/v1/licences/${licenceId}/file`, {
          headers: { authorization: `Bearer ${h.a.token}` },
        })
      ).text();
      const v = await verifyLicence(text, pub, { productId: 'prd_nouns', nowMs: h.clock.now() });
      expect(v.ok && v.licence.validUntil).toBe(T0 + 730 * DAY);
      expect(v.ok && v.licence.kid).toBe(rotated.body.kid);
    });

    it('keeps Bolt out of Acme’s licences and keys (404, empty lists)', async () => {
      const b = { token: h.b.token };
      for (const path of [
        `/admin/v1/licences/${licenceId}`,
        `/admin/v1/licences/${licenceId}/file`,
        `/admin/v1/licences/${licenceId}/activations`,
        `/admin/v1/licences/${licenceId}/timeline`,
      ]) {
        const res = await h.call('GET', path, b);
        expect(res.status, path).toBe(404);
        expect(res.headers.get('content-type')).toBe('application/problem+json');
        expect(res.body.code).toBe('NOT_FOUND');
      }
      for (const [path, body] of [
        [`/admin/v1/licences/${licenceId}/revoke`, {}],
        [`/admin/v1/licences/${licenceId}/renew`, { validUntil: iso(T0 + 900 * DAY) }],
        [`/admin/v1/licences/${licenceId}/deployments`, { deployments: 9 }],
      ] as const) {
        const res = await h.call('POST', path, { ...b, body });
        expect(res.status, path).toBe(404);
      }
      const list = await h.call('GET', '/admin/v1/licences', b);
      expect(list.body).toEqual({ items: [], nextCursor: null });
      const filtered = await h.call('GET', `/admin/v1/licences?providerId=${h.a.providerId}`, b);
      expect(filtered.body.items).toEqual([]);
      const keys = await h.call('GET', `/admin/v1/licence-keys?providerId=${h.a.providerId}`, b);
      expect(keys.status).toBe(404);
      const kid = (await h.call('GET', '/admin/v1/licence-keys', { token: h.a.token })).body.items[0].kid;
      expect((await h.call('POST', `/admin/v1/licence-keys/${kid}/retire`, b)).status).toBe(404);
      // Nor may Bolt license Acme's buyer, or attach Acme's subscription.
      const steal = await h.call('POST', '/admin/v1/licences', {
        ...b,
        body: {
          productId: 'prd_x',
          consumerId: h.a.consumerId,
          deployments: 1,
          limits: { rateLimit: 1 },
          validUntil: iso(T0 + 900 * DAY),
        },
      });
      expect(steal.status).toBe(404);
      const sub = await h.call('POST', '/admin/v1/licences', {
        ...b,
        body: {
          productId: 'prd_x',
          consumerId: h.b.consumerId,
          subscriptionId: h.a.subscriptionId,
          deployments: 1,
          limits: { rateLimit: 1 },
          validUntil: iso(T0 + 900 * DAY),
        },
      });
      expect(sub.status).toBe(400);
      expect(sub.body.errors[0].field).toBe('subscriptionId');
    });

    it('lists for the operator with filters and pages', async () => {
      const more = await h.call('POST', '/admin/v1/licences', {
        body: {
          providerId: h.b.providerId,
          productId: 'prd_capture',
          consumerId: h.b.consumerId,
          deployments: 1,
          limits: { rateLimit: 5 },
          validFrom: iso(T0 + 900 * DAY),
          validUntil: iso(T0 + 1000 * DAY),
        },
      });
      expect(more.status, more.text).toBe(201);
      expect(more.body.status).toBe('scheduled');
      const first = await h.call('GET', '/admin/v1/licences?limit=1');
      expect(first.body.items).toHaveLength(1);
      expect(first.body.items[0].id).toBe(licenceId);
      const second = await h.call('GET', `/admin/v1/licences?limit=1&cursor=${first.body.nextCursor}`);
      expect(second.body.items.map((l: { id: string }) => l.id)).toEqual([more.body.id]);
      expect(second.body.nextCursor).toBeNull();
      const byConsumer = await h.call('GET', `/admin/v1/licences?consumerId=${h.b.consumerId}`);
      expect(byConsumer.body.items.map((l: { id: string }) => l.id)).toEqual([more.body.id]);
      const scheduled = await h.call('GET', '/admin/v1/licences?status=scheduled');
      expect(scheduled.body.items.map((l: { id: string }) => l.id)).toEqual([more.body.id]);
      const mine = await h.call('GET', '/admin/v1/licences', { token: h.a.token });
      expect(mine.body.items.map((l: { id: string }) => l.id)).toEqual([licenceId]);
    });

    it('revokes: activation is refused with a clear message and the id is published', async () => {
      const res = await h.call('POST', `/admin/v1/licences/${licenceId}/revoke`, { token: h.a.token });
      expect(res.status, res.text).toBe(200);
      expect(res.body.status).toBe('revoked');
      expect(res.body.revokedAt).toBe(iso(h.clock.now()));
      const again = await h.call('POST', `/admin/v1/licences/${licenceId}/revoke`, { token: h.a.token });
      expect(again.body.revokedAt).toBe(res.body.revokedAt);

      const refused = await activate('vm-2:gw');
      expect(refused.status).toBe(403);
      expect(refused.body).toMatchObject({ ok: false, code: 'REVOKED' });
      expect(refused.body.message).toMatch(/was revoked by the provider/);

      const pub = (await (await fetch(`${h.url}/licences/v1/keys/${h.a.providerId}`)).json()) as PublicKeySet;
      expect(pub.revoked).toEqual([licenceId]);
      const v = await verifyLicence(file, pub, { nowMs: h.clock.now() });
      expect(v).toMatchObject({ ok: false, code: 'REVOKED' });

      const renew = await h.call('POST', `/admin/v1/licences/${licenceId}/renew`, {
        token: h.a.token,
        body: { validUntil: iso(T0 + 900 * DAY) },
      });
      expect(renew.status).toBe(409);
      expect(renew.body.code).toBe('INVALID_STATE');
    });
  });
}
