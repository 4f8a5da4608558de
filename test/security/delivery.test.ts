/**
 * No free calls, and bills only for what was delivered — through a real gateway socket, a
 * real loopback upstream and the real meter (batched and strict) on SQLite and PostgreSQL:
 *  - a client that drops after its request was forwarded is metered by the upstream's answer
 *    and its quota stays spent; if the upstream never answers, the call is billable;
 *  - a response body that the upstream cuts after the head is not billed and its quota is
 *    given back (strict: a reversal entry in the log, so a replay nets to zero).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMeter, type Meter } from '../../src/metering/index.js';
import { formatEntry, parseEntry } from '../../src/metering/log.js';
import { ManualClock, silentLogger } from '../../src/shared/index.js';
import type { Store } from '../../src/store/index.js';
import { type Harness, startHarness } from '../gateway/harness.js';
import { seedApi, seedKey, seedPlan, seedProvider, seedSubscription } from '../helpers/seed.js';
import { sqliteStore } from '../helpers/stores.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { meteringStores } from '../metering/fixtures/stores.js';

/** Waits for a condition (no fixed sleeps); fails after `ms`. */
async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

for (const kind of await meteringStores()) {
  for (const durability of ['batched', 'strict'] as const) {
    describe(`delivered calls are billed, others not (${kind.name}, ${durability})`, () => {
      let store: Store;
      let dir: string;
      let meter: Meter;
      let h: Harness;
      let up: Upstream;
      let apiPrefix = '';
      const held: Array<() => void> = [];

      beforeAll(async () => {
        store = await kind.open();
        dir = mkdtempSync(join(tmpdir(), 'tollgate-delivery-'));
        meter = await createMeter({
          store,
          clock: new ManualClock(Date.now()),
          log: silentLogger,
          durability,
          dataDir: dir,
          node: 'delivery',
          flushIntervalMs: 3_600_000,
        });
        up = await startUpstream((req, res) => {
          const path = new URL(req.url ?? '/', 'http://x').pathname;
          if (path.endsWith('/held')) {
            // Answers only when the test says so (after the client has gone).
            held.push(() => res.end('done'));
            return;
          }
          if (path.endsWith('/never')) return; // never answers
          if (path.endsWith('/cut')) {
            res.writeHead(200, { 'content-length': '100000' });
            res.write('x'.repeat(1000), () => setImmediate(() => res.socket?.destroy()));
            return;
          }
          res.end('ok');
        });
        h = await startHarness({ store, meter });
        const prv = await seedProvider(store);
        apiPrefix = `/d${durability}`;
        const { apiId } = await seedApi(store, prv, up.url, { pathPrefix: apiPrefix, timeoutMs: 1_000 });
        await seedPlan(store, prv, [apiId], { quota: { limit: 2, period: 'MONTH' } });
      });
      afterAll(async () => {
        await h?.close();
        await meter?.close();
        await up?.close();
        await store?.close();
        rmSync(dir, { recursive: true, force: true });
      });

      /** A fresh subscription (quota 2 a month) and its key. */
      async function subscriber(): Promise<{ key: string; keyId: string }> {
        const plans = await store.db.selectFrom('plans').select('id').execute();
        const { subscriptionId } = await seedSubscription(store, plans[0]!.id);
        const k = await seedKey(store, subscriptionId);
        await h.snapshots.refresh();
        return { key: k.value, keyId: k.keyId };
      }
      async function billed(keyId: string): Promise<number> {
        await meter.flush();
        const rows = await store.db
          .selectFrom('usage')
          .select(['requests', 'units'])
          .where('key_id', '=', keyId)
          .execute();
        return rows.reduce((s, r) => s + Number(r.requests), 0);
      }
      const status = async (key: string) => (await h.call(`${apiPrefix}/plain`, { key })).status;

      /** Sends a request and drops the connection once the upstream has it. */
      async function dropAfterForwarding(path: string, key: string): Promise<void> {
        const before = up.requests.length;
        const req = request(`${h.url}${path}`, { headers: { 'x-api-key': key } });
        req.on('error', () => {});
        req.end();
        await until('the upstream to receive the request', () => up.requests.length > before);
        req.destroy();
        await until(
          'the gateway to see the client leave',
          () => new Promise<boolean>((r) => h.gateway.server.getConnections((_e, count) => r(count === 0))),
        );
      }

      it('meters a call whose client dropped after forwarding, and keeps its quota spent', async () => {
        const { key, keyId } = await subscriber();
        await dropAfterForwarding(`${apiPrefix}/held`, key);
        held.shift()!(); // the upstream answers 200 to nobody
        await until('the call to be metered', async () => (await billed(keyId)) === 1);
        expect(await status(key)).toBe(200); // the second of two
        expect(await status(key)).toBe(429); // the dropped call counted
        expect(await billed(keyId)).toBe(2);
      });

      it('bills a call whose client dropped and whose upstream never answered (route timeout)', async () => {
        const { key, keyId } = await subscriber();
        await dropAfterForwarding(`${apiPrefix}/never`, key);
        await until('the route timeout to bill the call', async () => (await billed(keyId)) === 1);
        expect(await status(key)).toBe(200);
        expect(await status(key)).toBe(429);
      });

      it('does not bill a body the upstream cut after the head, and gives the quota back', async () => {
        const { key, keyId } = await subscriber();
        for (let i = 0; i < 3; i++) {
          const res = await h.call(`${apiPrefix}/cut`, { key });
          expect(res.status).toBe(200);
          await expect(res.arrayBuffer()).rejects.toThrow();
        }
        // Three cut calls on a quota of two: each was given back, so two whole calls still fit.
        expect(await status(key)).toBe(200);
        expect(await status(key)).toBe(200);
        expect(await status(key)).toBe(429);
        await until('the delivered calls only to be billed', async () => (await billed(keyId)) === 2);
      });
    });
  }
}

describe('strict log reversal entries', () => {
  it('round-trip, and a replay of a call and its reversal nets to zero (crash after both fsyncs)', async () => {
    const hour = Date.UTC(2026, 10, 26, 10);
    const rev = formatEntry(2, 'sub_1', 'key_1', 'api_1', 'requests', hour, -3, true);
    expect(parseEntry(rev.slice(0, -1))).toMatchObject({ seq: 2, units: -3, requests: -1 });
    expect(parseEntry(rev.slice(0, -1).replace(',-1]', ',-2]'))).toBeNull();
    const store = await sqliteStore.open();
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-reversal-'));
    try {
      writeFileSync(
        join(dir, `usage-rv-${'1'.padStart(16, '0')}.log`),
        formatEntry(1, 'sub_1', 'key_1', 'api_1', 'requests', hour, 3) +
          rev +
          formatEntry(3, 'sub_1', 'key_2', 'api_1', 'requests', hour, 1),
      );
      const m = await createMeter({
        store,
        clock: new ManualClock(hour),
        log: silentLogger,
        durability: 'strict',
        dataDir: dir,
        node: 'rv',
        flushIntervalMs: 3_600_000,
      });
      await m.close();
      const rows = await store.db.selectFrom('usage').select(['key_id', 'units', 'requests']).execute();
      expect(rows).toEqual([{ key_id: 'key_2', units: 1, requests: 1 }]);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
