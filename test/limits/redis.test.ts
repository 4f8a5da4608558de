/**
 * What only a shared Redis can show: many connections racing for one quota and one bucket,
 * Redis' own clock, keys that expire, and the two backends agreeing decision by decision.
 */
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AdmitRequest,
  MemoryLimits,
  QUOTA_GRACE_MS,
  type QuotaRule,
  quotaWindow,
  RedisLimits,
} from '../../src/limits/index.js';
import { redisAvailable, testRedis } from '../helpers/redis.js';

const run = await redisAvailable();

describe.skipIf(!run)('RedisLimits on the machine’s Redis', () => {
  const conns: Redis[] = [];
  let prefix = '';
  let n = 0;
  const fresh = (useServerTime = true) => {
    const c = conns[0]!;
    return new RedisLimits({ redis: c, prefix: `${prefix}${n++}:`, useServerTime });
  };

  beforeAll(async () => {
    for (let i = 0; i < 4; i++) {
      const t = testRedis();
      if (i === 0) prefix = t.prefix;
      conns.push(t.redis);
    }
    await Promise.all(conns.map((c) => c.ping()));
  });
  afterAll(async () => {
    const keys = await conns[0]!.keys(`${prefix}*`);
    if (keys.length > 0) await conns[0]!.del(...keys);
    await Promise.all(conns.map((c) => c.quit()));
  });

  it('200 concurrent admits from 4 connections against a quota of 50 admit exactly 50', async () => {
    const p = `${prefix}race:${n++}:`;
    const nodes = conns.map((redis) => new RedisLimits({ redis, prefix: p }));
    const now = Date.now();
    const w = quotaWindow('DAY', 'UTC', now);
    const q: QuotaRule = { key: 'q:sub', limit: 50, windowStart: w.start, windowEnd: w.end, mode: 'block' };
    const ds = await Promise.all(
      Array.from({ length: 200 }, (_, i) => nodes[i % nodes.length]!.admit({ throttles: [], quota: q }, now)),
    );
    expect(ds.filter((d) => d.ok)).toHaveLength(50);
    expect(ds.filter((d) => !d.ok && d.code === 'QUOTA_EXCEEDED')).toHaveLength(150);
    const used = ds.flatMap((d) => (d.ok ? [d.quotaUsed] : [])).sort((a, b) => a! - b!);
    expect(used).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(await nodes[0]!.quotaUsed('q:sub', w.start)).toBe(50);
  });

  it('200 concurrent admits against one bucket of burst 30 (and a quota) admit exactly 30 and count exactly 30', async () => {
    const p = `${prefix}race:${n++}:`;
    const nodes = conns.map((redis) => new RedisLimits({ redis, prefix: p }));
    const now = Date.now();
    const w = quotaWindow('MONTH', 'UTC', now);
    const req: AdmitRequest = {
      throttles: [{ key: 'c:sub', rate: 0.001, burst: 30 }],
      quota: { key: 'q:sub', limit: 1000, windowStart: w.start, windowEnd: w.end, mode: 'block' },
    };
    const ds = await Promise.all(Array.from({ length: 200 }, (_, i) => nodes[i % 4]!.admit(req, now)));
    expect(ds.filter((d) => d.ok)).toHaveLength(30);
    expect(ds.filter((d) => !d.ok && d.code === 'THROTTLED')).toHaveLength(170);
    expect(await nodes[1]!.quotaUsed('q:sub', w.start)).toBe(30);
  });

  it('uses Redis’ clock when asked: the caller’s nowMs does not move buckets or retry hints', async () => {
    const limits = fresh(true);
    const real = Date.now();
    const w = { start: real - 1000, end: real + 60_000 };
    const q: QuotaRule = { key: 'q', limit: 0, windowStart: w.start, windowEnd: w.end, mode: 'block' };
    const d = await limits.admit({ throttles: [], quota: q }, 0);
    expect(d.ok).toBe(false);
    if (!d.ok && d.code === 'QUOTA_EXCEEDED') {
      expect(d.retryAfterMs).toBeGreaterThan(55_000);
      expect(d.retryAfterMs).toBeLessThanOrEqual(60_000);
    } else throw new Error(`unexpected ${JSON.stringify(d)}`);
    // a caller clock a day ahead refills nothing: the server's time rules
    const t = { key: 'c', rate: 1, burst: 1 };
    expect((await limits.admit({ throttles: [t] }, real)).ok).toBe(true);
    expect((await limits.admit({ throttles: [t] }, real + 86_400_000)).ok).toBe(false);
  });

  it('sets expiries: a bucket lives until it would be full again, a counter until its window ends + grace', async () => {
    const limits = fresh(false);
    const now = Date.UTC(2026, 2, 10, 12);
    const w = quotaWindow('DAY', 'UTC', now);
    await limits.admit(
      {
        throttles: [{ key: 'c', rate: 2, burst: 10 }],
        quota: { key: 'q', limit: 5, windowStart: w.start, windowEnd: w.end, mode: 'block' },
      },
      now,
    );
    const c = conns[0]!;
    const bucketTtl = await c.pttl(limits.bucketKey('c'));
    expect(bucketTtl).toBeGreaterThan(1000);
    expect(bucketTtl).toBeLessThanOrEqual(1500); // one token at 2/s = 500 ms, + 1 s
    const quotaTtl = await c.pttl(limits.quotaKey('q', w.start));
    expect(quotaTtl).toBeGreaterThan(w.end - now + QUOTA_GRACE_MS - 5000);
    expect(quotaTtl).toBeLessThanOrEqual(w.end - now + QUOTA_GRACE_MS);
    await limits.setQuotaUsed('q2', w.start, w.end, 7);
    expect(await c.pttl(limits.quotaKey('q2', w.start))).toBeGreaterThan(0);
  });

  it('agrees with MemoryLimits decision for decision over random request sequences', async () => {
    const base = Date.UTC(2026, 2, 10, 23, 59, 30); // sequences cross midnight: a new window
    const rules = [
      { key: 'a', rate: 2, burst: 4 },
      { key: 'b', rate: 0.3, burst: 2 },
      { key: 'c', rate: 7, burst: 1 },
    ];
    const step = fc.record({
      dt: fc.integer({ min: 0, max: 1500 }),
      throttles: fc.subarray([0, 1, 2]),
      quota: fc.constantFrom('none', 'block', 'count'),
      limit: fc.integer({ min: 0, max: 6 }),
      op: fc.constantFrom('admit', 'admit', 'admit', 'refund'),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 40 }), async (steps) => {
        const mem = new MemoryLimits();
        const red = fresh(false);
        let now = base;
        for (const s of steps) {
          now += s.dt;
          const w = quotaWindow('DAY', 'UTC', now);
          if (s.op === 'refund') {
            mem.refund('q', w.start);
            await red.refund('q', w.start);
            continue;
          }
          const req: AdmitRequest = { throttles: s.throttles.map((i) => rules[i]!) };
          if (s.quota !== 'none')
            req.quota = {
              key: 'q',
              limit: s.limit,
              windowStart: w.start,
              windowEnd: w.end,
              mode: s.quota === 'count' ? 'count' : 'block',
            };
          expect(await red.admit(req, now)).toEqual(mem.admit(req, now));
          expect(await red.quotaUsed('q', w.start)).toBe(mem.quotaUsed('q', w.start));
        }
      }),
      { numRuns: 40 },
    );
  });
});
