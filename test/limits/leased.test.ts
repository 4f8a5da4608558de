/**
 * LeasedLimits on one node, on the machine's Redis: a hot key is served from a local block
 * without a round trip, the rest of a block goes back when it expires or on close, a plan
 * change never spends an old block, concurrent admits share one trip, Redis down leaves held
 * blocks serving, and createLimits picks the right backend without ever throwing on an outage.
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AdmitRequest,
  createLimits,
  type Decision,
  LeasedLimits,
  type LeasedLimitsOptions,
  MemoryLimits,
  type QuotaRule,
  quotaWindow,
  RedisLimits,
} from '../../src/limits/index.js';
import { TollgateError } from '../../src/shared/errors.js';
import { faultCounts } from '../../src/shared/index.js';
import { redisAvailable, testRedis } from '../helpers/redis.js';
import { REDIS_URL } from '../helpers/stores.js';
import { closedPort, Relay } from './relay.js';

const run = await redisAvailable();
const T0 = Date.UTC(2026, 2, 10, 12);
const DAY = quotaWindow('DAY', 'UTC', T0);
const quota = (limit: number, key = 'q:hot', mode: QuotaRule['mode'] = 'block'): QuotaRule => ({
  key,
  limit,
  windowStart: DAY.start,
  windowEnd: DAY.end,
  mode,
});

describe.skipIf(!run)('LeasedLimits on one node', () => {
  let conn: { redis: Redis; prefix: string };
  let n = 0;
  const made: LeasedLimits[] = [];
  const leased = (opts: Partial<LeasedLimitsOptions> = {}) => {
    const limits = new RedisLimits({
      redis: conn.redis,
      prefix: `${conn.prefix}${n++}:`,
      useServerTime: false,
    });
    const l = new LeasedLimits({ limits, units: 10, leaseFor: () => 10, sweepEveryMs: 0, ...opts });
    made.push(l);
    return { l, limits };
  };
  const counter = async (limits: RedisLimits, key = 'q:hot') =>
    Number((await conn.redis.get(limits.quotaKey(key, DAY.start))) ?? 0);

  beforeAll(() => {
    conn = testRedis();
  });
  afterAll(async () => {
    for (const l of made) await l.close().catch(() => {});
    const keys = await conn.redis.keys(`${conn.prefix}*`);
    if (keys.length > 0) await conn.redis.del(...keys);
    await conn.redis.quit();
  });

  it('serves a hot key from a local block: synchronously, one Redis call per 10 admits', async () => {
    const { l, limits } = leased();
    const req: AdmitRequest = { throttles: [{ key: 'c:hot', rate: 1000, burst: 1000 }], quota: quota(1000) };
    const ds: Decision[] = [];
    let sync = 0;
    for (let i = 0; i < 100; i++) {
      const p = l.admit(req, T0);
      if (!(p instanceof Promise)) sync++;
      ds.push(await p);
    }
    expect(sync).toBe(90);
    expect(l.stats()).toMatchObject({ admits: 100, local: 90, trips: 10, gives: 0, leasedUnits: 90 });
    // the answers are those of an exact limiter: ordinals 1..100, remainders counting down
    expect(ds.map((d) => (d.ok ? d.quotaUsed : 0))).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(ds.map((d) => (d.ok ? d.throttleRemaining : -1))).toEqual(
      Array.from({ length: 100 }, (_, i) => 999 - i),
    );
    expect(await counter(limits)).toBe(100);
    expect(await l.quotaUsed('q:hot', DAY.start)).toBe(100);
  });

  it('adaptive lease size: a cold key never leases, a hot one ramps up to `units`', async () => {
    const { l } = leased({ leaseFor: undefined, units: 16, ttlMs: 250 });
    const cold: AdmitRequest = {
      throttles: [{ key: 'c:cold', rate: 10, burst: 10 }],
      quota: quota(100, 'q:cold'),
    };
    for (let i = 0; i < 20; i++) expect((await l.admit(cold, T0 + i * 300)).ok).toBe(true);
    expect(l.stats()).toMatchObject({ admits: 20, trips: 20, local: 0, leasedUnits: 0, gives: 0 });

    const hot: AdmitRequest = {
      throttles: [{ key: 'c:hot2', rate: 1e4, burst: 1e4 }],
      quota: quota(1e6, 'q:hot2'),
    };
    for (let i = 0; i < 200; i++) expect((await l.admit(hot, T0 + 10_000)).ok).toBe(true);
    const s = l.stats();
    // leases of 1, 2, 4, 8, 16, 16, ...: ≈ 200/16 trips, not 200
    expect(s.trips - 20).toBeLessThanOrEqual(17);
    expect(s.local).toBeGreaterThanOrEqual(180);
  });

  it('gives the rest of an expired block back, to the quota counter and to every bucket', async () => {
    const { l, limits } = leased({ ttlMs: 250 });
    const req: AdmitRequest = { throttles: [{ key: 'c:1', rate: 0.001, burst: 50 }], quota: quota(100) };
    for (let i = 0; i < 3; i++) await l.admit(req, T0);
    expect(await counter(limits)).toBe(10); // 3 served + 7 held here
    expect(await l.quotaUsed('q:hot', DAY.start)).toBe(3);
    expect(Number(await conn.redis.hget(limits.bucketKey('c:1'), 't'))).toBeCloseTo(40, 6);

    await l.sweep(T0 + 249); // not yet expired
    expect(await counter(limits)).toBe(10);
    await l.sweep(T0 + 250);
    expect(l.stats()).toMatchObject({ gives: 1, givenUnits: 7, owedUnits: 0, lostUnits: 0 });
    expect(await counter(limits)).toBe(3);
    expect(Number(await conn.redis.hget(limits.bucketKey('c:1'), 't'))).toBeCloseTo(47, 3);
    // an expired block is never served from, even before the sweeper ran
    const { l: l2, limits: r2 } = leased({ ttlMs: 250 });
    await l2.admit(req, T0);
    const late = l2.admit(req, T0 + 250);
    expect(late).toBeInstanceOf(Promise);
    expect(await late).toMatchObject({ ok: true, quotaUsed: 2 });
    expect(await counter(r2)).toBe(11); // 10 − 9 given back in the same script + 10 newly leased
    expect(await l2.quotaUsed('q:hot', DAY.start)).toBe(2);
  });

  it('close() gives every held unit back: the shared counter equals what was served', async () => {
    const { l, limits } = leased();
    const a: AdmitRequest = { throttles: [], quota: quota(1000) };
    const b: AdmitRequest = { throttles: [{ key: 'c:x', rate: 1, burst: 100 }], quota: quota(1000) };
    for (let i = 0; i < 13; i++) await l.admit(a, T0);
    for (let i = 0; i < 4; i++) await l.admit(b, T0);
    expect(await counter(limits)).toBe(30);
    await l.close();
    expect(await counter(limits)).toBe(17);
    expect(l.stats()).toMatchObject({ givenUnits: 13, lostUnits: 0 });
  });

  it('never serves an old block across a plan change or a quota adjustment', async () => {
    const { l, limits } = leased();
    const q = quota(100);
    await l.admit({ throttles: [{ key: 'c:p', rate: 5, burst: 20 }], quota: q }, T0);
    // the plan's burst drops: the next admit goes to Redis, which gives the 9 back first
    const d = l.admit({ throttles: [{ key: 'c:p', rate: 5, burst: 2 }], quota: q }, T0);
    expect(d).toBeInstanceOf(Promise);
    expect(await d).toMatchObject({ ok: true, quotaUsed: 2, throttleRemaining: 1 });
    // an admin lowers the limit to 3: the held units go back and the new limit binds at once
    const low = { ...q, limit: 3 };
    const req = { throttles: [{ key: 'c:p', rate: 5, burst: 2 }], quota: low };
    expect(await l.admit(req, T0 + 1000)).toMatchObject({ ok: true, quotaUsed: 3, quotaRemaining: 0 });
    expect(await l.admit(req, T0 + 1000)).toMatchObject({ ok: false, code: 'QUOTA_EXCEEDED' });
    expect(await counter(limits)).toBe(3);
  });

  it('concurrent admits of one key share one trip, and share its refusal', async () => {
    const { l } = leased({ units: 100, leaseFor: () => 100 });
    const req: AdmitRequest = { throttles: [], quota: quota(1000, 'q:conc') };
    const ds = await Promise.all(Array.from({ length: 50 }, () => l.admit(req, T0)));
    expect(l.stats().trips).toBe(1);
    const used = ds.map((d) => (d.ok ? d.quotaUsed : 0)).sort((x, y) => x! - y!);
    expect(used).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));

    const t: AdmitRequest = { throttles: [{ key: 'c:conc', rate: 1, burst: 5 }] };
    const before = l.stats().trips;
    const ts = await Promise.all(Array.from({ length: 50 }, () => l.admit(t, T0)));
    expect(ts.filter((d) => d.ok)).toHaveLength(5);
    expect(ts.filter((d) => !d.ok && d.code === 'THROTTLED' && d.retryAfterMs === 1000)).toHaveLength(45);
    expect(l.stats().trips - before).toBeLessThanOrEqual(2);
  });

  it('a sweep that cannot reach Redis owes the units, reports the fault, and gives them back once Redis is back', async () => {
    const relay = new Relay();
    await relay.start();
    const prefix = `${conn.prefix}owed:`;
    const limits = RedisLimits.connect(`redis://127.0.0.1:${relay.port}`, { prefix, useServerTime: false });
    const l = new LeasedLimits({ limits, units: 10, leaseFor: () => 10, sweepEveryMs: 0, ttlMs: 250 });
    const faults = () => faultCounts().get('limits.lease_give') ?? 0;
    const shared = () => counter(limits, 'q:owed');
    try {
      await limits.ready();
      const req: AdmitRequest = { throttles: [], quota: quota(1000, 'q:owed') };
      for (let i = 0; i < 3; i++) expect(await l.admit(req, T0)).toMatchObject({ ok: true });
      expect(await shared()).toBe(10); // 3 served + 7 held
      await relay.cut();
      // Once the connection knows Redis is gone, nothing is sent: the give-back is owed.
      for (let i = 0; i < 100 && limits.link().down() === null; i++)
        await new Promise((r) => setTimeout(r, 10));
      const before = faults();
      await l.sweep(T0 + 250);
      expect(faults()).toBe(before + 1);
      expect(l.stats()).toMatchObject({ owedUnits: 7, givenUnits: 0, lostUnits: 0 });
      expect(await shared()).toBe(10); // counted as used meanwhile: never over-serves
      await relay.start();
      await limits.ready(3000).catch(() => {});
      for (let i = 0; i < 60 && l.stats().owedUnits > 0; i++) {
        await l.sweep(T0 + 500 + i);
        if (l.stats().owedUnits > 0) await new Promise((r) => setTimeout(r, 50));
      }
      expect(l.stats()).toMatchObject({ owedUnits: 0, givenUnits: 7, lostUnits: 0 });
      expect(await shared()).toBe(3);
    } finally {
      await l.close();
      await relay.cut();
    }
  });

  it('Redis down: held blocks keep serving, trips answer LIMITS_UNAVAILABLE fast, and it recovers', async () => {
    const relay = new Relay();
    await relay.start();
    const prefix = `${conn.prefix}outage:`;
    const limits = RedisLimits.connect(`redis://127.0.0.1:${relay.port}`, { prefix, useServerTime: false });
    const l = new LeasedLimits({ limits, units: 10, leaseFor: () => 10, sweepEveryMs: 0 });
    try {
      await limits.ready();
      const req: AdmitRequest = { throttles: [], quota: quota(1000, 'q:out') };
      expect((await l.admit(req, T0)).ok).toBe(true);
      await relay.cut();
      for (let i = 0; i < 9; i++) expect(l.admit(req, T0)).toMatchObject({ ok: true, quotaUsed: i + 2 });
      const t = performance.now();
      expect(await l.admit(req, T0)).toMatchObject({ ok: false, code: 'LIMITS_UNAVAILABLE' });
      expect(performance.now() - t).toBeLessThan(1000);
      await relay.start();
      await limits.ready(3000).catch(() => {});
      let d: Decision = await l.admit(req, T0);
      for (let i = 0; i < 60 && !d.ok; i++) {
        await new Promise((r) => setTimeout(r, 50));
        d = await l.admit(req, T0);
      }
      expect(d).toMatchObject({ ok: true, quotaUsed: 11 });
    } finally {
      await l.close();
      await relay.cut();
    }
  });
});

describe('createLimits', () => {
  it('without a Redis URL: the in-process backend (a lease setting is moot there)', async () => {
    expect(await createLimits()).toBeInstanceOf(MemoryLimits);
    expect(await createLimits({ lease: { units: 8, ttlMs: 250 } })).toBeInstanceOf(MemoryLimits);
  });

  it('Redis down at start: resolves anyway, says so, and admits answer LIMITS_UNAVAILABLE', async () => {
    const errors: Error[] = [];
    const url = `redis://127.0.0.1:${await closedPort()}`;
    for (const lease of [null, { units: 8, ttlMs: 250 }]) {
      const limits = await createLimits({
        redisUrl: url,
        lease,
        readyTimeoutMs: 200,
        onNotReady: (e) => errors.push(e),
      });
      expect(limits).toBeInstanceOf(lease ? LeasedLimits : RedisLimits);
      expect(await limits.admit({ throttles: [{ key: 'c', rate: 1, burst: 1 }] }, Date.now())).toMatchObject({
        ok: false,
        code: 'LIMITS_UNAVAILABLE',
      });
      await limits.close();
    }
    expect(errors).toHaveLength(2);
  });

  it('refuses a lease setting out of range, naming it', async () => {
    await expect(createLimits({ redisUrl: REDIS_URL, lease: { units: 0, ttlMs: 250 } })).rejects.toThrow(
      /lease\.units/,
    );
    await expect(createLimits({ redisUrl: REDIS_URL, lease: { units: 8, ttlMs: 0 } })).rejects.toBeInstanceOf(
      TollgateError,
    );
  });

  it.runIf(run)('with a Redis URL and a lease: LeasedLimits, ready and admitting', async () => {
    const prefix = `tgtest:create:${Date.now().toString(36)}:`;
    const limits = await createLimits({ redisUrl: REDIS_URL, lease: { units: 8, ttlMs: 250 }, prefix });
    expect(limits).toBeInstanceOf(LeasedLimits);
    const req = { throttles: [{ key: 'c', rate: 100, burst: 100 }] };
    for (let i = 0; i < 5; i++) expect((await limits.admit(req, Date.now())).ok).toBe(true);
    await limits.close();
  });
});
