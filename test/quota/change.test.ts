/**
 * A quota added or changed mid-window counts what the subscription already used in it, on
 * the in-memory and the Redis limits backends: the gateway lets through exactly what
 * GetUsage and the admin quota view say remains (a whole Tollgate, real sockets).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tollgate } from '../../src/main/index.js';
import { localDate } from '../../src/metering/index.js';
import { type AdminClient, adminClient, provision } from '../helpers/admin.js';
import { redisAvailable } from '../helpers/redis.js';
import { REDIS_URL } from '../helpers/stores.js';
import { startTestTollgate } from '../helpers/tollgate.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

const TOKEN = `tga_quota_${'c'.repeat(32)}`;
const backends = [
  { name: 'memory limits', settings: {} },
  ...((await redisAvailable()) ? [{ name: 'Redis limits', settings: { redisUrl: REDIS_URL } }] : []),
];

for (const backend of backends) {
  describe(`quota changes take effect exactly (${backend.name})`, () => {
    let up: Upstream;
    let tg: Tollgate;
    let close: () => Promise<void>;
    let admin: AdminClient;

    beforeAll(async () => {
      up = await startUpstream();
      ({ tg, close } = await startTestTollgate(TOKEN, backend.settings));
      admin = adminClient(tg.consoleUrl!, TOKEN);
    }, 60_000);
    afterAll(async () => {
      await close?.();
      await up?.close();
    });

    /** Calls until the first refusal; returns how many were served (at most `max`). */
    async function served(p: { key: string; prefix: string }, max: number): Promise<number> {
      for (let n = 0; n < max; n++) {
        const r = await fetch(`${tg.gatewayUrl}${p.prefix}/x`, { headers: { 'x-api-key': p.key } });
        await r.arrayBuffer();
        if (r.status !== 200) {
          expect(r.status).toBe(429);
          return n;
        }
      }
      return max;
    }

    async function change(planId: string, quota: Record<string, unknown>) {
      await admin.patch(`/plans/${planId}`, { quota });
      await tg.snapshots.refresh(); // live once it resolves (and its new windows seeded)
    }

    async function views(p: { planId: string; subscriptionId: string; keyId: string }) {
      await tg.meter!.flush();
      const today = localDate(Date.now(), 'UTC');
      const u = await admin.get<{ values: Record<string, [number, number][]> }>(
        `/usageplans/${p.planId}/usage?startDate=${today}&endDate=${today}&keyId=${p.keyId}`,
      );
      const q = await admin.get<{ used: number; remaining: number }>(
        `/subscriptions/${p.subscriptionId}/quota`,
      );
      return { getUsage: u.values[p.keyId]![0]!, quota: q };
    }

    it('a quota added after 4 calls lets exactly the rest through', async () => {
      const p = { ...(await provision(admin, up.url, {}, '/added')), prefix: '/added' };
      expect(await served(p, 4)).toBe(4);
      await change(p.planId, { limit: 6, period: 'DAY' });
      expect((await views(p)).getUsage).toEqual([4, 2]);
      expect(await served(p, 10)).toBe(2);
      const v = await views(p);
      expect(v.getUsage).toEqual([6, 0]);
      expect(v.quota).toMatchObject({ used: 6, remaining: 0 });
    });

    it('5/DAY used up, changed to 8/WEEK, lets exactly 3 more through', async () => {
      const p = {
        ...(await provision(admin, up.url, { quota: { limit: 5, period: 'DAY' } }, '/changed')),
        prefix: '/changed',
      };
      expect(await served(p, 10)).toBe(5);
      await change(p.planId, { limit: 8, period: 'WEEK' });
      expect((await views(p)).quota).toMatchObject({ used: 5, remaining: 3 });
      expect(await served(p, 10)).toBe(3);
      const v = await views(p);
      expect(v.getUsage).toEqual([8, 0]);
      expect(v.quota).toMatchObject({ used: 8, remaining: 0 });
    });
  });
}
