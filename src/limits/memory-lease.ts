/**
 * The LEASE and GIVE of lease-script.ts on a MemoryLimits: what a primary process answers to
 * its workers' LeasedLimits (channel.ts) when no Redis is configured.
 *
 * A lease of up to `want` units is that many admits of the same request in one synchronous
 * step, stopping at the first refusal: every admit is all-or-nothing over every throttle and
 * the quota, so k admits take exactly k = min(want, ⌊tokens⌋ of every bucket, limit − used)
 * units, as the script does; k = 0 answers the refusal of the first. Nothing else runs on the
 * primary's thread in between, so the step is atomic like a Lua script.
 *
 * A block of k > 1 on a quota is remembered as live until `holdMs` from now, so that a quota
 * refusal can say when held units come back (the script's sorted set). Settling a finished
 * lease gives its unused units back (MemoryLimits.giveBack) and forgets it. A worker that dies
 * holding a block never settles it: its units stay counted as used (under-serves, never over).
 */
import type { LeaseReply, LeaseSource, Settle } from './lease-io.js';
import type { MemoryLimits } from './memory.js';
import type { AdmitRequest, Decision } from './types.js';

export class MemoryLeases implements LeaseSource {
  /** Quota counter (`key\u0001windowStart`) → lease id → when its unused units are back at the latest. */
  private readonly live = new Map<string, Map<string, number>>();
  private leases = 0;

  constructor(private readonly limits: MemoryLimits) {}

  down(): Error | null {
    return null;
  }

  async lease(
    req: AdmitRequest,
    nowMs: number,
    want: number,
    leaseId: string,
    holdMs: number,
    settle: Settle | null,
  ): Promise<LeaseReply> {
    return this.leaseNow(req, nowMs, want, leaseId, holdMs, settle);
  }

  async give(settles: Settle[], nowMs: number): Promise<number> {
    let given = 0;
    for (const s of settles) {
      this.settleNow(s, nowMs);
      given += s.back;
    }
    return given;
  }

  /** The synchronous lease: {1, throttleRemaining | -1, used after | -1, k} or a refusal. */
  leaseNow(
    req: AdmitRequest,
    nowMs: number,
    want: number,
    leaseId: string,
    holdMs: number,
    settle: Settle | null,
  ): LeaseReply {
    if (settle !== null) this.settleNow(settle, nowMs);
    let k = 0;
    let last: Decision | null = null;
    while (k < want) {
      const d = this.limits.admit(req, nowMs);
      if (!d.ok) {
        if (k === 0) return this.refusal(d, req, nowMs);
        break;
      }
      last = d;
      k++;
    }
    if (last === null || !last.ok) throw new RangeError('MemoryLeases: want must be ≥ 1');
    const remaining = Number.isFinite(last.throttleRemaining) ? last.throttleRemaining : -1;
    const q = req.quota;
    if (q === undefined) return [1, remaining, -1, k];
    if (k > 1) {
      // Now and then every counter's expired leases go (counters that are never leased again).
      if (++this.leases % 4096 === 0) this.sweep(nowMs);
      const id = counterId(q.key, q.windowStart);
      let leases = this.live.get(id);
      if (leases === undefined) {
        leases = new Map();
        this.live.set(id, leases);
      }
      forgetExpired(leases, nowMs);
      leases.set(leaseId, nowMs + holdMs);
    }
    return [1, remaining, last.quotaUsed ?? -1, k];
  }

  private refusal(d: Decision, req: AdmitRequest, nowMs: number): LeaseReply {
    if (d.ok || d.code === 'LIMITS_UNAVAILABLE') throw new Error('MemoryLeases: unexpected decision');
    const q = req.quota;
    const used = d.quotaUsed ?? -1;
    const remaining = d.quotaRemaining ?? -1;
    if (d.code === 'THROTTLED' || q === undefined) return [2, d.retryAfterMs, used, remaining];
    // Units held by live blocks come back by their hold time: sooner than the window's end.
    let retry = d.retryAfterMs;
    const leases = this.live.get(counterId(q.key, q.windowStart));
    if (leases !== undefined) {
      forgetExpired(leases, nowMs);
      for (const until of leases.values()) if (until - nowMs < retry) retry = until - nowMs;
      if (leases.size === 0) this.live.delete(counterId(q.key, q.windowStart));
    }
    return [3, retry, used, remaining];
  }

  private sweep(nowMs: number): void {
    for (const [id, leases] of this.live) {
      forgetExpired(leases, nowMs);
      if (leases.size === 0) this.live.delete(id);
    }
  }

  /** Gives a finished lease's unused units back and forgets it. */
  settleNow(s: Settle, nowMs: number): void {
    this.limits.giveBack(s.rules, s.back, nowMs);
    const q = s.rules.quota;
    if (q === undefined) return;
    const id = counterId(q.key, q.windowStart);
    const leases = this.live.get(id);
    if (leases?.delete(s.id) && leases.size === 0) this.live.delete(id);
  }
}

function counterId(key: string, windowStart: number): string {
  return `${key}\u0001${windowStart}`;
}

function forgetExpired(leases: Map<string, number>, nowMs: number): void {
  for (const [id, until] of leases) if (until <= nowMs) leases.delete(id);
}
