/**
 * Three LeasedLimits nodes sharing the machine's Redis: the overshoot bounds of docs/limits.md,
 * checked — a quota is never exceeded (and every unit is accounted for once leases come back),
 * a throttle admits at most burst + rate·t + nodes·(units − 1) over any interval — by a
 * property over random interleavings (injected time) and by real concurrent races.
 */
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AdmitRequest,
  type Decision,
  LeasedLimits,
  quotaWindow,
  RedisLimits,
} from '../../src/limits/index.js';
import { redisAvailable, testRedis } from '../helpers/redis.js';

const run = await redisAvailable();
const T0 = Date.UTC(2026, 2, 10, 12);
const DAY = quotaWindow('DAY', 'UTC', T0);
const NODES = 3;

describe.skipIf(!run)('three LeasedLimits nodes on one Redis', () => {
  const conns: Redis[] = [];
  let prefix = '';
  let n = 0;
  /** Three nodes, each on its own connection, sharing one key space. */
  const cluster = (
    units: number,
    opts: { useServerTime?: boolean; ttlMs?: number; sweepEveryMs?: number } = {},
  ) => {
    const p = `${prefix}${n++}:`;
    return conns.map(
      (redis) =>
        new LeasedLimits({
          limits: new RedisLimits({ redis, prefix: p, useServerTime: opts.useServerTime ?? false }),
          units,
          leaseFor: () => units,
          ttlMs: opts.ttlMs ?? 250,
          sweepEveryMs: opts.sweepEveryMs ?? 0,
        }),
    );
  };
  /** A plain RedisLimits reading the key space of the last cluster made. */
  const reader = () => new RedisLimits({ redis: conns[0]!, prefix: `${prefix}${n - 1}:` });

  beforeAll(async () => {
    for (let i = 0; i < NODES; i++) {
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

  it('property: over random interleavings, quota never exceeded, throttle within burst + rate·t + 3·(units − 1)', async () => {
    const step = fc.record({
      node: fc.integer({ min: 0, max: NODES - 1 }),
      dt: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 200 })),
      op: fc.constantFrom('admit', 'admit', 'admit', 'admit', 'admit', 'sweep'),
    });
    const scenario = fc.record({
      units: fc.integer({ min: 1, max: 8 }),
      rate: fc.constantFrom(2, 20, 120),
      burst: fc.integer({ min: 1, max: 10 }),
      limit: fc.integer({ min: 0, max: 80 }),
      steps: fc.array(step, { minLength: 1, maxLength: 80 }),
    });
    await fc.assert(
      fc.asyncProperty(scenario, async ({ units, rate, burst, limit, steps }) => {
        const nodes = cluster(units);
        const req: AdmitRequest = {
          throttles: [{ key: 'c:sub', rate, burst }],
          quota: { key: 'q:sub', limit, windowStart: DAY.start, windowEnd: DAY.end, mode: 'block' },
        };
        const admitted: number[] = [];
        let now = T0;
        for (const s of steps) {
          now += s.dt;
          const node = nodes[s.node]!;
          if (s.op === 'sweep') await node.sweep(now);
          else if ((await node.admit(req, now)).ok) admitted.push(now);
        }
        // quota: zero overshoot
        expect(admitted.length).toBeLessThanOrEqual(limit);
        // throttle: every interval [t_i, t_j] of admits
        const slack = NODES * (units - 1);
        for (let i = 0; i < admitted.length; i++)
          for (let j = i; j < admitted.length; j++) {
            const allowed = burst + (rate * (admitted[j]! - admitted[i]!)) / 1000 + slack + 1e-6;
            expect(j - i + 1).toBeLessThanOrEqual(allowed);
          }
        // once every node gave its blocks back, the shared counter is exactly what was served
        for (const node of nodes) await node.close();
        expect(await reader().quotaUsed('q:sub', DAY.start)).toBe(admitted.length);
      }),
      { numRuns: 40 },
    );
  });

  it('the throttle bound is tight: 3 nodes holding 7 units each overshoot a refilled burst by exactly 21', async () => {
    const nodes = cluster(8);
    const req: AdmitRequest = { throttles: [{ key: 'c:sub', rate: 120, burst: 24 }] };
    for (const node of nodes) expect(await node.admit(req, T0)).toMatchObject({ ok: true }); // 3 × (1 + 7 held)
    const t1 = T0 + 200; // the bucket is full again (24 tokens at 120/s)
    let burst = 0;
    for (const node of nodes) while (burst < 100 && (await node.admit(req, t1)).ok) burst++;
    expect(burst).toBe(24 + NODES * 7); // an exact limiter admits 24 at one instant
    for (const node of nodes) await node.close();
  });

  it('a quota refusal while other nodes hold units says when they come back; then they are served', async () => {
    const [a, b, c] = cluster(8);
    const req: AdmitRequest = {
      throttles: [],
      quota: { key: 'q:sub', limit: 10, windowStart: DAY.start, windowEnd: DAY.end, mode: 'block' },
    };
    expect(await a!.admit(req, T0)).toMatchObject({ ok: true, quotaUsed: 1 }); // holds 7 more
    expect(await b!.admit(req, T0)).toMatchObject({ ok: true, quotaUsed: 9 }); // got 2, holds 1
    const refused = await c!.admit(req, T0);
    // not "wait for tomorrow": the held units are back within ttl + half a ttl + 50 ms
    expect(refused).toEqual({
      ok: false,
      code: 'QUOTA_EXCEEDED',
      retryAfterMs: 250 + 125 + 50,
      quotaUsed: 10,
      quotaRemaining: 0,
    });
    await a!.close();
    await b!.close();
    const later: Decision[] = [];
    for (let i = 0; i < 9; i++) later.push(await c!.admit(req, T0 + 500));
    expect(later.filter((d) => d.ok)).toHaveLength(8);
    expect(later[8]).toMatchObject({ code: 'QUOTA_EXCEEDED', retryAfterMs: DAY.end - T0 - 500 });
    await c!.close();
  });

  it('real race: 3 nodes × 20 concurrent callers against a quota of 300 admit exactly 300', async () => {
    const nodes = cluster(16, { useServerTime: true, ttlMs: 100, sweepEveryMs: 50 });
    const now = Date.now();
    const w = quotaWindow('DAY', 'UTC', now);
    const req: AdmitRequest = {
      throttles: [],
      quota: { key: 'q:race', limit: 300, windowStart: w.start, windowEnd: w.end, mode: 'block' },
    };
    let ok = 0;
    let maxSeen = 0;
    const until = performance.now() + 5000;
    const caller = async (node: LeasedLimits) => {
      while (performance.now() < until) {
        const d = await node.admit(req, Date.now());
        if (d.ok) {
          ok++;
          maxSeen = Math.max(maxSeen, d.quotaUsed ?? 0);
        } else if (d.code === 'QUOTA_EXCEEDED' && d.retryAfterMs < 1000) {
          await new Promise((r) => setTimeout(r, Math.max(5, d.retryAfterMs)));
        } else return;
      }
    };
    await Promise.all(nodes.flatMap((node) => Array.from({ length: 20 }, () => caller(node))));
    expect(ok).toBe(300);
    expect(maxSeen).toBeLessThanOrEqual(300);
    for (const node of nodes) await node.close();
    expect(await reader().quotaUsed('q:race', w.start)).toBe(300);
  });

  it('real race: a throttle of 200/s, burst 20, lease 16 admits at most burst + rate·t + 3·15', async () => {
    const nodes = cluster(16, { useServerTime: true, ttlMs: 100, sweepEveryMs: 50 });
    const req: AdmitRequest = { throttles: [{ key: 'c:race', rate: 200, burst: 20 }] };
    const times: number[] = [];
    const t0 = Date.now();
    const until = performance.now() + 1500;
    const caller = async (node: LeasedLimits) => {
      while (performance.now() < until) {
        const d = await node.admit(req, Date.now());
        if (d.ok) times.push(Date.now());
        else if (d.code === 'THROTTLED')
          await new Promise((r) => setTimeout(r, Math.min(d.retryAfterMs, 20)));
        else throw new Error(`unexpected ${d.code}`);
      }
    };
    await Promise.all(nodes.flatMap((node) => Array.from({ length: 10 }, () => caller(node))));
    const seconds = (Math.max(...times) - t0) / 1000;
    const bound = 20 + 200 * (seconds + 0.005) + NODES * 15; // +5 ms: Redis' clock vs ours, ms rounding
    expect(times.length).toBeLessThanOrEqual(bound);
    // and leasing does not starve it (loose: a loaded machine stalls callers, and a full bucket wastes refill)
    expect(times.length).toBeGreaterThanOrEqual(0.5 * (200 * seconds));
    for (const node of nodes) await node.close();
  });
});
