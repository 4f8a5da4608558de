/**
 * Where LeasedLimits takes its blocks from: the LeaseSource port, and its Redis side.
 *
 * LeaseScripts builds the KEYS/ARGV of the LEASE and GIVE scripts (lease-script.ts) for one
 * request's rules and runs them on the wrapped RedisLimits' connection, under its deadline
 * and clock mode. Keys are RedisLimits' own (bucketKey, quotaKey) plus `<quota key>:l`, the
 * sorted set of live leases on that counter. The other source is a primary process's
 * in-memory counters, reached over IPC (channel.ts, memory-lease.ts).
 */
import { GIVE_LUA, LEASE_LUA } from './lease-script.js';
import type { RedisLimits, RedisLink } from './redis.js';
import { type AdmitRequest, QUOTA_GRACE_MS } from './types.js';

/** {1, throttleRemaining, usedAfter, k} or {2|3, retryAfterMs, used, remaining}. */
export type LeaseReply = [number, number, number, number];

/** A finished lease to give back: `back` unused units of `rules` (its keys and the rates to refill with). */
export interface Settle {
  id: string;
  back: number;
  rules: AdmitRequest;
}

/**
 * A shared counter store that hands out blocks. `lease` takes up to `want` units of every
 * rule of `req` at once (all-or-nothing, settling `settle` first) and answers a LeaseReply;
 * `give` returns finished leases' unused units and resolves with how many went back.
 */
export interface LeaseSource {
  /** Why the store cannot be asked now (null when it can). */
  down(): Error | null;
  lease(
    req: AdmitRequest,
    nowMs: number,
    want: number,
    leaseId: string,
    holdMs: number,
    settle: Settle | null,
  ): Promise<LeaseReply>;
  give(settles: Settle[], nowMs: number): Promise<number>;
}

interface Scripted {
  tollgateLimitsLease(numKeys: number, ...args: string[]): Promise<LeaseReply>;
  tollgateLimitsGive(numKeys: number, ...args: string[]): Promise<number>;
}

export class LeaseScripts implements LeaseSource {
  private readonly link: RedisLink;
  private readonly r: Scripted;

  constructor(private readonly limits: RedisLimits) {
    this.link = limits.link();
    this.link.redis.defineCommand('tollgateLimitsLease', { lua: LEASE_LUA });
    this.link.redis.defineCommand('tollgateLimitsGive', { lua: GIVE_LUA });
    this.r = this.link.redis as unknown as Scripted;
  }

  /** Why Redis cannot be asked now (null when it can). */
  down(): Error | null {
    return this.link.down();
  }

  leaseKey(quotaKey: string, windowStart: number): string {
    return `${this.limits.quotaKey(quotaKey, windowStart)}:l`;
  }

  /** Takes a block of up to `want` units for `req`, settling `settle` first, in one script. */
  lease(
    req: AdmitRequest,
    nowMs: number,
    want: number,
    leaseId: string,
    holdMs: number,
    settle: Settle | null,
  ): Promise<LeaseReply> {
    const args = this.head(req, nowMs);
    const q = req.quota;
    if (q !== undefined) {
      args.push(String(q.limit), String(q.windowEnd), q.mode === 'count' ? 'c' : 'b', String(QUOTA_GRACE_MS));
    }
    args.push(String(want), leaseId, String(holdMs), settle?.id ?? '', String(settle?.back ?? 0));
    const numKeys = req.throttles.length + (q === undefined ? 0 : 2);
    return this.link.deadline(this.r.tollgateLimitsLease(numKeys, ...args));
  }

  /** Gives back finished leases (one script each, written back to back); resolves with the units given. */
  async give(settles: Settle[], nowMs: number): Promise<number> {
    const calls = settles.map((s) => {
      const args = this.head(s.rules, nowMs);
      args.push(s.id, String(s.back));
      const numKeys = s.rules.throttles.length + (s.rules.quota === undefined ? 0 : 2);
      return this.link.deadline(this.r.tollgateLimitsGive(numKeys, ...args));
    });
    let given = 0;
    for (const n of await Promise.all(calls)) given += n;
    return given;
  }

  /** KEYS then ARGV[1 .. 3+2n]: buckets, [counter, lease set], now, clock mode, n, rate/burst pairs. */
  private head(req: AdmitRequest, nowMs: number): string[] {
    const { throttles, quota } = req;
    const n = throttles.length;
    const args: string[] = [];
    for (let i = 0; i < n; i++) args.push(this.limits.bucketKey(throttles[i]!.key));
    if (quota !== undefined) {
      args.push(
        this.limits.quotaKey(quota.key, quota.windowStart),
        this.leaseKey(quota.key, quota.windowStart),
      );
    }
    args.push(String(nowMs), this.link.serverTime, String(n));
    for (let i = 0; i < n; i++) args.push(String(throttles[i]!.rate), String(throttles[i]!.burst));
    return args;
  }
}
