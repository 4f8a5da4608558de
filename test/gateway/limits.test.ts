import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedApi, seedKey, seedPlan, seedProvider, seedSubscription } from '../helpers/seed.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { type Harness, startHarness } from './harness.js';

async function statuses(h: Harness, path: string, key: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await h.call(path, { key });
    await r.arrayBuffer();
    out.push(r.status);
  }
  return out;
}

describe('gateway: usage plans', () => {
  let h: Harness;
  let up: Upstream;
  let prv: string;
  let apiId: string;
  let slowRoute: string;

  beforeAll(async () => {
    up = await startUpstream((req, res) => {
      const s = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('status') ?? 200);
      res.writeHead(s).end('ok');
    });
    h = await startHarness();
    prv = await seedProvider(h.store);
    const seeded = await seedApi(h.store, prv, up.url, {
      pathPrefix: '/api',
      routes: [{ method: 'GET', path: '/slow' }, { path: '/{proxy+}' }],
    });
    apiId = seeded.apiId;
    slowRoute = seeded.routeIds[0]!;
  });
  afterAll(async () => {
    await h.close();
    await up.close();
  });

  async function subscribe(plan: Parameters<typeof seedPlan>[3], startedAt?: number) {
    const planId = await seedPlan(h.store, prv, [apiId], plan);
    const { subscriptionId } = await seedSubscription(h.store, planId, {
      startedAt: startedAt ?? h.clock.now() - 86_400_000 * 40,
    });
    const { value } = await seedKey(h.store, subscriptionId);
    await h.snapshots.refresh();
    return value;
  }

  it('throttles with a token bucket: burst at once, then refill at the rate', async () => {
    const key = await subscribe({ throttle: { rate: 2, burst: 4 } });
    expect(await statuses(h, '/api/x', key, 6)).toEqual([200, 200, 200, 200, 429, 429]);
    const r = await h.call('/api/x', { key });
    expect(await r.text()).toBe('{"message":"Too Many Requests"}');
    expect(r.headers.get('retry-after')).toBe('1');
    expect(r.headers.get('ratelimit-policy')).toBe('"throttle";q=4;w=1');
    expect(r.headers.get('ratelimit')).toMatch(/^"throttle";r=0;t=1$/);
    h.clock.advance(500); // half a second at 2/s = one token
    expect(await statuses(h, '/api/x', key, 2)).toEqual([200, 429]);
    h.clock.advance(10_000); // refills to the burst, not beyond
    expect(await statuses(h, '/api/x', key, 5)).toEqual([200, 200, 200, 200, 429]);
  });

  it('applies a per-route override instead of the plan throttle', async () => {
    const key = await subscribe({
      throttle: { rate: 100, burst: 100 },
      routeThrottles: { [slowRoute]: { rateLimit: 1, burstLimit: 1 } },
    });
    expect(await statuses(h, '/api/slow', key, 2)).toEqual([200, 429]);
    expect(await statuses(h, '/api/other', key, 3)).toEqual([200, 200, 200]);
  });

  it('spends a daily quota, answers Limit Exceeded, and resets at the UTC day boundary', async () => {
    h.clock.set(Date.UTC(2026, 10, 26, 23, 59, 0));
    const key = await subscribe({ quota: { limit: 3, period: 'DAY' } });
    expect(await statuses(h, '/api/x', key, 4)).toEqual([200, 200, 200, 429]);
    const r = await h.call('/api/x', { key });
    expect(await r.text()).toBe('{"message":"Limit Exceeded"}');
    expect(r.headers.get('retry-after')).toBe('60');
    expect(r.headers.get('ratelimit-policy')).toBe('"quota";q=3;w=86400');
    h.clock.set(Date.UTC(2026, 10, 27, 0, 0, 0));
    expect(await statuses(h, '/api/x', key, 4)).toEqual([200, 200, 200, 429]);
  });

  it('subtracts the offset in the first window only (API Gateway semantics)', async () => {
    h.clock.set(Date.UTC(2026, 10, 26, 10, 0, 0));
    const key = await subscribe({ quota: { limit: 5, period: 'DAY', offset: 3 } }, h.clock.now());
    expect(await statuses(h, '/api/x', key, 3)).toEqual([200, 200, 429]);
    h.clock.set(Date.UTC(2026, 10, 27, 0, 0, 1));
    expect(await statuses(h, '/api/x', key, 6)).toEqual([200, 200, 200, 200, 200, 429]);
  });

  it('resets a quota at midnight in the plan time zone, not UTC', async () => {
    // Tokyo is UTC+9: the local day of 27 Nov starts at 26 Nov 15:00 UTC.
    h.clock.set(Date.UTC(2026, 10, 26, 14, 59, 0));
    const key = await subscribe({ quota: { limit: 1, period: 'DAY', timeZone: 'Asia/Tokyo' } });
    expect(await statuses(h, '/api/x', key, 2)).toEqual([200, 429]);
    h.clock.set(Date.UTC(2026, 10, 26, 15, 0, 0));
    expect(await statuses(h, '/api/x', key, 2)).toEqual([200, 429]);
  });

  it('gives quota back when the upstream fails, so only billable calls count', async () => {
    h.clock.set(Date.UTC(2026, 10, 26, 10, 0, 0));
    const key = await subscribe({ quota: { limit: 2, period: 'DAY' } });
    expect(await statuses(h, '/api/x?status=503', key, 3)).toEqual([503, 503, 503]);
    expect(await statuses(h, '/api/x', key, 3)).toEqual([200, 200, 429]);
  });

  it('keeps serving past the quota in overage mode', async () => {
    h.clock.set(Date.UTC(2026, 10, 26, 10, 0, 0));
    const key = await subscribe({ quota: { limit: 2, period: 'DAY' }, overQuota: 'overage' });
    expect(await statuses(h, '/api/x', key, 4)).toEqual([200, 200, 200, 200]);
  });

  it('does not spend throttle tokens on a call the quota refuses (all-or-nothing)', async () => {
    h.clock.set(Date.UTC(2026, 10, 26, 10, 0, 0));
    const key = await subscribe({ throttle: { rate: 1, burst: 2 }, quota: { limit: 1, period: 'DAY' } });
    expect(await statuses(h, '/api/x', key, 3)).toEqual([200, 429, 429]);
    const r = await h.call('/api/x', { key });
    expect(await r.text()).toBe('{"message":"Limit Exceeded"}');
  });
});
