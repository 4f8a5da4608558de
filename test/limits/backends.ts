/**
 * The limits backends the contract suite runs against: in-process, the machine's Redis, and
 * LeasedLimits over that Redis — once leasing a fixed 4 units on every trip (so the suite
 * exercises local blocks on every case), once with adaptive lease sizes (the default) — and
 * LeasedLimits over a primary's MemoryLimits through a message channel (what the workers of
 * `serve --workers N` use), every message structured-cloned as Node's IPC does.
 */
import type { Redis } from 'ioredis';
import {
  ChannelLimits,
  LeasedLimits,
  type LimitsBackend,
  type LimitsPort,
  limitsAnswerer,
  MemoryLimits,
  RedisLimits,
} from '../../src/limits/index.js';
import { redisAvailable, testRedis } from '../helpers/redis.js';

export interface SeedableLimits extends LimitsBackend {
  seedQuotaUsed(quotaKey: string, windowStart: number, windowEnd: number, used: number): void | Promise<void>;
}

export interface BackendKind {
  name: 'memory' | 'redis' | 'leased' | 'leased-adaptive' | 'channel' | 'channel-adaptive';
  /** A fresh, empty backend with an injectable clock (nowMs is what admit is given). */
  make(): SeedableLimits;
  done(): Promise<void>;
}

export async function limitsBackends(): Promise<BackendKind[]> {
  const none = async () => {};
  const kinds: BackendKind[] = [
    { name: 'memory', make: () => new MemoryLimits(), done: none },
    {
      name: 'channel',
      make: () => new LeasedLimits({ ...channel(), units: 4, leaseFor: () => 4, sweepEveryMs: 0 }),
      done: none,
    },
    {
      name: 'channel-adaptive',
      make: () => new LeasedLimits({ ...channel(), units: 8, sweepEveryMs: 0 }),
      done: none,
    },
  ];
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

/** A worker's ChannelLimits wired to a fresh primary MemoryLimits, answering on a later tick. */
export function channel(primary = new MemoryLimits()): { limits: ChannelLimits; leases: ChannelLimits } {
  const answer = limitsAnswerer(primary);
  let deliver: (msg: unknown) => void = () => {};
  const port: LimitsPort = {
    send(msg) {
      const reply = answer(structuredClone(msg));
      if (reply) setImmediate(() => deliver(structuredClone(reply)));
    },
    listen(fn) {
      deliver = fn;
    },
  };
  const limits = new ChannelLimits(port);
  return { limits, leases: limits };
}
