/**
 * The one renderer of refusals, through a real gateway socket, a real loopback upstream and
 * the real meter: every refusal — a bad path, no route, a wrong key, a licence ceiling on a
 * public route, a licence that stops serving — is counted by the observer, recorded as a
 * rejection when it has a code, and answered with its status, body and fields.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServingGuard } from '../../../src/gateway/index.js';
import { createMeter, type Meter } from '../../../src/metering/index.js';
import { ManualClock, silentLogger } from '../../../src/shared/index.js';
import type { Store } from '../../../src/store/index.js';
import { seedApi, seedProvider } from '../../helpers/seed.js';
import { sqliteStore } from '../../helpers/stores.js';
import { startUpstream, type Upstream } from '../../helpers/upstream.js';
import { type Harness, startHarness } from '../harness.js';

type Seen = [api: string, route: string, status: number];

describe('deny(): every refusal counted, recorded and answered', () => {
  let store: Store;
  let h: Harness;
  let up: Upstream;
  let meter: Meter;
  let dir: string;
  let apiId = '';
  let openRoute = '';
  const seen: Seen[] = [];
  let licence: ReturnType<ServingGuard['current']> = {
    serving: true,
    throttle: { key: 'licence', rate: 0.001, burst: 1 },
  };

  beforeAll(async () => {
    up = await startUpstream();
    dir = mkdtempSync(join(tmpdir(), 'tollgate-deny-'));
    store = await sqliteStore.open();
    meter = await createMeter({
      store,
      clock: new ManualClock(Date.now()),
      log: silentLogger,
      durability: 'batched',
      dataDir: dir,
      node: 'deny',
      flushIntervalMs: 3_600_000,
    });
    h = await startHarness({
      store,
      meter,
      observer: { request: (a, r, s) => seen.push([a, r, s]), limitsUnavailable() {} },
      guard: { current: () => licence },
    });
    const prv = await seedProvider(h.store);
    const api = await seedApi(h.store, prv, up.url, {
      pathPrefix: '/shop',
      routes: [{ method: 'GET', path: '/open/{file+}', public: true }, { path: '/keyed' }],
    });
    apiId = api.apiId;
    openRoute = api.routeIds[0]!;
    await h.snapshots.refresh();
  });
  afterAll(async () => {
    await h?.close();
    await meter?.close();
    await store?.close();
    await up?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (path: string) =>
    new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
      const u = new URL(h.url);
      const req = request({ host: u.hostname, port: u.port, path }, (res) => {
        let body = '';
        res.on('data', (c) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.on('error', reject);
      req.end();
    });

  async function rejections(): Promise<Record<string, number>> {
    await meter.flush();
    const rows = await h.store.db.selectFrom('rejections').select(['code', 'route_id', 'count']).execute();
    const out: Record<string, number> = {};
    for (const r of rows)
      out[`${r.code}@${r.route_id}`] = (out[`${r.code}@${r.route_id}`] ?? 0) + Number(r.count);
    return out;
  }

  it('the licence ceiling on a public route: observed, recorded THROTTLED, with its limit fields', async () => {
    expect((await get('/shop/open/a.png')).status).toBe(200);
    const r = await get('/shop/open/a.png');
    expect(r.status).toBe(429);
    expect(JSON.parse(r.body)).toEqual({ message: 'Too Many Requests' });
    expect(r.headers['x-amzn-errortype']).toBe('TooManyRequestsException');
    expect(r.headers['ratelimit-policy']).toBe('"throttle";q=1;w=1');
    expect(Number(r.headers['retry-after'])).toBeGreaterThan(1);
    expect(r.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(seen.slice(-2)).toEqual([
      [apiId, openRoute, 200],
      [apiId, openRoute, 429],
    ]);
    expect((await rejections())[`THROTTLED@${openRoute}`]).toBe(1);
  });

  it('a bad path, no route and a missing key: each observed and recorded once', async () => {
    seen.length = 0;
    expect((await get('/shop/open/..;/admin')).status).toBe(400);
    expect((await get('/nowhere')).status).toBe(404);
    expect((await get('/shop/keyed')).status).toBe(403);
    expect(seen.map((s) => s[2])).toEqual([400, 404, 403]);
    expect(seen[0]).toEqual(['', '', 400]);
    const r = await rejections();
    expect(r['BAD_PATH@']).toBe(1);
    expect(r['NO_ROUTE@']).toBe(1);
    expect(Object.keys(r).filter((k) => k.startsWith('FORBIDDEN@'))).toHaveLength(1);
  });

  it('a licence that stops serving: its own answer, observed, not recorded as a caller’s rejection', async () => {
    seen.length = 0;
    const before = await rejections();
    licence = { serving: false, status: 503, body: { message: 'Licence expired' } };
    const r = await get('/shop/open/a.png');
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body)).toEqual({ message: 'Licence expired' });
    expect(seen).toEqual([['', '', 503]]);
    expect(await rejections()).toEqual(before);
  });
});
