/**
 * In-process limits: Maps, synchronous, no allocation on the admit path beyond the Decision.
 *
 * Concurrency: one JS thread, so check-then-commit inside admit() is atomic by construction.
 * Exact for one process only; several gateway processes need RedisLimits, or the workers of
 * one machine lease from the primary's MemoryLimits over IPC (memory-lease.ts, channel.ts).
 *
 * Memory is bounded. Entries expire lazily, driven by the `nowMs` the caller passes (no timers):
 * a bucket is deleted once it has refilled to `burst` at the rate it was last spent with (an
 * absent bucket is full, so this loses nothing); a quota counter is deleted QUOTA_GRACE_MS after its window ended. A sweep runs at
 * most once per SWEEP_EVERY_MS of caller time, or when more than `maxEntries` are held; if a
 * sweep cannot get under the bound, the oldest buckets, then the oldest quota counters, are
 * evicted (an evicted bucket reads as full, an evicted counter as 0: overshoot, never a false 429).
 */
import { canSpend, msUntilFull, retryAfterMs, tokensAt, wholeTokens } from './token-bucket.js';
import { type AdmitRequest, type Decision, type LimitsBackend, QUOTA_GRACE_MS } from './types.js';

interface Bucket {
  tokens: number;
  at: number;
  /** When the bucket will be full again at the rate last used: from then on it can be forgotten. */
  fullAt: number;
}

interface QuotaCell {
  used: number;
  end: number;
}

const SWEEP_EVERY_MS = 60_000;

export class MemoryLimits implements LimitsBackend {
  private readonly buckets = new Map<string, Bucket>();
  /** quota key → window start → counter */
  private readonly quotas = new Map<string, Map<number, QuotaCell>>();
  private quotaCells = 0;
  private readonly maxEntries: number;
  private lastSweep = Number.NEGATIVE_INFINITY;
  private lastNow = 0;

  constructor(opts: { maxEntries?: number } = {}) {
    this.maxEntries = opts.maxEntries ?? 1_000_000;
    if (!(this.maxEntries >= 1)) throw new RangeError('MemoryLimits: maxEntries must be ≥ 1');
  }

  /** Buckets plus quota counters currently held. */
  get size(): number {
    return this.buckets.size + this.quotaCells;
  }

  admit(req: AdmitRequest, nowMs: number): Decision {
    if (nowMs - this.lastSweep >= SWEEP_EVERY_MS || this.size > this.maxEntries) this.sweep(nowMs);
    this.lastNow = nowMs;
    const throttles = req.throttles;
    const quota = req.quota;

    // 1. Check every throttle (nothing written yet).
    let worstRetry = 0;
    let throttled = false;
    for (let i = 0; i < throttles.length; i++) {
      const r = throttles[i]!;
      const b = this.buckets.get(r.key);
      const t = b === undefined ? r.burst : tokensAt(b.tokens, b.at, r.rate, r.burst, nowMs);
      if (!canSpend(t)) {
        throttled = true;
        const ra = retryAfterMs(t, r.rate, r.burst);
        if (ra > worstRetry) worstRetry = ra;
      }
    }

    // 2. Check the quota.
    let cell: QuotaCell | undefined;
    let used = 0;
    if (quota !== undefined) {
      cell = this.quotas.get(quota.key)?.get(quota.windowStart);
      used = cell === undefined ? 0 : cell.used;
      if (quota.mode === 'block' && used + 1 > quota.limit) {
        return {
          ok: false,
          code: 'QUOTA_EXCEEDED',
          retryAfterMs: Math.max(0, quota.windowEnd - nowMs),
          quotaUsed: used,
          quotaRemaining: Math.max(0, quota.limit - used),
        };
      }
    }
    if (throttled) {
      return quota === undefined
        ? { ok: false, code: 'THROTTLED', retryAfterMs: worstRetry }
        : {
            ok: false,
            code: 'THROTTLED',
            retryAfterMs: worstRetry,
            quotaUsed: used,
            quotaRemaining: Math.max(0, quota.limit - used),
          };
    }

    // 3. All pass: commit all.
    let remaining = Number.POSITIVE_INFINITY;
    for (let i = 0; i < throttles.length; i++) {
      const r = throttles[i]!;
      let b = this.buckets.get(r.key);
      if (b === undefined) {
        b = { tokens: r.burst - 1, at: nowMs, fullAt: 0 };
        this.buckets.set(r.key, b);
      } else {
        b.tokens = tokensAt(b.tokens, b.at, r.rate, r.burst, nowMs) - 1;
        if (nowMs > b.at) b.at = nowMs;
      }
      b.fullAt = b.at + msUntilFull(b.tokens, r.rate, r.burst);
      const w = wholeTokens(b.tokens);
      if (w < remaining) remaining = w;
    }
    if (quota === undefined) return { ok: true, throttleRemaining: remaining };
    if (cell === undefined) cell = this.newCell(quota.key, quota.windowStart, quota.windowEnd);
    used = ++cell.used;
    return used > quota.limit
      ? { ok: true, quotaUsed: used, quotaRemaining: 0, throttleRemaining: remaining, overage: true }
      : { ok: true, quotaUsed: used, quotaRemaining: quota.limit - used, throttleRemaining: remaining };
  }

