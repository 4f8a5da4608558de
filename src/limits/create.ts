/**
 * createLimits: the one call the composition root needs to pick a limits backend.
 *   no redisUrl        → MemoryLimits (one process, synchronous)
 *   redisUrl           → RedisLimits, its connection awaited (up to readyTimeoutMs) but never
 *                        fatal: if Redis is down the process still starts, admits answer
 *                        LIMITS_UNAVAILABLE (the plan's fail open/closed applies) and the
 *                        connection keeps retrying in the background
 *   redisUrl + lease   → LeasedLimits over that RedisLimits (hot keys served from local blocks)
 */
import { invalid } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { LeasedLimits } from './leased.js';
import { MemoryLimits } from './memory.js';
import { RedisLimits } from './redis.js';
import type { LimitsBackend } from './types.js';

export interface CreateLimitsOptions {
  redisUrl?: string;
  /** Lease blocks of up to `units` for at most `ttlMs` (null/absent: no leasing; ignored without redisUrl). */
  lease?: { units: number; ttlMs: number } | null;
  /** Redis key prefix (default `tollgate:`). */
  prefix?: string;
  /** How long to wait for Redis at start (default 5000 ms). */
  readyTimeoutMs?: number;
  /** Where background faults (a failed lease give-back) are logged. */
  log?: Logger;
  /** Told when Redis was not ready in time (the backend is returned anyway). */
  onNotReady?: (err: Error) => void;
}

export async function createLimits(opts: CreateLimitsOptions = {}): Promise<LimitsBackend> {
  const lease = opts.lease ?? null;
  if (lease !== null) {
    if (!(Number.isInteger(lease.units) && lease.units >= 1 && lease.units <= 1_000_000))
      throw invalid('lease.units', 'must be an integer from 1 to 1000000');
    if (!(Number.isFinite(lease.ttlMs) && lease.ttlMs >= 1 && lease.ttlMs <= 60_000))
      throw invalid('lease.ttlMs', 'must be a number of milliseconds from 1 to 60000');
  }
  if (!opts.redisUrl) return new MemoryLimits(); // in-process limits are local already: lease is moot
  const redis = RedisLimits.connect(opts.redisUrl, {
    prefix: opts.prefix ?? 'tollgate:',
    ...(opts.log ? { log: opts.log } : {}),
  });
  try {
    await redis.ready(opts.readyTimeoutMs ?? 5000);
  } catch (e) {
    opts.onNotReady?.(e instanceof Error ? e : new Error(String(e)));
  }
  return lease === null
    ? redis
    : new LeasedLimits({
        limits: redis,
        units: lease.units,
        ttlMs: lease.ttlMs,
        ...(opts.log ? { log: opts.log } : {}),
      });
}
