/** Catalogue and subscription lifecycle, with the real catalog services, on SQLite and PostgreSQL. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCatalog } from '../../src/catalog/index.js';
import { createAgreements } from '../../src/marketplace/agreements.js';
import { createCredentials } from '../../src/marketplace/credentials.js';
import { createNotifier } from '../../src/marketplace/outbound-notifications.js';
import type { CatalogPort } from '../../src/marketplace/ports.js';
import { createProducts } from '../../src/marketplace/products.js';
import { createLifecycle } from '../../src/marketplace/subscriptions.js';
import { ManualClock, silentLogger } from '../../src/shared/index.js';
import type { Store } from '../../src/store/index.js';
import { testOutbound } from '../helpers/outbound.js';
import { testStores } from '../helpers/stores.js';
import { seedProvider } from './fixtures.js';

const OP = { kind: 'operator' as const, id: 'test' };

for (const kind of await testStores()) {
  describe(`products and subscription lifecycle on ${kind.name}`, () => {
    let store: Store;
    const clock = new ManualClock(Date.UTC(2026, 10, 26, 8));
    const changes: { entity: string; id: string; action: string }[] = [];
    const webhooks: { providerId: string; type: string; payload: unknown }[] = [];
    let flushes = 0;
    let seed: Awaited<ReturnType<typeof seedProvider>>;
    let plan2: string;
    let products: ReturnType<typeof createProducts>;
    let life: ReturnType<typeof createLifecycle>;
    let trialPlans: Set<string>;

    beforeAll(async () => {
      store = await kind.open();
      seed = await seedProvider(store.db, clock.now());
      const catalog = createCatalog({
        outbound: testOutbound(),
        store,
        clock,
        log: silentLogger,
        onChange: (c) => changes.push(c),
      });
      const port: CatalogPort = catalog;
      plan2 = (
        await catalog.plans.create(OP, {
          providerId: seed.providerId,
          name: 'Pro',
          apiIds: [seed.apiId],
        } as never)
      ).id;
      trialPlans = new Set([plan2]);
      products = createProducts({ db: store.db, clock, outbound: testOutbound() });
      const credentials = createCredentials({ db: store.db, clock, secretKey: 'k'.repeat(32) });
      life = createLifecycle({
        db: store.db,
        clock,
        log: silentLogger,
        catalog: port,
        products,
        agreements: createAgreements({ db: store.db, clock }),
        notifier: createNotifier({
          db: store.db,
          credentials,
          clock,
          log: silentLogger,
          outbound: testOutbound(),
        }),
        webhooks: {
          emit: async (providerId, type, payload) => void webhooks.push({ providerId, type, payload }),
        },
        billing: {
          getPrice: async (planId) => (trialPlans.has(planId) ? { price: { trialDays: 14 } } : null),
        },
        flushUsage: async () => {
          flushes++;
        },
        onChange: (c) => changes.push(c),
      });
    });
    afterAll(async () => {
      await store?.close();
    });

    it('lists only public published products for buyers, and finds them by search', async () => {
      const p = { kind: 'provider' as const, providerId: seed.providerId, id: 'tok_x' };
      const a = await products.create(p, {
        title: 'Proper noun search',
        summary: 'People, places and organisations in text',
        description: '# Nouns\nFinds **names**.',
        apiIds: [seed.apiId],
        planIds: [seed.planId, plan2],
      });
      expect(a.status).toBe('draft');
      expect(a.productCode).toMatch(/^[a-z0-9]{25}$/);
      const hidden = await products.create(p, {
        title: 'Private capture',
        planIds: [seed.planId],
        visibility: 'private',
        inviteCodes: ['invite-code-1'],
      });
      expect((await products.browse()).items).toEqual([]);
      await products.publish(p, a.id);
      await products.publish(p, hidden.id);
      expect((await products.browse()).items.map((x) => x.id)).toEqual([a.id]);
      expect((await products.browse({ q: 'ORGANISATIONS' })).items.map((x) => x.id)).toEqual([a.id]);
      expect((await products.browse({ q: 'capture' })).items).toEqual([]);
      await expect(products.view(hidden.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(products.view(hidden.id, 'wrong-code')).rejects.toMatchObject({ code: 'NOT_FOUND' });
      expect((await products.view(hidden.id, 'invite-code-1')).id).toBe(hidden.id);
      await products.unpublish(p, a.id);
      await expect(products.view(a.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await products.publish(p, a.id);
      await expect(products.create(p, { title: 'x', planIds: ['pln_nope'] })).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
        issues: [{ field: 'planIds' }],
      });
    });

    it('subscribes a new buyer: consumer, active subscription, key shown once, events and webhooks', async () => {
      const [product] = (await products.browse()).items;
      await expect(
        life.subscribe({ productId: product!.id, planId: 'pln_other', consumer: { name: 'B' } }),
      ).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      const r = await life.subscribe({
        productId: product!.id,
        planId: seed.planId,
        consumer: { name: 'Buyer One', email: 'one@example.com' },
      });
      expect(r.subscription.status).toBe('active');
      expect(r.key?.value).toMatch(/^tg_/);
      const stored = await store.db
        .selectFrom('api_keys')
        .selectAll()
        .where('id', '=', r.key!.id)
        .executeTakeFirstOrThrow();
      expect(stored.hash).not.toContain(r.key!.value);
      const h = await life.history(r.subscription.id);
      expect(h.map((e) => e.type)).toEqual(['subscribed', 'key_provisioned']);
      expect(webhooks.map((w) => w.type)).toEqual([
        'subscription.subscribed',
        'subscription.key_provisioned',
      ]);
      expect(webhooks[0]!.providerId).toBe(seed.providerId);
    });

    it('starts a trial when the plan price has trial days', async () => {
      const [product] = (await products.browse()).items;
      const r = await life.subscribe({ productId: product!.id, planId: plan2, consumer: { name: 'Trier' } });
      expect(r.subscription.status).toBe('trialing');
      expect(r.subscription.trialEndsAt).toBe(new Date(clock.now() + 14 * 86_400_000).toISOString());
    });

    it('changes plan, suspends, resumes, then cancels: flushes usage and disables keys', async () => {
      const [product] = (await products.browse()).items;
      const r = await life.subscribe({
        productId: product!.id,
        planId: seed.planId,
        consumer: { name: 'C' },
      });
      const id = r.subscription.id;
      await life.changePlan(id, plan2);
      await expect(life.changePlan(id, 'pln_nope')).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      await life.suspend(id);
      await expect(life.changePlan(id, seed.planId)).rejects.toMatchObject({ code: 'INVALID_STATE' });
      await life.resume(id);
      changes.length = 0;
      const flushed = flushes;
      const done = await life.cancel(id);
      expect(done.status).toBe('cancelled');
      expect(flushes).toBe(flushed + 1);
      const key = await store.db
        .selectFrom('api_keys')
        .select('enabled')
        .where('id', '=', r.key!.id)
        .executeTakeFirstOrThrow();
      expect(key.enabled).toBe(0);
      // Numbered in the change log in the transition's own transaction.
      expect(changes).toContainEqual({
        entity: 'key',
        id: r.key!.id,
        action: 'disable',
        seq: expect.any(Number),
      });
      const h = await life.history(id);
      expect(h.map((e) => [e.type, e.fromStatus, e.toStatus])).toEqual([
        ['subscribed', null, 'active'],
        ['key_provisioned', 'active', 'active'],
        ['plan_changed', 'active', 'active'],
        ['suspended', 'active', 'suspended'],
        ['resumed', 'suspended', 'active'],
        ['cancel_requested', 'active', 'cancel_pending'],
        ['cancelled', 'cancel_pending', 'cancelled'],
        ['keys_disabled', 'cancelled', 'cancelled'],
      ]);
      expect(h[2]!.data).toEqual({ from: seed.planId, to: plan2 });
    });
  });
}
