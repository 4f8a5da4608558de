/**
 * Namespaces through the real admin API on SQLite and PostgreSQL: two providers, the
 * attacker (Mallory) trying to route the victim's (Victor's) traffic to its own upstream —
 * a prefix inside or around Victor's, a host-bound API, a move of an existing API — each
 * refused with the documented status; the operator's host assignments and the operator
 * itself still work; rows from before the rule are reported, not rewritten.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { namespaceConflicts } from '../../src/catalog/index.js';
import { type Harness, startHarness } from '../control/harness.js';
import { testStores } from '../helpers/stores.js';

const UP = 'http://127.0.0.1:9';

for (const kind of await testStores()) {
  describe(`namespaces (${kind.name})`, () => {
    let h: Harness;
    const victor = { id: '', token: '' };
    const mallory = { id: '', token: '' };
    const api = (who: { id: string; token: string }, body: Record<string, unknown>) =>
      h.call('POST', '/admin/v1/apis', { token: who.token, body: { name: 'X', upstreamUrl: UP, ...body } });

    beforeAll(async () => {
      h = await startHarness(kind);
      for (const [who, name] of [
        [victor, 'Victor'],
        [mallory, 'Mallory'],
      ] as const) {
        who.id = (await h.call('POST', '/admin/v1/providers', { body: { name } })).body.id;
        who.token = (
          await h.call('POST', '/admin/v1/tokens', {
            body: { name, scope: 'provider', providerId: who.id },
          })
        ).body.value;
      }
      expect((await api(victor, { pathPrefix: '/victim' })).status).toBe(201);
    });
    afterAll(async () => {
      await h?.close();
    });

    it('refuses a prefix inside or containing another provider’s, segment-wise (409 pathPrefix)', async () => {
      for (const pathPrefix of ['/victim', '/victim/orders', '/victim/a/b']) {
        const r = await api(mallory, { pathPrefix });
        expect(r.status, pathPrefix).toBe(409);
        expect(r.body.errors[0].field).toBe('pathPrefix');
        expect(r.text).not.toContain(victor.id);
      }
      const all = await api(mallory, { pathPrefix: null });
      expect(all.status).toBe(409);
      // A neighbour is not a namespace: /victimx is its own.
      expect((await api(mallory, { pathPrefix: '/victimx' })).status).toBe(201);
      // Nor may Victor take Mallory's /victimx/… now.
      expect((await api(victor, { pathPrefix: '/victimx/inner' })).status).toBe(409);
      // Within one provider, nesting stays allowed.
      expect((await api(victor, { pathPrefix: '/victim/v2' })).status).toBe(201);
    });

    it('refuses to move an existing API into another provider’s namespace', async () => {
      const own = await api(mallory, { pathPrefix: '/mallory' });
      expect(own.status).toBe(201);
      const moved = await h.call('PATCH', `/admin/v1/apis/${own.body.id}`, {
        token: mallory.token,
        body: { pathPrefix: '/victim/orders' },
      });
      expect(moved.status).toBe(409);
      expect(moved.body.errors[0].field).toBe('pathPrefix');
      const unprefixed = await h.call('PATCH', `/admin/v1/apis/${own.body.id}`, {
        token: mallory.token,
        body: { pathPrefix: null },
      });
      expect(unprefixed.status).toBe(409);
      expect((await h.call('GET', `/admin/v1/apis/${own.body.id}`)).body.pathPrefix).toBe('/mallory');
    });

    it('refuses a host the operator has not assigned (403 host); assigned hosts work', async () => {
      const r = await api(mallory, { host: 'shop.victor.example' });
      expect(r.status).toBe(403);
      expect(r.body.errors[0].field).toBe('host');
      // Host assignments are the operator's.
      const self = await h.call('POST', `/admin/v1/providers/${mallory.id}/hosts`, {
        token: mallory.token,
        body: { host: 'shop.victor.example' },
      });
      expect(self.status).toBe(403);
      const given = await h.call('POST', `/admin/v1/providers/${victor.id}/hosts`, {
        body: { host: 'Shop.Victor.example' },
      });
      expect(given.status).toBe(201);
      expect(given.body).toMatchObject({ host: 'shop.victor.example', providerId: victor.id });
      const again = await h.call('POST', `/admin/v1/providers/${mallory.id}/hosts`, {
        body: { host: 'shop.victor.example' },
      });
      expect(again.status).toBe(409);
      expect(again.body.errors[0].field).toBe('host');
      expect((await api(mallory, { host: 'shop.victor.example' })).status).toBe(403);
      const bound = await api(victor, { host: 'shop.victor.example' });
      expect(bound.status).toBe(201);
      // Listing: the operator and the provider itself; another provider sees nothing.
      const mine = await h.call('GET', `/admin/v1/providers/${victor.id}/hosts`, { token: victor.token });
      expect(mine.body.items.map((x: { host: string }) => x.host)).toEqual(['shop.victor.example']);
      expect(
        (await h.call('GET', `/admin/v1/providers/${victor.id}/hosts`, { token: mallory.token })).status,
      ).toBe(404);
      // Taken back only once no API binds it.
      const early = await h.call('DELETE', `/admin/v1/providers/${victor.id}/hosts/shop.victor.example`);
      expect(early.status).toBe(409);
      const bad = await h.call('POST', `/admin/v1/providers/${victor.id}/hosts`, {
        body: { host: 'not a host' },
      });
      expect(bad.status).toBe(400);
      expect(bad.body.errors[0].field).toBe('host');
      const audit = await h.call('GET', '/admin/v1/audit?entity=provider_host');
      expect(audit.body.items.map((e: { entityId: string }) => e.entityId)).toContain('shop.victor.example');
    });

    it('lets the operator do anything, and reports old conflicts without rewriting them', async () => {
      const op = await h.call('POST', '/admin/v1/apis', {
        body: { providerId: mallory.id, name: 'legacy', upstreamUrl: UP, pathPrefix: '/victim/legacy' },
      });
      expect(op.status).toBe(201);
      const unassigned = await h.call('POST', '/admin/v1/apis', {
        body: { providerId: mallory.id, name: 'legacy host', upstreamUrl: UP, host: 'old.example' },
      });
      expect(unassigned.status).toBe(201);
      expect((await h.call('GET', '/admin/v1/namespaces/conflicts', { token: mallory.token })).status).toBe(
        403,
      );
      const report = await h.call('GET', '/admin/v1/namespaces/conflicts');
      expect(report.status).toBe(200);
      expect(report.body).toEqual(await namespaceConflicts(h.store.db));
      const overlapIds = report.body.overlaps.flatMap((o: { apis: Array<{ id: string }> }) =>
        o.apis.map((a) => a.id),
      );
      expect(overlapIds).toContain(op.body.id);
      expect(report.body.unassignedHosts).toEqual([
        { apiId: unassigned.body.id, providerId: mallory.id, host: 'old.example' },
      ]);
      expect((await h.call('GET', `/admin/v1/apis/${op.body.id}`)).body.pathPrefix).toBe('/victim/legacy');
      const doc = (await h.call('GET', '/admin/v1/openapi.json', { token: null })).body;
      expect(Object.keys(doc.paths)).toEqual(
        expect.arrayContaining(['/admin/v1/providers/{id}/hosts', '/admin/v1/namespaces/conflicts']),
      );
    });
  });
}
