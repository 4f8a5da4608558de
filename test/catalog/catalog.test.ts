import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, type Catalog, type Change, createCatalog } from '../../src/catalog/index.js';
import { hashKey } from '../../src/keys/index.js';
import { quotaWindow } from '../../src/limits/index.js';
import { ManualClock, silentLogger, TollgateError } from '../../src/shared/index.js';
import type { Store } from '../../src/store/index.js';
import { testOutbound } from '../helpers/outbound.js';
import { testStores } from '../helpers/stores.js';

const op: Actor = { kind: 'operator', id: 'test-op' };

async function rejects(p: Promise<unknown>, code: string, field?: string) {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TollgateError);
  const te = err as TollgateError;
  expect(te.code).toBe(code);
  if (field) expect(te.issues.map((i) => i.field)).toContain(field);
}

for (const kind of await testStores()) {
  describe(`catalog services on ${kind.name}`, () => {
    let store: Store;
    let catalog: Catalog;
    const clock = new ManualClock(Date.UTC(2026, 10, 26, 12, 0, 0));
    const changes: Change[] = [];
    // Ids are ULIDs: distinct milliseconds keep creation order visible in lists.
    const tick = () => clock.advance(1);

    beforeAll(async () => {
      store = await kind.open();
      catalog = createCatalog({
        outbound: testOutbound(),
        store,
        clock,
        log: silentLogger,
        onChange: (c) => changes.push(c),
      });
    });
    afterAll(async () => {
      await store.close();
    });

    it('builds a provider, API, plan, consumer, subscription and key, auditing each step', async () => {
      const prv = await catalog.providers.create(op, { name: 'Acme' });
      tick();
      const api = await catalog.apis.create(op, {
        providerId: prv.id,
        name: 'Capture',
        upstreamUrl: 'http://127.0.0.1:9/base',
        pathPrefix: '/capture',
        routes: [{ method: 'POST', path: '/shots', dimension: 'captures' }, { path: '/{proxy+}' }],
      });
      expect(api.routes.map((r) => [r.method, r.path, r.dimension, r.units])).toEqual([
        ['POST', '/shots', 'captures', 1],
        ['*', '/{proxy+}', 'requests', 1],
      ]);
      tick();
      const plan = await catalog.plans.create(op, {
        providerId: prv.id,
        name: 'Basic',
        apiIds: [api.id],
        throttle: { rateLimit: 5, burstLimit: 10 },
        quota: { limit: 1000, period: 'DAY' },
        routeThrottles: { [api.routes[0]!.id]: { rateLimit: 1, burstLimit: 2 } },
      });
      expect(plan.quota).toEqual({ limit: 1000, period: 'DAY', offset: 0, timeZone: 'UTC' });
      tick();
      const con = await catalog.consumers.create(op, {
        providerId: prv.id,
        name: 'Bob',
        email: 'bob@example.com',
      });
      tick();
      const sub = await catalog.subscriptions.create(op, { consumerId: con.id, planId: plan.id });
      expect(sub.status).toBe('active');
      tick();
      const key = await catalog.keys.create(op, { subscriptionId: sub.id, name: 'main' });
      expect(key.value).toMatch(/^tg_/);
      expect(key.prefix).toBe(key.value.slice(0, 8));
      const fetched = await catalog.keys.get(op, key.id);
      expect(fetched).not.toHaveProperty('value');
      expect(fetched).not.toHaveProperty('hash');
      const row = await store.db
        .selectFrom('api_keys')
        .selectAll()
        .where('id', '=', key.id)
        .executeTakeFirstOrThrow();
      expect(row.hash).toBe(hashKey(key.value));

      const audit = await catalog.audit.list(op, { limit: 200 });
      expect(audit.items.map((a) => `${a.action} ${a.entity}`)).toEqual([
        'create provider',
        'create api',
        'create plan',
        'create consumer',
        'create subscription',
        'create key',
      ]);
      expect(JSON.stringify(audit.items)).not.toContain(row.hash);
      expect(changes.map((c) => c.entity)).toEqual([
        'provider',
        'api',
        'plan',
        'consumer',
        'subscription',
        'key',
      ]);
    });

    it('replaces routes on update, keeping the ids it is given', async () => {
      const prv = await catalog.providers.create(op, { name: 'Routes Inc' });
      const api = await catalog.apis.create(op, {
        providerId: prv.id,
        name: 'R',
        upstreamUrl: 'https://r.example',
      });
      expect(api.routes.map((r) => r.path)).toEqual(['/', '/{proxy+}']);
      const kept = api.routes[1]!;
      const updated = await catalog.apis.update(op, api.id, {
        routes: [
          { id: kept.id, path: '/{proxy+}' },
          { method: 'GET', path: '/items/{id}', units: 3 },
        ],
      });
      expect(updated.routes).toHaveLength(2);
      expect(updated.routes[0]!.id).toBe(kept.id);
      const count = await store.db.selectFrom('routes').select('id').where('api_id', '=', api.id).execute();
      expect(count).toHaveLength(2);
      await rejects(
        catalog.apis.update(op, api.id, { routes: [{ path: '/a' }, { path: '/a' }] }),
        'VALIDATION_FAILED',
        'routes[1].path',
      );
      const after = await catalog.apis.get(op, api.id);
      expect(after.routes).toEqual(updated.routes);
    });

    it('refuses an API whose host and prefix clash with another', async () => {
      const prv = await catalog.providers.create(op, { name: 'Clash' });
      await catalog.apis.create(op, {
        providerId: prv.id,
        name: 'A',
        upstreamUrl: 'http://a',
        pathPrefix: '/same',
      });
      await rejects(
        catalog.apis.create(op, {
          providerId: prv.id,
          name: 'B',
          upstreamUrl: 'http://b',
          pathPrefix: '/same',
        }),
        'CONFLICT',
        'pathPrefix',
      );
      await catalog.apis.create(op, {
        providerId: prv.id,
        name: 'C',
        upstreamUrl: 'http://c',
        pathPrefix: '/same',
        host: 'C.example.com',
      });
      await rejects(
        catalog.apis.create(op, {
          providerId: prv.id,
          name: 'D',
          upstreamUrl: 'http://d',
          pathPrefix: '/same',
          host: 'c.example.com',
        }),
        'CONFLICT',
      );
    });

    it('scopes a provider actor to its own records', async () => {
      const a = await catalog.providers.create(op, { name: 'A' });
      const b = await catalog.providers.create(op, { name: 'B' });
      const asA: Actor = { kind: 'provider', providerId: a.id, id: 'tok_a' };
      const apiB = await catalog.apis.create(op, {
        providerId: b.id,
        name: 'B api',
        upstreamUrl: 'http://b',
        pathPrefix: '/b-own',
      });
      await rejects(catalog.apis.get(asA, apiB.id), 'NOT_FOUND');
      await rejects(catalog.apis.update(asA, apiB.id, { name: 'mine' }), 'NOT_FOUND');
      await rejects(
        catalog.plans.create(asA, { name: 'steal', apiIds: [apiB.id] }),
        'VALIDATION_FAILED',
        'apiIds[0]',
      );
      // An earlier test's API routes every path on any host, so A's goes to a host of its own.
      await catalog.namespaces.assignHost(op, a.id, { host: 'a.example' });
      const own = await catalog.apis.create(asA, {
        name: 'A api',
        upstreamUrl: 'http://a',
        pathPrefix: '/a-own',
        host: 'a.example',
      });
      expect(own.providerId).toBe(a.id);
      const list = await catalog.apis.list(asA);
      expect(list.items.map((x) => x.id)).toEqual([own.id]);
      await rejects(catalog.tokens.create(asA, { name: 'x', scope: 'operator' }), 'FORBIDDEN');
      await rejects(catalog.providers.get(asA, b.id), 'NOT_FOUND');
    });

    it('rolls a key with a grace period and imports values by the API Gateway rule', async () => {
      const prv = await catalog.providers.create(op, { name: 'Keys' });
      const plan = await catalog.plans.create(op, { providerId: prv.id, name: 'P' });
      const con = await catalog.consumers.create(op, { providerId: prv.id, name: 'C' });
      const sub = await catalog.subscriptions.create(op, { consumerId: con.id, planId: plan.id });
      const key = await catalog.keys.create(op, { subscriptionId: sub.id });
      const rolled = await catalog.keys.roll(op, key.id, { graceSeconds: 3600 });
      expect(rolled.old.expiresAt).toBe(new Date(clock.now() + 3600_000).toISOString());
      expect(rolled.old.replacedBy).toBe(rolled.new.id);
      expect(rolled.new.value).not.toBe(key.value);
      await rejects(catalog.keys.roll(op, key.id), 'INVALID_STATE');
      await rejects(
        catalog.keys.roll(op, rolled.new.id, { graceSeconds: 31 * 86400 }),
        'VALIDATION_FAILED',
        'graceSeconds',
      );

      await rejects(
        catalog.keys.import(op, { subscriptionId: sub.id, value: 'short' }),
        'VALIDATION_FAILED',
        'value',
      );
      await rejects(
        catalog.keys.import(op, { subscriptionId: sub.id, value: 'has a space in the middle!!' }),
        'VALIDATION_FAILED',
        'value',
      );
      const imported = await catalog.keys.import(op, {
        subscriptionId: sub.id,
        value: 'legacy-key-0123456789abcdef',
      });
      expect(imported.prefix).toBe('legacy-k');
      await rejects(
        catalog.keys.import(op, { subscriptionId: sub.id, value: 'legacy-key-0123456789abcdef' }),
        'CONFLICT',
        'value',
      );
    });

    it('walks the subscription state machine and refuses illegal moves', async () => {
      const prv = await catalog.providers.create(op, { name: 'States' });
      const plan = await catalog.plans.create(op, { providerId: prv.id, name: 'P' });
      const con = await catalog.consumers.create(op, { providerId: prv.id, name: 'C' });
      const sub = await catalog.subscriptions.create(op, {
        consumerId: con.id,
        planId: plan.id,
        status: 'pending',
      });
      expect((await catalog.subscriptions.update(op, sub.id, { status: 'active' })).status).toBe('active');
      expect((await catalog.subscriptions.update(op, sub.id, { status: 'suspended' })).status).toBe(
        'suspended',
      );
      const cancelled = await catalog.subscriptions.cancel(op, sub.id);
      expect(cancelled.cancelledAt).toBe(new Date(clock.now()).toISOString());
      await rejects(
        catalog.subscriptions.update(op, sub.id, { status: 'active' }),
        'INVALID_STATE',
        'status',
      );
    });

    it('adjusts the current quota window by delta or to an exact remaining', async () => {
      const prv = await catalog.providers.create(op, { name: 'Quota' });
      const plan = await catalog.plans.create(op, {
        providerId: prv.id,
        name: 'Q',
        quota: { limit: 100, period: 'MONTH', offset: 10, timeZone: 'Europe/Paris' },
      });
      const con = await catalog.consumers.create(op, { providerId: prv.id, name: 'C' });
      const sub = await catalog.subscriptions.create(op, { consumerId: con.id, planId: plan.id });
      const w = quotaWindow('MONTH', 'Europe/Paris', clock.now());
      await store.db
        .insertInto('usage')
        .values({
          subscription_id: sub.id,
          key_id: 'k',
          api_id: 'a',
          dimension: 'requests',
          hour: w.start,
          units: 7,
          requests: 7,
        })
        .execute();
      const start = await catalog.quota.get(op, sub.id);
      expect(start).toMatchObject({ limit: 90, used: 7, remaining: 83, adjustments: 0 });
      const up = await catalog.adjustQuota({
        actor: op,
        subscriptionId: sub.id,
        delta: 20,
        reason: 'goodwill',
      });
      expect(up).toMatchObject({ limit: 110, remaining: 103, adjustments: 20 });
      const exact = await catalog.quota.adjust(op, sub.id, { remaining: 5, reason: 'reset to 5' });
      expect(exact).toMatchObject({ remaining: 5, used: 7, limit: 12 });
      const rows = await store.db
        .selectFrom('quota_adjustments')
        .selectAll()
        .where('subscription_id', '=', sub.id)
        .execute();
      expect(rows.map((r) => [r.window_start, r.delta])).toEqual([
        [w.start, 20],
        [w.start, -98],
      ]);
      await rejects(catalog.quota.adjust(op, sub.id, { reason: 'nothing' }), 'VALIDATION_FAILED', 'delta');
    });

    it('lets exactly one of two concurrent creates claim the same routing', async () => {
      const prv = await catalog.providers.create(op, { name: 'Race' });
      const make = (name: string) =>
        catalog.apis.create(op, {
          providerId: prv.id,
          name,
          upstreamUrl: 'http://race',
          pathPrefix: '/race',
        });
      const results = await Promise.allSettled([make('one'), make('two'), make('three')]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const rows = await store.db
        .selectFrom('apis')
        .select('id')
        .where('path_prefix', '=', '/race')
        .execute();
      expect(rows).toHaveLength(1);
    });

    it('reports a change only after it is committed, and never a refused one', async () => {
      const seen: Array<{ id: string; visible: boolean }> = [];
      const watched = createCatalog({
        outbound: testOutbound(),
        store,
        clock,
        log: silentLogger,
        onChange: (c) => {
          void store.db
            .selectFrom('providers')
            .select('id')
            .where('id', '=', c.id)
            .executeTakeFirst()
            .then((r) => seen.push({ id: c.id, visible: r !== undefined }));
        },
      });
      const prv = await watched.providers.create(op, { name: 'Watched' });
      await rejects(watched.providers.create(op, { name: '' }), 'VALIDATION_FAILED', 'name');
      await rejects(
        watched.providers.update(op, 'prv_01ABCDEFGHJKMNPQRSTVWXYZ00', { name: 'x' }),
        'NOT_FOUND',
      );
      await new Promise((r) => setTimeout(r, 50));
      expect(seen).toEqual([{ id: prv.id, visible: true }]);
    });

    it('filters subscriptions and refuses to roll keys of a cancelled one', async () => {
      const prv = await catalog.providers.create(op, { name: 'Filters' });
      const plan = await catalog.plans.create(op, { providerId: prv.id, name: 'P' });
      const c1 = await catalog.consumers.create(op, { providerId: prv.id, name: 'C1' });
      const c2 = await catalog.consumers.create(op, { providerId: prv.id, name: 'C2' });
      const s1 = await catalog.subscriptions.create(op, { consumerId: c1.id, planId: plan.id });
      const s2 = await catalog.subscriptions.create(op, {
        consumerId: c2.id,
        planId: plan.id,
        status: 'trialing',
      });
      const byConsumer = await catalog.subscriptions.list(op, { consumerId: c2.id });
      expect(byConsumer.items.map((s) => s.id)).toEqual([s2.id]);
      const byPlan = await catalog.subscriptions.list(op, { planId: plan.id, status: 'active' });
      expect(byPlan.items.map((s) => s.id)).toEqual([s1.id]);
      const key = await catalog.keys.create(op, { subscriptionId: s1.id });
      await catalog.subscriptions.cancel(op, s1.id);
      await rejects(catalog.keys.roll(op, key.id), 'INVALID_STATE');
      await rejects(catalog.keys.create(op, { subscriptionId: s1.id }), 'INVALID_STATE', 'subscriptionId');
    });

    it('bootstraps an operator token once, or ensures the configured one', async () => {
      const first = await catalog.bootstrapOperatorToken();
      const again = await catalog.bootstrapOperatorToken();
      if (first.created) {
        expect(first.value).toMatch(/^tga_[A-Za-z0-9_-]{43}$/);
        expect(await catalog.tokens.authenticate(first.value!)).toEqual({ kind: 'operator', id: first.id });
      }
      expect(again.created).toBe(false);
      const configured = 'my-configured-admin-token-1234';
      const c1 = await catalog.bootstrapOperatorToken({ configured });
      const c2 = await catalog.bootstrapOperatorToken({ configured });
      expect(c1.created).toBe(true);
      expect(c1.value).toBeUndefined();
      expect(c2).toEqual({ created: false, id: c1.id });
      expect(await catalog.tokens.authenticate(configured)).toEqual({ kind: 'operator', id: c1.id });
      await catalog.tokens.revoke(op, c1.id!);
      expect(await catalog.tokens.authenticate(configured)).toBeNull();
    });
  });
}
