/**
 * Limits: token-bucket throttles and calendar quotas, checked and spent all-or-nothing.
 * MemoryLimits (one process, synchronous), RedisLimits (many nodes, exact) and LeasedLimits
 * (RedisLimits plus local blocks for hot keys, bounded overshoot) pass the same contract
 * tests; createLimits picks one from configuration. See docs/limits.md.
 */

export {
  ChannelLimits,
  type LimitsCall,
  type LimitsPort,
  type LimitsReply,
  limitsAnswerer,
} from './channel.js';
export { type CreateLimitsOptions, createLimits } from './create.js';
export { LeasedLimits, type LeasedLimitsOptions, type LeaseStats, type SharedLimits } from './leased.js';
export { MemoryLimits } from './memory.js';
export { MemoryLeases } from './memory-lease.js';
export { LIMITS_REDIS_OPTIONS, RedisLimits, type RedisLimitsOptions } from './redis.js';
export {
  canSpend,
  MAX_RETRY_MS,
  msUntilFull,
  retryAfterMs,
  TOKEN_EPSILON,
  tokensAt,
  wholeTokens,
} from './token-bucket.js';
export type {
  AdmitRequest,
  Decision,
  LimitsBackend,
  QuotaPeriod,
  QuotaRule,
  ThrottleRule,
} from './types.js';
export { QUOTA_GRACE_MS } from './types.js';
export {
  effectiveQuotaLimit,
  isValidTimeZone,
  type QuotaWindow,
  quotaWindow,
  startOfLocalDay,
} from './windows.js';
