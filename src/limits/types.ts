/** The limits contract the gateway calls on every request (see docs/limits.md). */

export type QuotaPeriod = 'DAY' | 'WEEK' | 'MONTH';

/** Token bucket: `rate` tokens/s refill, `burst` = capacity. Keys must be distinct within one request. */
// Rules come from validated plans (control plane); admit does not re-validate them on the hot path.
export interface ThrottleRule {
  key: string;
  rate: number;
  burst: number;
}

/**
 * A quota window. `limit` already includes offset and adjustments (see effectiveQuotaLimit);
 * mode 'count' = overage: never blocks, still counts.
 */
export interface QuotaRule {
  key: string;
  limit: number;
  windowStart: number;
  windowEnd: number;
  mode: 'block' | 'count';
}

export interface AdmitRequest {
  throttles: ThrottleRule[];
  quota?: QuotaRule;
}

/**
 * The answer to one admit. A denial is a value; `LIMITS_UNAVAILABLE` means the counter store
 * could not be asked (never a 429: the caller applies the plan's fail open/closed policy).
 * `throttleRemaining` is the smallest whole number of tokens left over all throttles after
 * this request (`Infinity` when the request has no throttles).
 */
export type Decision =
  | { ok: true; quotaUsed?: number; quotaRemaining?: number; throttleRemaining: number; overage?: boolean }
  | {
      ok: false;
      code: 'THROTTLED' | 'QUOTA_EXCEEDED';
      retryAfterMs: number;
      quotaUsed?: number;
      quotaRemaining?: number;
    }
  | { ok: false; code: 'LIMITS_UNAVAILABLE'; error: Error };

export interface LimitsBackend {
  /** All-or-nothing: checks every throttle and the quota; commits (spends) all only if all pass. Cost 1 request. */
  admit(req: AdmitRequest, nowMs: number): Decision | Promise<Decision>;
  /** Gives one quota unit back (the request turned out not billable, e.g. upstream 5xx/502/504). */
  refund(quotaKey: string, windowStart: number): void | Promise<void>;
  quotaUsed(quotaKey: string, windowStart: number): number | Promise<number>;
  /** Replaces the used count of a window (seeding from the store at start-up). */
  setQuotaUsed(quotaKey: string, windowStart: number, windowEnd: number, used: number): void | Promise<void>;
  /**
   * Raises the used count to at least `used`, never lowers it. Prefer it to setQuotaUsed for
   * start-up seeding: on Redis other nodes' counts are newer than the store's. (Both backends
   * implement it; optional so that test doubles need not.)
   */
  seedQuotaUsed?(
    quotaKey: string,
    windowStart: number,
    windowEnd: number,
    used: number,
  ): void | Promise<void>;
  /** Adds `n` units to a window's count (reconciling admits counted locally while the store was down). */
  addQuotaUsed?(quotaKey: string, windowStart: number, windowEnd: number, n: number): void | Promise<void>;
  close(): Promise<void>;
}

/** Past the end of its window a quota counter is kept this long (late refunds, readers), then dropped. */
export const QUOTA_GRACE_MS = 3_600_000;
