/**
 * Paths an upstream could read differently from the gateway, through a real gateway socket,
 * a real loopback upstream and the real meter, on SQLite and PostgreSQL: an attacker without
 * a key aims at a PUBLIC route and tries to climb out of it (`x%5c..%5c`, `%c0%ae%c0%ae`,
 * `..;/`, dot segments) towards the keyed routes or the upstream's own admin pages. Each is
 * answered 400 `{"message":"Bad Request"}` before any route is matched, never reaches the
 * upstream, and is counted as a BAD_PATH rejection; the public route itself still works.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMeter, type Meter } from '../../src/metering/index.js';
import { ManualClock, silentLogger } from '../../src/shared/index.js';
import type { Store } from '../../src/store/index.js';
import { type Harness, startHarness } from '../gateway/harness.js';
import { seedApi, seedProvider } from '../helpers/seed.js';
import { testStores } from '../helpers/stores.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

/** Sends the path exactly as written (fetch would normalise it first). */
function raw(base: string, path: string): Promise<{ status: number; body: string; type: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(base);
    const req = request({ host: u.hostname, port: u.port, path }, (res) => {
      let body = '';
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body, type: String(res.headers['x-amzn-errortype']) }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

const ATTACKS = [
  '/shop/public/x%5c..%5c..%5cadmin',
  '/shop/public/x%5C..%5Cadmin',
  '/shop/public/x\\..\\admin',
  '/shop/public/%c0%ae%c0%ae/admin',
  '/shop/public/%c0%ae%c0%ae%c0%afadmin',
  '/shop/public/%e0%80%ae%e0%80%ae/admin',
  '/shop/public/..;/admin',
  '/shop/public/x;/../admin',
  '/shop/public/..%3b/admin',
  '/shop/public/../admin',
  '/shop/public/%2e%2e/admin',
  '/shop/public/.%2E/admin',
  '/shop/public/x%2f..%2fadmin',
  '/shop/public/x%00.png',
];

for (const kind of await testStores()) {
  describe(`request paths are judged before matching (${kind.name})`, () => {
    let store: Store;
    let dir: string;
    let meter: Meter;
    let h: Harness;
    let up: Upstream;

    beforeAll(async () => {
      store = await kind.open();
      dir = mkdtempSync(join(tmpdir(), 'tollgate-paths-'));
      meter = await createMeter({
        store,
        clock: new ManualClock(Date.now()),
        log: silentLogger,
        durability: 'batched',
        dataDir: dir,
        node: 'paths',
        flushIntervalMs: 3_600_000,
      });
      up = await startUpstream();
      h = await startHarness({ store, meter });
      const prv = await seedProvider(store);
      await seedApi(store, prv, `${up.url}/app`, {
        pathPrefix: '/shop',
        routes: [{ method: 'GET', path: '/public/{file+}', public: true }, { path: '/orders/{id}' }],
      });
      await h.snapshots.refresh();
    });
    afterAll(async () => {
      await h?.close();
      await meter?.close();
      await up?.close();
      await store?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('serves the public route to an ordinary path', async () => {
      const r = await raw(h.url, '/shop/public/logo.png?v=..%5c');
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body).url).toBe('/app/public/logo.png?v=..%5c');
    });

    it('refuses each climbing path with 400, forwards none, and counts them as BAD_PATH', async () => {
      const before = up.requests.length;
      for (const path of ATTACKS) {
        const r = await raw(h.url, path);
        expect(r.status, path).toBe(400);
        expect(JSON.parse(r.body), path).toEqual({ message: 'Bad Request' });
        expect(r.type, path).toBe('BadRequestException');
      }
      expect(up.requests.length).toBe(before);
      await meter.flush();
      const rows = await store.db
        .selectFrom('rejections')
        .select(['code', 'count'])
        .where('code', '=', 'BAD_PATH')
        .execute();
      expect(rows.reduce((s, r) => s + Number(r.count), 0)).toBe(ATTACKS.length);
    });
  });
}
