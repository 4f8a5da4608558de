import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedApi, seedKey, seedPlan, seedProvider, seedSubscription } from '../helpers/seed.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { type Harness, startHarness } from './harness.js';

describe('gateway: who may call', () => {
  let h: Harness;
  let up: Upstream;
  let good: string;
  let goodId: string;
  const keys: Record<string, string> = {};

  beforeAll(async () => {
    up = await startUpstream();
    h = await startHarness();
    const prv = await seedProvider(h.store);
    const { apiId } = await seedApi(h.store, prv, up.url, { pathPrefix: '/echo' });
    const { apiId: otherApi } = await seedApi(h.store, prv, up.url, { pathPrefix: '/other' });
    const plan = await seedPlan(h.store, prv, [apiId], {});
    const { subscriptionId } = await seedSubscription(h.store, plan);
    ({ value: good, keyId: goodId } = await seedKey(h.store, subscriptionId));
    keys.disabled = (await seedKey(h.store, subscriptionId, { enabled: false })).value;
    keys.expired = (await seedKey(h.store, subscriptionId, { expiresAt: h.clock.now() - 1 })).value;
    const suspended = await seedSubscription(h.store, plan, { status: 'suspended' });
    keys.inactive = (await seedKey(h.store, suspended.subscriptionId)).value;
    const otherPlan = await seedPlan(h.store, prv, [otherApi], {});
    const other = await seedSubscription(h.store, otherPlan);
    keys.notInPlan = (await seedKey(h.store, other.subscriptionId)).value;
    keys.unknown = `tg_${'x'.repeat(40)}`;
    await h.snapshots.refresh();
  });
  afterAll(async () => {
    await h.close();
    await up.close();
  });

  it('serves a valid key', async () => {
    const res = await h.call('/echo/hello', { key: good });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { url: string }).url).toBe('/hello');
  });

  it('answers 403 {"message":"Forbidden"} without a key', async () => {
    const res = await h.call('/echo/hello');
    expect(res.status).toBe(403);
    expect(await res.text()).toBe('{"message":"Forbidden"}');
    expect(res.headers.get('content-type')).toBe('application/json');
  });

  for (const kind of ['unknown', 'disabled', 'expired', 'inactive', 'notInPlan']) {
    it(`answers the same 403 for a ${kind} key, and never reaches the upstream`, async () => {
      const before = up.requests.length;
      const res = await h.call('/echo/hello', { key: keys[kind] });
      expect(res.status).toBe(403);
      expect(await res.text()).toBe('{"message":"Forbidden"}');
      expect(up.requests.length).toBe(before);
    });
  }

  it('answers 404 when no API matches', async () => {
    const res = await h.call('/nowhere', { key: good });
    expect(res.status).toBe(404);
  });

  it('refuses a key as soon as it is disabled and the snapshot refreshes', async () => {
    expect((await h.call('/echo/a', { key: good })).status).toBe(200);
    await h.store.db.updateTable('api_keys').set({ enabled: 0 }).where('id', '=', goodId).execute();
    await h.snapshots.refresh();
    expect((await h.call('/echo/a', { key: good })).status).toBe(403);
    await h.store.db.updateTable('api_keys').set({ enabled: 1 }).where('id', '=', goodId).execute();
    await h.snapshots.refresh();
  });

  it('honours a rolled key until its grace period ends', async () => {
    const sub = (
      await h.store.db
        .selectFrom('subscriptions')
        .select('id')
        .where('status', '=', 'active')
        .executeTakeFirstOrThrow()
    ).id;
    const rolled = await seedKey(h.store, sub, { expiresAt: h.clock.now() + 60_000 });
    await h.snapshots.refresh();
    expect((await h.call('/echo/a', { key: rolled.value })).status).toBe(200);
    h.clock.advance(59_999);
    expect((await h.call('/echo/a', { key: rolled.value })).status).toBe(200);
    h.clock.advance(1);
    expect((await h.call('/echo/a', { key: rolled.value })).status).toBe(403);
  });
});
