/**
 * The limits backends the contract suite runs against: in-process, the machine's Redis, and
 * LeasedLimits over that Redis — once leasing a fixed 4 units on every trip (so the suite
 * exercises local blocks on every case), once with adaptive lease sizes (the default).
 */
import type { Redis } from 'ioredis';
import { LeasedLimits, type LimitsBackend, MemoryLimits, RedisLimits } from '../../src/limits/index.js';
import { redisAvailable, testRedis } from '../helpers/redis.js';

export interface SeedableLimits extends LimitsBackend {
  seedQuotaUsed(quotaKey: string, windowStart: number, windowEnd: number, used: number): void | Promise<void>;
}

export interface BackendKind {
  name: 'memory' | 'redis' | 'leased' | 'leased-adaptive';
  /** A fresh, empty backend with an injectable clock (nowMs is what admit is given). */
  make(): SeedableLimits;
  done(): Promise<void>;
}

export async function limitsBackends(): Promise<BackendKind[]> {
  const kinds: BackendKind[] = [{ name: 'memory', make: () => new MemoryLimits(), done: async () => {} }];
  if (await redisAvailable()) {
    let conn: { redis: Redis; prefix: string } | undefined;
    let n = 0;
    const redisLimits = () => {
      conn ??= testRedis();
      return new RedisLimits({ redis: conn.redis, prefix: `${conn.prefix}${n++}:`, useServerTime: false });
    };
    const done = async () => {
      if (!conn) return;
      const c = conn;
      conn = undefined;
      const keys = await c.redis.keys(`${c.prefix}*`);
      if (keys.length > 0) await c.redis.del(...keys);
      await c.redis.quit();
    };
    kinds.push(
      { name: 'redis', make: redisLimits, done },
      {
        name: 'leased',
        make: () => new LeasedLimits({ limits: redisLimits(), units: 4, leaseFor: () => 4, sweepEveryMs: 0 }),
        done,
      },
      {
        name: 'leased-adaptive',
        make: () => new LeasedLimits({ limits: redisLimits(), units: 8, sweepEveryMs: 0 }),
        done,
      },
    );
  }
  return kinds;
}
