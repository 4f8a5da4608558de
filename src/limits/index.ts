/**
 * Limits: token-bucket throttles and calendar quotas, checked and spent all-or-nothing.
 * MemoryLimits (one process, synchronous) and RedisLimits (many nodes, exact) pass the same
 * contract tests. See docs/limits.md.
 */
export { MemoryLimits } from './memory.js';
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
