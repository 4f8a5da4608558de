/**
 * Redis down is a fault, never a 429: admit answers LIMITS_UNAVAILABLE fast, and the same
 * RedisLimits admits again by itself once Redis is back. The outage is made real by putting a
 * TCP relay (loopback) between the client and the machine's Redis and closing it.
 */
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { type Decision, RedisLimits } from '../../src/limits/index.js';
import { redisAvailable } from '../helpers/redis.js';
import { closedPort, Relay } from './relay.js';

const quick = async (p: Promise<Decision> | Decision) => {
  const t = performance.now();
  const d = await p;
  return { d, ms: performance.now() - t };
};

const withRedis = await redisAvailable();

const req = { throttles: [{ key: 'c', rate: 100, burst: 100 }] };

describe('RedisLimits when Redis is unreachable', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0)) await c();
  });

  it('answers LIMITS_UNAVAILABLE in well under a second, every time, and never throws', async () => {
    const limits = RedisLimits.connect(`redis://127.0.0.1:${await closedPort()}`);
    cleanup.push(() => limits.close());
    for (let i = 0; i < 5; i++) {
      const { d, ms } = await quick(limits.admit(req, Date.now()));
      expect(d).toMatchObject({ ok: false, code: 'LIMITS_UNAVAILABLE' });
      if (!d.ok && d.code === 'LIMITS_UNAVAILABLE') expect(d.error).toBeInstanceOf(Error);
      expect(ms).toBeLessThan(1000);
    }
    await expect(limits.ready(300)).rejects.toThrow(/not ready/);
  });

  it('stays fast on a connection built with ioredis defaults (offline queue, 20 retries)', async () => {
    const redis = new Redis(`redis://127.0.0.1:${await closedPort()}`);
    redis.on('error', () => {});
    cleanup.push(() => redis.disconnect());
    const limits = new RedisLimits({ redis });
    for (let i = 0; i < 3; i++) {
      const { d, ms } = await quick(limits.admit(req, Date.now()));
      expect(d).toMatchObject({ ok: false, code: 'LIMITS_UNAVAILABLE' });
      expect(ms).toBeLessThan(1000);
    }
    await expect(limits.quotaUsed('q', 0)).rejects.toThrow();
  });

  it.runIf(withRedis)('recovers by itself when Redis comes back', async () => {
    const relay = new Relay();
    await relay.start();
    const limits = RedisLimits.connect(`redis://127.0.0.1:${relay.port}`, {
      prefix: `tgtest:outage:${Date.now().toString(36)}:`,
    });
    cleanup.push(
      () => limits.close(),
      () => relay.cut(),
    );
    const ready = async () => {
      const until = Date.now() + 5000;
      for (;;) {
        const d = await limits.admit(req, Date.now());
        if (d.ok || Date.now() > until) return d;
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await limits.ready();
    expect((await ready()).ok).toBe(true);

    await relay.cut();
    for (let i = 0; i < 3; i++) {
      const { d, ms } = await quick(limits.admit(req, Date.now()));
      expect(d).toMatchObject({ ok: false, code: 'LIMITS_UNAVAILABLE' });
      expect(ms).toBeLessThan(1000);
    }

    await relay.start(); // same port
    const t = Date.now();
    expect(await ready()).toMatchObject({ ok: true });
    expect(Date.now() - t).toBeLessThan(3000);
  });

  it.runIf(withRedis)('gives back the quota of an admit that timed out but committed later', async () => {
    const relay = new Relay();
    await relay.start();
    const limits = RedisLimits.connect(`redis://127.0.0.1:${relay.port}`, {
      prefix: `tgtest:late:${Date.now().toString(36)}:`,
    });
    cleanup.push(
      () => limits.close(),
      () => relay.cut(),
    );
    await limits.ready();
    const quota = {
      key: 'q:s',
      limit: 10,
      windowStart: 0,
      windowEnd: Date.now() + 3_600_000,
      mode: 'block' as const,
    };
    expect((await limits.admit({ throttles: [], quota }, Date.now())).ok).toBe(true);

    relay.holdReplies(); // the script runs and commits; its reply is late
    const { d } = await quick(limits.admit({ throttles: [], quota }, Date.now()));
    expect(d).toMatchObject({ ok: false, code: 'LIMITS_UNAVAILABLE' });
    expect(limits.lateAdmits).toBe(1);
    relay.releaseReplies();
    const until = Date.now() + 10_000;
    while (limits.lateAdmits > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    expect(limits.lateUndone).toBe(1);
    expect(await limits.quotaUsed('q:s', 0)).toBe(1); // the first admit only
  });
});
