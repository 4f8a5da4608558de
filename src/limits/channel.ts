/**
 * Limits over a message channel: the workers of one machine (`tollgate serve --workers N`)
 * share the counters of their primary process, without Redis.
 *
 * The primary owns one MemoryLimits and answers calls with `answerLimits` (plain admits,
 * refunds, quota reads and seeds, and the LEASE/GIVE of memory-lease.ts). A worker holds a
 * ChannelLimits — the same SharedLimits and LeaseSource a RedisLimits and its scripts are —
 * under a LeasedLimits, so a hot key is served from local blocks exactly as with Redis and
 * the same bounds hold (docs/limits.md): a blocking quota never overshoots; a throttle admits
 * at most burst + rate·t plus the units held in blocks when the interval starts.
 *
 * Messages are `{ tg: 'limits', id, op, args }` and `{ tg: 'limits', id, value | error }`,
 * sent with Node's "advanced" IPC serialization (structured clone: Infinity survives). A call
 * unanswered within `deadlineMs`, or made after the channel is gone, fails: an admit then
 * answers LIMITS_UNAVAILABLE and the plan's fail open/closed applies, as with Redis down.
 */
import type { LeaseReply, LeaseSource, Settle } from './lease-io.js';
import type { SharedLimits } from './leased.js';
import type { MemoryLimits } from './memory.js';
import { MemoryLeases } from './memory-lease.js';
import type { AdmitRequest, Decision } from './types.js';

export type LimitsOp =
  | 'admit'
  | 'refund'
  | 'quotaUsed'
  | 'setQuotaUsed'
  | 'seedQuotaUsed'
  | 'addQuotaUsed'
  | 'lease'
  | 'give';

export interface LimitsCall {
  tg: 'limits';
  id: number;
  op: LimitsOp;
  args: unknown[];
}

export interface LimitsReply {
  tg: 'limits';
  id: number;
  value?: unknown;
  error?: string;
}

/** One end of the channel: a worker's `process`, or the primary's handle on one worker. */
export interface LimitsPort {
  send(msg: LimitsCall): void;
  /** Calls `fn` with every message that arrives (limits replies among others). */
  listen(fn: (msg: unknown) => void): void;
}

interface Waiting {
  resolve(v: unknown): void;
  reject(e: Error): void;
  at: number;
}

