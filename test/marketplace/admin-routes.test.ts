/** The marketplace's admin routes mounted on the real control app (extraRoutes), SQLite. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCatalog } from '../../src/catalog/index.js';
import { createControlApp } from '../../src/control/index.js';
import { marketplaceRoutes } from '../../src/marketplace/admin-routes.js';
import { createMarketplace } from '../../src/marketplace/index.js';
import { ManualClock, silentLogger } from '../../src/shared/index.js';
import type { Store } from '../../src/store/index.js';
import { createWebhooks, type Webhooks } from '../../src/webhooks/index.js';
import { testOutbound } from '../helpers/outbound.js';
import { sqliteStore } from '../helpers/stores.js';
import { seedProvider } from './fixtures.js';

describe('marketplace admin routes', () => {
  let store: Store;
  let app: ReturnType<typeof createControlApp>;
  let token: string;
  let seed: Awaited<ReturnType<typeof seedProvider>>;
  let webhooks: Webhooks;
  const clock = new ManualClock(Date.UTC(2026, 10, 26, 9));

  beforeAll(async () => {
    store = await sqliteStore.open();
    seed = await seedProvider(store.db, clock.now());
    const catalog = createCatalog({ outbound: testOutbound(), store, clock, log: silentLogger });
    webhooks = createWebhooks({ outbound: testOutbound(), store, clock, log: silentLogger });
    await webhooks.addEndpoint(seed.providerId, { url: 'http://127.0.0.1:9/hooks' });
    const marketplace = createMarketplace({
      outbound: testOutbound(),
      store,
      clock,
      log: silentLogger,
      catalog,
      webhooks,
      secretKey: 'x'.repeat(32),
    });
    app = createControlApp({
      catalog,
      clock,
      log: silentLogger,
      extraRoutes: [marketplaceRoutes(marketplace)],
    });
    token = (await catalog.bootstrapOperatorToken()).value!;
  });
  afterAll(async () => {
    await store?.close();
  });

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await app.request(`/admin/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    // biome-ignore lint/suspicious/noExplicitAny: test reads loosely typed JSON
    const json: any = res.status === 204 ? null : await res.json();
    return { status: res.status, body: json };
  };

  it('creates, publishes and browses a product; subscribes; lists events; issues credentials', async () => {
    const bad = await call('POST', '/products', { providerId: seed.providerId, title: '', planIds: [] });
    expect(bad.status).toBe(400);
    const created = await call('POST', '/products', {
      providerId: seed.providerId,
      title: 'Nouns',
      apiIds: [seed.apiId],
      planIds: [seed.planId],
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect((await call('POST', `/products/${id}/publish`)).body.status).toBe('published');
    expect(
      (await call('GET', '/marketplace/products?q=noun')).body.items.map((p: { id: string }) => p.id),
    ).toEqual([id]);
    const sub = await call('POST', '/marketplace/subscriptions', {
      productId: id,
      planId: seed.planId,
      consumer: { name: 'B' },
    });
    expect(sub.status).toBe(201);
    expect(sub.body.key.value).toMatch(/^tg_/);
    const sid = sub.body.subscription.id as string;
    expect((await call('POST', `/marketplace/subscriptions/${sid}/suspend`)).body.status).toBe('suspended');
    expect((await call('POST', `/marketplace/subscriptions/${sid}/resume`)).body.status).toBe('active');
    expect((await call('POST', `/marketplace/subscriptions/${sid}/cancel`)).body.status).toBe('cancelled');
    const queued = await webhooks.listDeliveries(seed.providerId, { limit: 50 });
    expect(new Set(queued.map((d) => d.type))).toEqual(
      new Set([
        'subscription.subscribed',
        'subscription.key_provisioned',
        'subscription.suspended',
        'subscription.resumed',
        'subscription.cancel_requested',
        'subscription.cancelled',
        'subscription.keys_disabled',
      ]),
    );
    const events = await call('GET', `/marketplace/subscriptions/${sid}/events`);
    expect(events.body.items.map((e: { type: string }) => e.type)).toContain('keys_disabled');
    const creds = await call('POST', '/marketplace/credentials', {
      providerId: seed.providerId,
      name: 'seller',
    });
    expect(creds.status).toBe(201);
    expect(creds.body.secretAccessKey).toBeTruthy();
    const list = await call('GET', `/marketplace/credentials?providerId=${seed.providerId}`);
    expect(list.body.items[0].secretAccessKey).toBeUndefined();
    expect((await call('DELETE', `/marketplace/credentials/${creds.body.accessKeyId}`)).status).toBe(204);
    const doc = await app.request('/admin/v1/openapi.json');
    expect(JSON.stringify(await doc.json())).toContain('/marketplace/subscriptions');
  });
});
