/**
 * A snapshot for the step tests, loaded by the real loader from a real SQLite file: two
 * APIs (one bound to a host), routes of every kind, a plan with a throttle and a daily
 * quota, and keys in each state the authenticate step tells apart.
 */
import { loadSnapshot, type Snapshot } from '../../../src/gateway/index.js';
import type { Store } from '../../../src/store/index.js';
import { seedApi, seedKey, seedPlan, seedProvider, seedSubscription } from '../../helpers/seed.js';
import { sqliteStore } from '../../helpers/stores.js';

export const NOW = Date.UTC(2026, 10, 26, 12, 0, 0);

export interface StepFixture {
  store: Store;
  snapshot: Snapshot;
  apiId: string;
  hostApiId: string;
  otherApiId: string;
  routes: { item: string; list: string; open: string };
  keys: {
    good: string;
    disabled: string;
    expired: string;
    inactive: string;
    otherPlan: string;
    capped: string;
  };
  reload(): Promise<Snapshot>;
}

export async function stepFixture(): Promise<StepFixture> {
  const store = await sqliteStore.open();
  const prv = await seedProvider(store);
  const cors = {
    allowOrigins: ['https://app.example'],
    allowMethods: ['GET'],
    allowHeaders: ['x-api-key'],
    maxAgeSeconds: 600,
  };
  const shop = await seedApi(store, prv, 'http://127.0.0.1:9/v1/', {
    pathPrefix: '/shop',
    cors,
    routes: [
      { method: 'GET', path: '/items/{id}' },
      { method: 'GET', path: '/items/{rest+}' },
      { method: 'GET', path: '/open/{file+}', public: true },
    ],
  });
  const host = await seedApi(store, prv, 'http://127.0.0.1:9', { host: 'api.example', pathPrefix: '/shop' });
  const other = await seedApi(store, prv, 'http://127.0.0.1:9', { pathPrefix: '/other' });
  const plan = await seedPlan(store, prv, [shop.apiId, host.apiId], {
    throttle: { rate: 1, burst: 2 },
    quota: { limit: 3, period: 'DAY' },
  });
  const otherPlan = await seedPlan(store, prv, [other.apiId], {});
  let lastSubscription = '';
  const key = async (planId: string, opts: Parameters<typeof seedKey>[2] = {}, status = 'active') => {
    const { subscriptionId } = await seedSubscription(store, planId, { status, startedAt: NOW - 86_400_000 });
    lastSubscription = subscriptionId;
    return (await seedKey(store, subscriptionId, opts)).value;
  };
  const keys = {
    good: await key(plan),
    disabled: await key(plan, { enabled: false }),
    expired: await key(plan, { expiresAt: NOW - 1 }),
    inactive: await key(plan, {}, 'suspended'),
    otherPlan: await key(otherPlan),
    capped: await key(plan),
  };
  // The last buyer's own spend cap is reached for another 90 s.
  await store.db
    .insertInto('spend_budgets')
    .values({
      subscription_id: lastSubscription,
      amount: '10.00',
      hard_cap: 1,
      capped_until: NOW + 90_000,
      updated_at: NOW,
    })
    .execute();
  const fixture: StepFixture = {
    store,
    snapshot: await loadSnapshot(store, NOW),
    apiId: shop.apiId,
    hostApiId: host.apiId,
    otherApiId: other.apiId,
    routes: { item: shop.routeIds[0]!, list: shop.routeIds[1]!, open: shop.routeIds[2]! },
    keys,
    reload: async () => {
      fixture.snapshot = await loadSnapshot(store, NOW);
      return fixture.snapshot;
    },
  };
  return fixture;
}
