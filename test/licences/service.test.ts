import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLicences, type Licences, verifyLicence } from '../../src/licences/index.js';
import { ManualClock, silentLogger } from '../../src/shared/index.js';
import type { Store } from '../../src/store/index.js';
import { testStores } from '../helpers/stores.js';
import { DAY, T0 } from './helpers.js';

const SECRET = 'test-secret-that-is-at-least-32-characters-long';
const HOUR = 3_600_000;

async function seed(store: Store): Promise<void> {
  await store.db.insertInto('providers').values({ id: 'prv_acme', name: 'Acme', created_at: T0 }).execute();
  await store.db
    .insertInto('consumers')
    .values({
      id: 'con_globex',
      provider_id: null,
      name: 'Globex Corp',
      email: 'ops@globex.example',
      external_customer_id: null,
      external: '{}',
      created_at: T0,
      updated_at: T0,
    })
    .execute();
}

for (const kind of await testStores()) {
  describe(`licences service on ${kind.name}`, () => {
    let store: Store;
    let clock: ManualClock;
    let licences: Licences;
    const issue = (over: Partial<Parameters<Licences['issue']>[0]> = {}) =>
      licences.issue({
        providerId: 'prv_acme',
        productId: 'prd_nouns',
        consumerId: 'con_globex',
        deployments: 2,
        features: ['nouns'],
        limits: { rateLimit: 50 },
        validUntil: clock.now() + 365 * DAY,
        ...over,
      });

    beforeAll(async () => {
      store = await kind.open();
      await seed(store);
      clock = new ManualClock(T0);
      licences = createLicences({ store, clock, log: silentLogger, secret: SECRET, heartbeatTtlMs: HOUR });
    });
    afterAll(async () => {
      await store.close();
    });

    it('issues a signed licence that verifies against the provider JWKS and reads back', async () => {
      const lic = await issue({ subscriptionId: null, features: ['nouns', 'nouns', 'batch'] });
      expect(lic.id).toMatch(/^lic_/);
      expect(lic.licensee).toEqual({ id: 'con_globex', name: 'Globex Corp' });
      expect(lic.features).toEqual(['nouns', 'batch']);
      const jwks = await licences.jwks('prv_acme');
      expect(jwks.keys).toHaveLength(1);
      const v = await verifyLicence(lic.token, jwks, { productId: 'prd_nouns', nowMs: clock.now() });
      expect(v).toMatchObject({ ok: true, licence: { id: lic.id, deployments: 2, kid: lic.kid } });
      expect(await licences.get(lic.id)).toEqual(lic);
      expect((await licences.list({ consumerId: 'con_globex' })).map((l) => l.id)).toContain(lic.id);
    });

    it('keeps the private key encrypted at rest; a wrong secret fails with a clear message', async () => {
      const row = await store.db.selectFrom('licence_signing_keys').selectAll().executeTakeFirstOrThrow();
      expect(row.private_jwk).toMatch(/^v1\./);
      expect(row.private_jwk).not.toContain('"d"');
      const wrong = createLicences({ store, clock, log: silentLogger, secret: 'x'.repeat(40) });
      const lic = await issue();
      await expect(wrong.renew(lic.id, T0 + 400 * DAY)).rejects.toThrow(/TOLLGATE_SECRET differs/);
    });

    it('validates input, naming the field', async () => {
      await expect(issue({ deployments: 0 })).rejects.toThrow(/deployments: must be an integer/);
      await expect(issue({ limits: { rateLimit: -1 } })).rejects.toThrow(/limits.rateLimit/);
      await expect(issue({ validUntil: T0 - 1000 })).rejects.toThrow(/validUntil: must be after validFrom/);
      await expect(issue({ consumerId: 'con_nobody' })).rejects.toThrow(/consumer con_nobody does not exist/);
      await expect(issue({ providerId: '' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    });

    it('key rotation: old tokens still verify with the old kid, new tokens use the new kid; retiring ends the old', async () => {
      const before = await issue();
      await expect(licences.generateKey('prv_acme')).rejects.toMatchObject({ code: 'CONFLICT' });
      clock.advance(1000);
      const rotated = await licences.rotateKey('prv_acme');
      expect(rotated.kid).not.toBe(before.kid);
      const after = await issue();
      expect(after.kid).toBe(rotated.kid);
      const jwks = await licences.jwks('prv_acme');
      expect(jwks.keys.map((k) => k.kid).sort()).toEqual([before.kid, rotated.kid].sort());
      for (const l of [before, after]) {
        expect(await verifyLicence(l.token, jwks, { nowMs: clock.now() })).toMatchObject({
          ok: true,
          licence: { kid: l.kid },
        });
      }
      expect((await licences.listKeys('prv_acme')).map((k) => k.status)).toEqual(['previous', 'active']);
      await expect(licences.retireKey(rotated.kid)).rejects.toMatchObject({ code: 'INVALID_STATE' });
      await licences.retireKey(before.kid);
      const later = await licences.jwks('prv_acme');
      expect(await verifyLicence(before.token, later, { nowMs: clock.now() })).toMatchObject({
        code: 'UNKNOWN_KEY',
      });
      // Renewing re-signs with the current key, so the licence lives on after its key is retired.
      const renewed = await licences.renew(before.id, T0 + 500 * DAY);
      expect(renewed.kid).toBe(rotated.kid);
      expect(await verifyLicence(renewed.token, later, { nowMs: clock.now() })).toMatchObject({
        ok: true,
        licence: { validUntil: T0 + 500 * DAY },
      });
    });

    it('seat check: N deployments admit N instances; the same instance is idempotent; release frees a seat', async () => {
      const lic = await issue({ deployments: 2 });
      const a = await licences.activate({ token: lic.token, instanceId: 'vm-a' });
      expect(a).toMatchObject({ ok: true, inUse: 1, deployments: 2, heartbeatTtlMs: HOUR, token: lic.token });
      expect(await licences.activate({ token: lic.token, instanceId: 'vm-a' })).toMatchObject({
        ok: true,
        inUse: 1,
      });
      expect(await licences.activate({ token: lic.token, instanceId: 'vm-b' })).toMatchObject({
        ok: true,
        inUse: 2,
      });
      const c = await licences.activate({ token: lic.token, instanceId: 'vm-c' });
      expect(c).toEqual({
        ok: false,
        code: 'SEATS_EXHAUSTED',
        message: `All 2 deployment(s) of licence ${lic.id} are in use (instances: vm-a, vm-b). Release one, wait until one stops sending heartbeats (60 min), or buy more deployments.`,
      });
      expect(await licences.release({ token: lic.token, instanceId: 'vm-b' })).toMatchObject({
        ok: true,
        inUse: 1,
      });
      expect(await licences.activate({ token: lic.token, instanceId: 'vm-c' })).toMatchObject({
        ok: true,
        inUse: 2,
      });
      // vm-a goes quiet past the heartbeat TTL: its seat lapses and vm-b may take it.
      clock.advance(HOUR / 2);
      await licences.activate({ token: lic.token, instanceId: 'vm-c' });
      clock.advance(HOUR / 2 + 1);
      expect(await licences.activate({ token: lic.token, instanceId: 'vm-b' })).toMatchObject({
        ok: true,
        inUse: 2,
      });
      const rows = await store.db
        .selectFrom('licence_activations')
        .selectAll()
        .where('licence_id', '=', lic.id)
        .orderBy('instance_id')
        .execute();
      expect(rows.map((r) => [r.instance_id, r.released_at === null])).toEqual([
        ['vm-a', true],
        ['vm-b', true],
        ['vm-c', true],
      ]);
    });

    it('racing instances cannot take more seats than the licence allows', async () => {
      const lic = await issue({ deployments: 3 });
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => licences.activate({ token: lic.token, instanceId: `race-${i}` })),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(3);
      expect(results.filter((r) => !r.ok).every((r) => !r.ok && r.code === 'SEATS_EXHAUSTED')).toBe(true);
    });

    it('revoked: activation is refused and the licence id appears in the public keys file', async () => {
      const lic = await issue();
      await licences.activate({ token: lic.token, instanceId: 'vm-1' });
      const revoked = await licences.revoke(lic.id);
      expect(revoked.revokedAt).toBe(clock.now());
      expect(await licences.revoke(lic.id)).toEqual(revoked);
      const r = await licences.activate({ token: lic.token, instanceId: 'vm-1' });
      expect(r).toMatchObject({ ok: false, code: 'REVOKED' });
      if (!r.ok) expect(r.message).toContain(`licence ${lic.id} for Globex Corp was revoked by the provider`);
      expect((await licences.jwks('prv_acme')).revoked).toContain(lic.id);
      await expect(licences.renew(lic.id, T0 + 900 * DAY)).rejects.toMatchObject({ code: 'INVALID_STATE' });
    });

    it('activation refuses tokens it did not sign, edited tokens and unknown licences', async () => {
      const lic = await issue();
      const [h, p, s] = lic.token.split('.');
      const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
      claims.deployments = 99;
      const edited = [h, Buffer.from(JSON.stringify(claims)).toString('base64url'), s].join('.');
      expect(await licences.activate({ token: edited, instanceId: 'x' })).toMatchObject({ code: 'TAMPERED' });
      expect(await licences.activate({ token: 'junk', instanceId: 'x' })).toMatchObject({
        code: 'MALFORMED',
      });
      expect(await licences.activate({ token: lic.token, instanceId: 'has space' })).toMatchObject({
        code: 'MALFORMED',
        message: expect.stringContaining('instanceId'),
      });
      await store.db.deleteFrom('licence_deployment_changes').where('licence_id', '=', lic.id).execute();
      await store.db.deleteFrom('licences').where('id', '=', lic.id).execute();
      expect(await licences.activate({ token: lic.token, instanceId: 'x' })).toMatchObject({
        code: 'UNKNOWN_LICENCE',
      });
    });

    it('deployment timeline: a deployment added mid-period shows as its own segment; renewal re-signs', async () => {
      const start = Date.UTC(2026, 1, 1);
      clock.set(start);
      const lic = await issue({ deployments: 2, validFrom: start, validUntil: Date.UTC(2027, 1, 1) });
      const mid = Date.UTC(2026, 1, 15);
      clock.set(mid);
      const more = await licences.setDeployments(lic.id, 3);
      expect(more.deployments).toBe(3);
      expect(more.token).not.toBe(lic.token);
      const keys = await licences.jwks('prv_acme');
      expect(await verifyLicence(more.token, keys, { nowMs: mid })).toMatchObject({
        licence: { deployments: 3 },
      });
      await expect(licences.setDeployments(lic.id, 4, start)).rejects.toThrow(/effectiveAt/);
      const march = Date.UTC(2026, 2, 1);
      expect(await licences.deploymentTimeline(lic.id, start, march)).toEqual([
        { from: start, to: mid, quantity: 2 },
        { from: mid, to: march, quantity: 3 },
      ]);
      // The seat check follows the database, not the older token still in the buyer's hands.
      for (const i of ['d1', 'd2', 'd3']) {
        expect(await licences.activate({ token: lic.token, instanceId: i })).toMatchObject({
          ok: true,
          deployments: 3,
        });
      }
      await licences.revoke(lic.id);
      const revokedAt = clock.now();
      expect(await licences.deploymentTimeline(lic.id, start, march)).toEqual([
        { from: start, to: mid, quantity: 2 },
      ]);
      expect(revokedAt).toBe(mid);
    });
  });
}
