/**
 * The operator's story over a real socket: set up a provider's API, a plan, a consumer, a
 * subscription and keys; change them; page through lists; read the audit trail.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashKey } from '../../src/keys/index.js';
import { testStores } from '../helpers/stores.js';
import { type Harness, startHarness } from './harness.js';

for (const kind of await testStores()) {
  describe(`admin API CRUD on ${kind.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await startHarness(kind);
    });
    afterAll(async () => {
      await h.close();
    });

    it('creates, reads, updates, lists and deletes every noun', async () => {
      const prv = await h.call('POST', '/admin/v1/providers', { body: { name: 'Acme' } });
      expect(prv.status).toBe(201);
      expect(prv.headers.get('x-request-id')).toBeTruthy();
      const providerId = prv.body.id as string;
      expect(providerId).toMatch(/^prv_[0-9A-Z]{26}$/);

      const api = await h.call('POST', '/admin/v1/apis', {
        body: {
          providerId,
          name: 'Nouns',
          upstreamUrl: 'http://127.0.0.1:9999/v1',
          pathPrefix: '/nouns',
          routes: [
            { method: 'POST', path: '/extract', dimension: 'characters', units: 0 },
            { method: 'GET', path: '/health', public: true, throttle: { rateLimit: 1, burstLimit: 1 } },
          ],
        },
      });
      expect(api.status).toBe(201);
      expect(api.body.routes).toHaveLength(2);
      expect(api.body.routes[1]).toMatchObject({ public: true, throttle: { rateLimit: 1, burstLimit: 1 } });
      const apiId = api.body.id as string;
      const extract = api.body.routes[0].id as string;

      const plan = await h.call('POST', '/admin/v1/plans', {
        body: {
          providerId,
          name: 'Starter',
          apiIds: [apiId],
          throttle: { rateLimit: 5, burstLimit: 10 },
          quota: { limit: 1000, period: 'DAY', timeZone: 'Europe/Berlin' },
          routeThrottles: { [extract]: { rateLimit: 2, burstLimit: 2 } },
          overQuota: 'overage',
        },
      });
      expect(plan.status).toBe(201);
      expect(plan.body).toMatchObject({
        quota: { limit: 1000, period: 'DAY', offset: 0, timeZone: 'Europe/Berlin' },
        billable: 'lt500',
        failureMode: 'open',
        overQuota: 'overage',
      });
      const planId = plan.body.id as string;

      const con = await h.call('POST', '/admin/v1/consumers', {
        body: { providerId, name: 'Dana', email: 'dana@example.com', external: { crm: '42' } },
      });
      expect(con.status).toBe(201);
      const sub = await h.call('POST', '/admin/v1/subscriptions', {
        body: { consumerId: con.body.id, planId },
      });
      expect(sub.status).toBe(201);
      expect(sub.body.status).toBe('active');
      const subId = sub.body.id as string;

      // Updates
      const renamed = await h.call('PATCH', `/admin/v1/apis/${apiId}`, {
        body: { name: 'Proper nouns', routes: [{ id: extract, method: 'POST', path: '/extract', units: 0 }] },
      });
      expect(renamed.status).toBe(200);
      expect(renamed.body.name).toBe('Proper nouns');
      expect(renamed.body.routes.map((r: { id: string }) => r.id)).toEqual([extract]);
      const replan = await h.call('PATCH', `/admin/v1/plans/${planId}`, { body: { quota: null } });
      expect(replan.body.quota).toBeNull();
      expect(replan.body.throttle).toEqual({ rateLimit: 5, burstLimit: 10 });
      const suspended = await h.call('PATCH', `/admin/v1/subscriptions/${subId}`, {
        body: { status: 'suspended' },
      });
      expect(suspended.body.status).toBe('suspended');
      const back = await h.call('PATCH', `/admin/v1/subscriptions/${subId}`, { body: { status: 'active' } });
      expect(back.body.status).toBe('active');
      const conUp = await h.call('PATCH', `/admin/v1/consumers/${con.body.id}`, { body: { email: null } });
      expect(conUp.body.email).toBeNull();
      const prvUp = await h.call('PATCH', `/admin/v1/providers/${providerId}`, {
        body: { name: 'Acme Ltd' },
      });
      expect(prvUp.body.name).toBe('Acme Ltd');

      // Reads
      for (const [path, id] of [
        ['providers', providerId],
        ['apis', apiId],
        ['plans', planId],
        ['consumers', con.body.id],
        ['subscriptions', subId],
      ]) {
        const got = await h.call('GET', `/admin/v1/${path}/${id}`);
        expect(got.status, path).toBe(200);
        expect(got.body.id).toBe(id);
      }

      // Deletes refuse while something depends on them, then succeed.
      expect((await h.call('DELETE', `/admin/v1/plans/${planId}`)).status).toBe(409);
      expect((await h.call('DELETE', `/admin/v1/apis/${apiId}`)).status).toBe(409);
      const cancelled = await h.call('DELETE', `/admin/v1/subscriptions/${subId}`);
      expect(cancelled.body.status).toBe('cancelled');
      const spare = await h.call('POST', '/admin/v1/plans', { body: { providerId, name: 'Spare' } });
      expect((await h.call('DELETE', `/admin/v1/plans/${spare.body.id}`)).status).toBe(204);
      expect((await h.call('GET', `/admin/v1/plans/${spare.body.id}`)).status).toBe(404);
      const loneApi = await h.call('POST', '/admin/v1/apis', {
        body: { providerId, name: 'Lone', upstreamUrl: 'https://lone.example', host: 'lone.example.com' },
      });
      expect((await h.call('DELETE', `/admin/v1/apis/${loneApi.body.id}`)).status).toBe(204);
      const routes = await h.store.db
        .selectFrom('routes')
        .select('id')
        .where('api_id', '=', loneApi.body.id)
        .execute();
      expect(routes).toEqual([]);

      // Every change above left exactly one audit entry, shaped by what it did.
      const trail: Array<{
        entity: string;
        action: string;
        entityId: string;
        before: unknown;
        after: unknown;
      }> = (await h.call('GET', '/admin/v1/audit?limit=200')).body.items;
      const summary = trail.map((a) => `${a.entity}:${a.action}`);
      expect(summary).toEqual([
        'token:create', // the bootstrap operator token
        'provider:create',
        'api:create',
        'plan:create',
        'consumer:create',
        'subscription:create',
        'api:update',
        'plan:update',
        'subscription:update',
        'subscription:update',
        'consumer:update',
        'provider:update',
        'subscription:cancel',
        'plan:create',
        'plan:delete',
        'api:create',
        'api:delete',
      ]);
      for (const a of trail) {
        expect(a.before === null, `${a.entity}:${a.action} before`).toBe(a.action === 'create');
        expect(a.after === null, `${a.entity}:${a.action} after`).toBe(a.action === 'delete');
      }
      const planUpdate = trail.find((a) => a.entity === 'plan' && a.action === 'update')!;
      expect(planUpdate.entityId).toBe(planId);
      expect((planUpdate.before as { quota: unknown }).quota).not.toBeNull();
      expect((planUpdate.after as { quota: unknown }).quota).toBeNull();
    });

    it('shows a key value once, stores only its hash, and rolls with a grace period', async () => {
      const prv = await h.call('POST', '/admin/v1/providers', { body: { name: 'Keys Co' } });
      const plan = await h.call('POST', '/admin/v1/plans', { body: { providerId: prv.body.id, name: 'K' } });
      const con = await h.call('POST', '/admin/v1/consumers', {
        body: { providerId: prv.body.id, name: 'Kim' },
      });
      const sub = await h.call('POST', '/admin/v1/subscriptions', {
        body: { consumerId: con.body.id, planId: plan.body.id },
      });
      const created = await h.call('POST', '/admin/v1/keys', {
        body: { subscriptionId: sub.body.id, name: 'ci' },
      });
      expect(created.status).toBe(201);
      const value = created.body.value as string;
      expect(value).toMatch(/^tg_[0-9A-Za-z]{40}$/);
      expect(created.headers.get('cache-control')).toBe('no-store');
      const keyId = created.body.id as string;

      const row = await h.store.db
        .selectFrom('api_keys')
        .selectAll()
        .where('id', '=', keyId)
        .executeTakeFirstOrThrow();
      expect(row.hash).toBe(hashKey(value));
      const again = await h.call('GET', `/admin/v1/keys/${keyId}`);
      expect(again.text).not.toContain(value);
      expect(again.text).not.toContain(row.hash);
      expect(again.body).toMatchObject({ prefix: value.slice(0, 8), enabled: true, expiresAt: null });
      const listed = await h.call('GET', `/admin/v1/keys?subscriptionId=${sub.body.id}`);
      expect(listed.body.items.map((k: { id: string }) => k.id)).toEqual([keyId]);
      expect(listed.text).not.toContain(value);

      expect((await h.call('POST', `/admin/v1/keys/${keyId}/disable`)).body.enabled).toBe(false);
      expect((await h.call('POST', `/admin/v1/keys/${keyId}/enable`)).body.enabled).toBe(true);

      const rolled = await h.call('POST', `/admin/v1/keys/${keyId}/roll`, { body: { graceSeconds: 7200 } });
      expect(rolled.status).toBe(201);
      const rolledAt = h.clock.now();
      expect(rolled.body.old.expiresAt).toBe(new Date(rolledAt + 7200_000).toISOString());
      expect(rolled.body.old.replacedBy).toBe(rolled.body.new.id);
      expect(rolled.body.new.value).toMatch(/^tg_/);
      expect(rolled.body.new.value).not.toBe(value);

      // Default grace is 24 h, and a roll needs no body at all.
      const second = await h.call('POST', `/admin/v1/keys/${rolled.body.new.id}/roll`);
      expect(second.status).toBe(201);
      expect(Date.parse(second.body.old.expiresAt)).toBe(h.clock.now() + 24 * 3600_000);

      const imported = await h.call('POST', '/admin/v1/keys:import', {
        body: { subscriptionId: sub.body.id, value: 'AKIA-legacy-value-0001' },
      });
      expect(imported.status).toBe(201);
      expect(imported.body.value).toBe('AKIA-legacy-value-0001');
      for (const bad of [
        'too-short',
        'x'.repeat(129),
        'has spaces in the value here',
        'tab\there-0123456789xx',
      ]) {
        const r = await h.call('POST', '/admin/v1/keys:import', {
          body: { subscriptionId: sub.body.id, value: bad },
        });
        expect(r.status, bad).toBe(400);
        expect(r.body.errors[0].field).toBe('value');
      }
      const dup = await h.call('POST', '/admin/v1/keys:import', {
        body: { subscriptionId: sub.body.id, value: 'AKIA-legacy-value-0001' },
      });
      expect(dup.status).toBe(409);

      expect((await h.call('DELETE', `/admin/v1/keys/${imported.body.id}`)).status).toBe(204);
      expect((await h.call('GET', `/admin/v1/keys/${imported.body.id}`)).status).toBe(404);
    });

    it('pages with limit and cursor, in creation order', async () => {
      const made: string[] = [];
      for (let i = 0; i < 5; i++) {
        made.push((await h.call('POST', '/admin/v1/providers', { body: { name: `Page ${i}` } })).body.id);
      }
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const q: string = cursor ? `?limit=2&cursor=${cursor}` : '?limit=2';
        const r = await h.call('GET', `/admin/v1/providers${q}`);
        expect(r.status).toBe(200);
        expect(r.body.items.length).toBeLessThanOrEqual(2);
        seen.push(...r.body.items.map((p: { id: string }) => p.id));
        cursor = r.body.nextCursor;
        pages++;
      } while (cursor && pages < 50);
      expect(seen).toEqual([...seen].sort());
      expect(seen.slice(-5)).toEqual(made);
      expect((await h.call('GET', '/admin/v1/providers?cursor=nonsense')).status).toBe(400);
    });

    it('records who changed what, when, with before and after, and never a hash', async () => {
      const prv = await h.call('POST', '/admin/v1/providers', { body: { name: 'Audited' } });
      await h.call('PATCH', `/admin/v1/providers/${prv.body.id}`, { body: { name: 'Audited 2' } });
      const trail = await h.call('GET', `/admin/v1/audit?entity=provider&entityId=${prv.body.id}`);
      expect(trail.status).toBe(200);
      const [created, updated] = trail.body.items;
      const operatorTokenId = (await h.catalog.tokens.authenticate(h.operator))!.id;
      expect(created).toMatchObject({
        action: 'create',
        actor: operatorTokenId,
        before: null,
        after: { name: 'Audited' },
      });
      expect(updated).toMatchObject({
        action: 'update',
        before: { name: 'Audited' },
        after: { name: 'Audited 2' },
      });
      expect(Date.parse(updated.at)).toBeGreaterThan(Date.parse(created.at));
      expect((await h.call('GET', `/admin/v1/audit/${updated.id}`)).body.id).toBe(updated.id);

      const keyAudit = await h.call('GET', '/admin/v1/audit?entity=key&limit=200');
      const hashes = await h.store.db.selectFrom('api_keys').select('hash').execute();
      for (const { hash } of hashes) expect(keyAudit.text).not.toContain(hash);
      const tokenHashes = await h.store.db.selectFrom('admin_tokens').select('hash').execute();
      const all = await h.call('GET', '/admin/v1/audit?limit=200');
      for (const { hash } of tokenHashes) expect(all.text).not.toContain(hash);
      const since = await h.call(
        'GET',
        `/admin/v1/audit?since=${encodeURIComponent(updated.at)}&entity=provider`,
      );
      expect(since.body.items.map((a: { id: string }) => a.id)).toContain(updated.id);
      expect(since.body.items.map((a: { id: string }) => a.id)).not.toContain(created.id);
    });

    it('adjusts a quota through the API and shows the window', async () => {
      const prv = await h.call('POST', '/admin/v1/providers', { body: { name: 'Quota Co' } });
      const plan = await h.call('POST', '/admin/v1/plans', {
        body: { providerId: prv.body.id, name: 'Q', quota: { limit: 100, period: 'WEEK' } },
      });
      const con = await h.call('POST', '/admin/v1/consumers', {
        body: { providerId: prv.body.id, name: 'Q' },
      });
      const sub = await h.call('POST', '/admin/v1/subscriptions', {
        body: { consumerId: con.body.id, planId: plan.body.id },
      });
      const before = await h.call('GET', `/admin/v1/subscriptions/${sub.body.id}/quota`);
      expect(before.body).toMatchObject({
        limit: 100,
        used: 0,
        remaining: 100,
        windowStart: '2026-11-23T00:00:00.000Z',
      });
      const up = await h.call('POST', `/admin/v1/subscriptions/${sub.body.id}/quota`, {
        body: { delta: 50, reason: 'support ticket 7' },
      });
      expect(up.status).toBe(200);
      expect(up.body).toMatchObject({ limit: 150, remaining: 150, adjustments: 50 });
      const set = await h.call('POST', `/admin/v1/subscriptions/${sub.body.id}/quota`, {
        body: { remaining: 10, reason: 'cap' },
      });
      expect(set.body).toMatchObject({ remaining: 10, adjustments: -90 });
      const both = await h.call('POST', `/admin/v1/subscriptions/${sub.body.id}/quota`, {
        body: { delta: 1, remaining: 1, reason: 'x' },
      });
      expect(both.status).toBe(400);
      const audit = await h.call('GET', `/admin/v1/audit?entity=quota&entityId=${sub.body.id}`);
      expect(audit.body.items).toHaveLength(2);
      expect(audit.body.items[0].after).toMatchObject({ delta: 50, reason: 'support ticket 7' });
    });
  });
}
