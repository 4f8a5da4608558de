/**
 * Gateway manners: the IETF RateLimit headers on every keyed answer (per-API toggle) and
 * CORS per API — preflights answered by the gateway itself, keyless, never proxied or
 * metered; real calls from an allowed origin carry the CORS fields, others do not.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMeter, type Meter } from '../../src/metering/index.js';
import { silentLogger } from '../../src/shared/index.js';
import { seedApi, seedKey, seedPlan, seedProvider, seedSubscription } from '../helpers/seed.js';
import { sqliteStore } from '../helpers/stores.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { type Harness, startHarness } from './harness.js';

const PAGE = 'https://app.example.com';
const CORS = {
  allowOrigins: [PAGE],
  allowMethods: ['GET', 'POST'],
  allowHeaders: ['content-type', 'x-api-key'],
  maxAgeSeconds: 600,
};

describe('gateway: RateLimit headers and CORS', () => {
  let h: Harness;
  let up: Upstream;
  let meter: Meter;
  let key: string;
  let plainKey: string;
  const seen: string[] = [];

  beforeAll(async () => {
    up = await startUpstream((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      if (req.headers['x-break'] !== undefined) {
        req.socket.destroy(); // no answer at all: the gateway's own 502
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
    const store = await sqliteStore.open();
    meter = await createMeter({
      store,
      clock: { now: () => Date.now() },
      log: silentLogger,
      durability: 'batched',
      dataDir: (await import('node:os')).tmpdir(),
      node: `manners-${process.pid}`,
      flushIntervalMs: 60_000,
    });
    h = await startHarness({ store, meter });
    const prv = await seedProvider(h.store);
    const web = await seedApi(h.store, prv, up.url, {
      pathPrefix: '/web',
      routes: [{ method: 'POST', path: '/things' }],
      cors: CORS,
    });
    const plain = await seedApi(h.store, prv, up.url, {
      pathPrefix: '/plain',
      routes: [{ path: '/{proxy+}' }],
      rateLimitHeaders: false,
    });
    const plan = await seedPlan(h.store, prv, [web.apiId, plain.apiId], {
      throttle: { rate: 5, burst: 10 },
      quota: { limit: 1000, period: 'DAY' },
    });
    const { subscriptionId } = await seedSubscription(h.store, plan, {
      startedAt: h.clock.now() - 86_400_000,
    });
    key = (await seedKey(h.store, subscriptionId)).value;
    plainKey = key;
    await h.snapshots.refresh();
  });
  afterAll(async () => {
    await h.close();
    await meter.close();
    await up.close();
  });

  it('sends RateLimit-Policy and RateLimit on an admitted call', async () => {
    const r = await h.call('/web/things', { key, method: 'POST', body: '{}' });
    expect(r.status).toBe(200);
    expect(r.headers.get('ratelimit-policy')).toBe('"throttle";q=10;w=1, "quota";q=1000;w=86400');
    // 12:00 UTC: the day window ends in 12 hours; one call spent from each.
    expect(r.headers.get('ratelimit')).toBe('"throttle";r=9;t=1, "quota";r=999;t=43200');
  });

  it('sends them when the gateway itself answers an admitted call too (502: the upstream broke)', async () => {
    const r = await h.call('/web/things', { key, method: 'POST', body: '{}', headers: { 'x-break': '1' } });
    expect(r.status).toBe(502);
    expect(r.headers.get('ratelimit-policy')).toBe('"throttle";q=10;w=1, "quota";q=1000;w=86400');
    expect(r.headers.get('ratelimit')).toMatch(/^"throttle";r=\d+;t=\d+, "quota";r=\d+;t=\d+$/);
  });

  it('leaves them out when the API turns them off', async () => {
    const r = await h.call('/plain/x', { key: plainKey });
    expect(r.status).toBe(200);
    expect(r.headers.get('ratelimit')).toBeNull();
    expect(r.headers.get('ratelimit-policy')).toBeNull();
  });

  it('answers a preflight from an allowed origin itself, without a key, unmetered', async () => {
    const before = seen.length;
    const r = await h.call('/web/things', {
      method: 'OPTIONS',
      headers: {
        origin: PAGE,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type, x-api-key',
      },
    });
    expect(r.status).toBe(204);
    expect(r.headers.get('access-control-allow-origin')).toBe(PAGE);
    expect(r.headers.get('access-control-allow-methods')).toBe('GET, POST');
    expect(r.headers.get('access-control-allow-headers')).toBe('content-type, x-api-key');
    expect(r.headers.get('access-control-max-age')).toBe('600');
    expect(seen.length).toBe(before);
  });

  it('refuses a preflight from another origin, also without reaching the upstream', async () => {
    const before = seen.length;
    const r = await h.call('/web/things', {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(r.status).toBe(403);
    expect(r.headers.get('access-control-allow-origin')).toBeNull();
    expect(seen.length).toBe(before);
  });

  it('bills neither preflight', async () => {
    await meter.flush();
    const rows = await h.store.db.selectFrom('usage').selectAll().execute();
    const calls = rows.reduce((n, r) => n + Number(r.requests), 0);
    // Only the two real calls above were metered.
    expect(calls).toBe(2);
  });

  it('marks real answers to an allowed origin, refusals included, and no others', async () => {
    const ok = await h.call('/web/things', { key, method: 'POST', body: '{}', headers: { origin: PAGE } });
    expect(ok.headers.get('access-control-allow-origin')).toBe(PAGE);
    expect(ok.headers.get('access-control-expose-headers')).toContain('ratelimit');
    const refused = await h.call('/web/things', { method: 'POST', body: '{}', headers: { origin: PAGE } });
    expect(refused.status).toBe(403);
    expect(refused.headers.get('access-control-allow-origin')).toBe(PAGE);
    const foreign = await h.call('/web/things', {
      key,
      method: 'POST',
      body: '{}',
      headers: { origin: 'https://evil.example' },
    });
    expect(foreign.status).toBe(200);
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('leaves preflights of an API without CORS to its routes (no key: 403)', async () => {
    const r = await h.call('/plain/x', {
      method: 'OPTIONS',
      headers: { origin: PAGE, 'access-control-request-method': 'GET' },
    });
    expect(r.status).toBe(403);
    expect(r.headers.get('access-control-allow-origin')).toBeNull();
  });
});