export class ChannelLimits implements SharedLimits, LeaseSource {
  private seq = 0;
  private readonly waiting = new Map<number, Waiting>();
  private gone: Error | null = null;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly port: LimitsPort,
    private readonly deadlineMs = 2_000,
  ) {
    port.listen((m) => this.onMessage(m));
    // One timer for every call: the oldest calls are first in the map (insertion order).
    this.timer = setInterval(() => this.expire(Date.now()), Math.max(10, Math.floor(deadlineMs / 4)));
    this.timer.unref();
  }

  down(): Error | null {
    return this.gone;
  }

  /** The primary is gone: every waiting call and every later one fails with `reason`. */
  disconnect(reason: Error): void {
    this.gone ??= reason;
    for (const w of this.waiting.values()) w.reject(reason);
    this.waiting.clear();
  }

  async admit(req: AdmitRequest, nowMs: number): Promise<Decision> {
    try {
      return (await this.call('admit', [req, nowMs])) as Decision;
    } catch (e) {
      return { ok: false, code: 'LIMITS_UNAVAILABLE', error: e as Error };
    }
  }

  async refund(quotaKey: string, windowStart: number): Promise<void> {
    await this.call('refund', [quotaKey, windowStart]);
  }

  async quotaUsed(quotaKey: string, windowStart: number): Promise<number> {
    return (await this.call('quotaUsed', [quotaKey, windowStart])) as number;
  }

  async setQuotaUsed(quotaKey: string, windowStart: number, windowEnd: number, used: number): Promise<void> {
    await this.call('setQuotaUsed', [quotaKey, windowStart, windowEnd, used]);
  }

  async seedQuotaUsed(quotaKey: string, windowStart: number, windowEnd: number, used: number): Promise<void> {
    await this.call('seedQuotaUsed', [quotaKey, windowStart, windowEnd, used]);
  }

  async addQuotaUsed(quotaKey: string, windowStart: number, windowEnd: number, n: number): Promise<void> {
    await this.call('addQuotaUsed', [quotaKey, windowStart, windowEnd, n]);
  }

  async lease(
    req: AdmitRequest,
    nowMs: number,
    want: number,
    leaseId: string,
    holdMs: number,
    settle: Settle | null,
  ): Promise<LeaseReply> {
    return (await this.call('lease', [req, nowMs, want, leaseId, holdMs, settle])) as LeaseReply;
  }

  async give(settles: Settle[], nowMs: number): Promise<number> {
    return (await this.call('give', [settles, nowMs])) as number;
  }

  /** The counters are the primary's: closing a worker's end only stops its calls. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.disconnect(new Error('limits channel closed'));
  }

  private call(op: LimitsOp, args: unknown[]): Promise<unknown> {
    if (this.gone) return Promise.reject(this.gone);
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject, at: Date.now() });
      try {
        this.port.send({ tg: 'limits', id, op, args });
      } catch (e) {
        this.waiting.delete(id);
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  }

  private onMessage(m: unknown): void {
    if (!isReply(m)) return;
    const w = this.waiting.get(m.id);
    if (w === undefined) return; // expired meanwhile
    this.waiting.delete(m.id);
    if (m.error !== undefined) w.reject(new Error(m.error));
    else w.resolve(m.value);
  }

  private expire(now: number): void {
    for (const [id, w] of this.waiting) {
      if (now - w.at < this.deadlineMs) return;
      this.waiting.delete(id);
      w.reject(new Error(`limits: the primary process did not answer within ${this.deadlineMs} ms`));
    }
  }
}

/**
 * The primary's side: answers one message if it is a limits call (null otherwise). Every call
 * runs synchronously on the primary's thread, so each is atomic across all workers.
 */
export function limitsAnswerer(limits: MemoryLimits): (msg: unknown) => LimitsReply | null {
  const leases = new MemoryLeases(limits);
  return (msg) => {
    if (!isCall(msg)) return null;
    try {
      return { tg: 'limits', id: msg.id, value: run(limits, leases, msg.op, msg.args) };
    } catch (e) {
      return { tg: 'limits', id: msg.id, error: (e as Error).message };
    }
  };
}

function run(limits: MemoryLimits, leases: MemoryLeases, op: LimitsOp, a: unknown[]): unknown {
  const s = (i: number) => a[i] as string;
  const n = (i: number) => a[i] as number;
  switch (op) {
    case 'admit':
      return limits.admit(a[0] as AdmitRequest, n(1));
    case 'refund':
      return limits.refund(s(0), n(1));
    case 'quotaUsed':
      return limits.quotaUsed(s(0), n(1));
    case 'setQuotaUsed':
      return limits.setQuotaUsed(s(0), n(1), n(2), n(3));
    case 'seedQuotaUsed':
      return limits.seedQuotaUsed(s(0), n(1), n(2), n(3));
    case 'addQuotaUsed':
      return limits.addQuotaUsed(s(0), n(1), n(2), n(3));
    case 'lease':
      return leases.leaseNow(a[0] as AdmitRequest, n(1), n(2), s(3), n(4), a[5] as Settle | null);
    case 'give': {
      let given = 0;
      for (const settle of a[0] as Settle[]) {
        leases.settleNow(settle, n(1));
        given += settle.back;
      }
      return given;
    }
    default:
      throw new Error(`limits: unknown operation ${String(op)}`);
  }
}

function isCall(m: unknown): m is LimitsCall {
  return typeof m === 'object' && m !== null && (m as LimitsCall).tg === 'limits' && 'op' in m;
}

function isReply(m: unknown): m is LimitsReply {
  return typeof m === 'object' && m !== null && (m as LimitsReply).tg === 'limits' && !('op' in m);
}
