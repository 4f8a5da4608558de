/** The limits backends the contract suite runs against: in-process, and the machine's Redis. */
import type { Redis } from 'ioredis';
import { type LimitsBackend, MemoryLimits, RedisLimits } from '../../src/limits/index.js';
import { redisAvailable, testRedis } from '../helpers/redis.js';

export interface SeedableLimits extends LimitsBackend {
  seedQuotaUsed(quotaKey: string, windowStart: number, windowEnd: number, used: number): void | Promise<void>;
}

export interface BackendKind {
  name: 'memory' | 'redis';
  /** A fresh, empty backend with an injectable clock (nowMs is what admit is given). */
  make(): SeedableLimits;
  done(): Promise<void>;
}

export async function limitsBackends(): Promise<BackendKind[]> {
  const kinds: BackendKind[] = [{ name: 'memory', make: () => new MemoryLimits(), done: async () => {} }];
  if (await redisAvailable()) {
    let conn: { redis: Redis; prefix: string } | undefined;
    let n = 0;
    kinds.push({
      name: 'redis',
      make() {
        conn ??= testRedis();
        return new RedisLimits({ redis: conn.redis, prefix: `${conn.prefix}${n++}:`, useServerTime: false });
      },
      async done() {
        if (!conn) return;
        const keys = await conn.redis.keys(`${conn.prefix}*`);
        if (keys.length > 0) await conn.redis.del(...keys);
        await conn.redis.quit();
      },
    });
  }
  return kinds;
}