  refund(quotaKey: string, windowStart: number): void {
    const cell = this.quotas.get(quotaKey)?.get(windowStart);
    if (cell !== undefined && cell.used > 0) cell.used--;
  }

  quotaUsed(quotaKey: string, windowStart: number): number {
    return this.quotas.get(quotaKey)?.get(windowStart)?.used ?? 0;
  }

  setQuotaUsed(quotaKey: string, windowStart: number, windowEnd: number, used: number): void {
    const n = Math.max(0, Math.floor(used));
    const cell = this.quotas.get(quotaKey)?.get(windowStart);
    if (cell !== undefined) {
      cell.used = n;
      cell.end = windowEnd;
    } else this.newCell(quotaKey, windowStart, windowEnd).used = n;
  }

  /** Raises the used count to at least `used` (never lowers it): safe start-up seeding. */
  seedQuotaUsed(quotaKey: string, windowStart: number, windowEnd: number, used: number): void {
    if (this.quotaUsed(quotaKey, windowStart) < used)
      this.setQuotaUsed(quotaKey, windowStart, windowEnd, used);
  }

  /** Adds `n` units to a window's count (negative: takes them off, never below 0). */
  addQuotaUsed(quotaKey: string, windowStart: number, windowEnd: number, n: number): void {
    const used = this.quotaUsed(quotaKey, windowStart);
    this.setQuotaUsed(quotaKey, windowStart, windowEnd, used + Math.floor(n));
  }

  /**
   * Gives `n` unspent units of `req` back: tokens to every bucket (refilled to now, capped at
   * burst; an absent bucket is full already) and `n` off the quota counter. The rest of a
   * lease (memory-lease.ts); the same step as the SETTLE of lease-script.ts.
   */
  giveBack(req: AdmitRequest, n: number, nowMs: number): void {
    if (n <= 0) return;
    for (const r of req.throttles) {
      const b = this.buckets.get(r.key);
      if (b === undefined) continue;
      b.tokens = Math.min(r.burst, tokensAt(b.tokens, b.at, r.rate, r.burst, nowMs) + n);
      if (nowMs > b.at) b.at = nowMs;
      b.fullAt = b.at + msUntilFull(b.tokens, r.rate, r.burst);
    }
    const q = req.quota;
    const cell = q === undefined ? undefined : this.quotas.get(q.key)?.get(q.windowStart);
    if (cell !== undefined) cell.used = Math.max(0, cell.used - n);
  }

  async close(): Promise<void> {
    this.buckets.clear();
    this.quotas.clear();
    this.quotaCells = 0;
  }

  private newCell(key: string, start: number, end: number): QuotaCell {
    let byStart = this.quotas.get(key);
    if (byStart === undefined) {
      byStart = new Map();
      this.quotas.set(key, byStart);
    }
    const cell: QuotaCell = { used: 0, end };
    byStart.set(start, cell);
    this.quotaCells++;
    return cell;
  }

  /** Drops what can be forgotten at `now` (full buckets, counters past window end + grace), then enforces maxEntries. */
  sweep(nowMs: number = this.lastNow): void {
    this.lastSweep = nowMs;
    for (const [k, b] of this.buckets) if (nowMs >= b.fullAt) this.buckets.delete(k);
    for (const [k, byStart] of this.quotas) {
      for (const [s, c] of byStart) {
        if (nowMs >= c.end + QUOTA_GRACE_MS) {
          byStart.delete(s);
          this.quotaCells--;
        }
      }
      if (byStart.size === 0) this.quotas.delete(k);
    }
    if (this.size <= this.maxEntries) return;
    const target = Math.floor(this.maxEntries * 0.9);
    for (const k of this.buckets.keys()) {
      if (this.size <= target) return;
      this.buckets.delete(k);
    }
    for (const [k, byStart] of this.quotas) {
      for (const s of byStart.keys()) {
        if (this.size <= target) return;
        byStart.delete(s);
        this.quotaCells--;
      }
      if (byStart.size === 0) this.quotas.delete(k);
    }
  }
}
