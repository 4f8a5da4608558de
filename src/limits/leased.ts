/**
 * Local pre-admission for hot keys: a shared backend (RedisLimits, or a primary process's
 * memory over IPC) that leases small blocks of units.
 *
 * Algorithm. Requests are grouped by *shape*: the same throttle keys and quota key/window.
 * When a shape's request must go to Redis, one LEASE script (lease-script.ts) takes
 * k = min(want, ⌊tokens⌋ of every bucket, quota left) units from every rule at once
 * (all-or-nothing, like admit), the request spends the first, and the k − 1 others are kept
 * here as the shape's *block*. Later admits of that shape with the same rate/burst/limit/mode
 * are answered from the block synchronously — no Redis round trip, no promise — until it is
 * empty or `ttlMs` old; then the next admit goes to Redis again and gives back what is left
 * of the old block in the same script. A sweeper gives back expired blocks (every ttlMs / 2),
 * close() gives back all. `want` is `leaseFor(req)` or, by default, adaptive: the number of
 * admits the shape saw in the last ttlMs (capped at `units`), so a cold key (≤ 1 admit per
 * ttl) never leases and costs exactly what RedisLimits costs.
 *
 * Bounds (docs/limits.md proves them; test/limits/leased*.test.ts check them):
 *  - Quota ('block'): zero overshoot. Units are INCRBY'd in the shared counter when leased, a
 *    block is only granted within `limit − used`, and only never-served units are given back.
 *  - Throttle: over any interval, admits ≤ burst + rate·t + the units held in blocks when the
 *    interval starts ≤ (min(units, burst) − 1) × (blocks holding that bucket: one per node and shape).
 *  - Cost of the bound: units held by one node are refused to the others for ≤ ttl (a quota
 *    refusal then says `retryAfterMs` ≤ 2·ttl, the time by which they come back).
 *
 * Concurrency: one shape has at most one trip to Redis in flight; admits arriving meanwhile
 * wait for it and are served from its block, or share its refusal (retry hint shortened by
 * the time they waited), or make the next trip. Failure: a trip that cannot reach Redis
 * answers LIMITS_UNAVAILABLE, but blocks already held keep serving (their units are spent).
 * A give-back that fails is logged, counted and owed to the next sweep (lease-give.ts).
 */
import { type Clock, systemClock } from '../shared/clock.js';
import { reportFault } from '../shared/faults.js';
import { type Logger, silentLogger } from '../shared/logger.js';
import { type Block, sameRules, serve, settleOf, shapeKey, usable } from './lease-block.js';
import { GiveBacks } from './lease-give.js';
import { type LeaseReply, LeaseScripts, type LeaseSource, type Settle } from './lease-io.js';
import { RedisLimits } from './redis.js';
import type { AdmitRequest, Decision, LimitsBackend } from './types.js';

/** What LeasedLimits needs of the shared backend besides blocks: plain admits, refunds, counts. */
export type SharedLimits = LimitsBackend & Required<Pick<LimitsBackend, 'seedQuotaUsed' | 'addQuotaUsed'>>;

export interface LeasedLimitsOptions {
  /** The shared backend; LeasedLimits owns it (close() closes it). */
  limits: SharedLimits;
  /** Where blocks come from (default: the LEASE/GIVE scripts on `limits`, then a RedisLimits). */
  leases?: LeaseSource;
  /** Most units one lease takes (1 = never lease). */
  units: number;
  /** How long a block may be served from before its rest goes back (default 250 ms). */
  ttlMs?: number;
  /** Units to lease for this request (clamped to 1..units); default: adaptive to the shape's demand. */
  leaseFor?: (req: AdmitRequest) => number;
  /** Drives the sweeper (default the system clock; admits use the `nowMs` they are given). */
  clock?: Clock;
  /** Sweeper period (default ttlMs / 2); 0 = no timer (call sweep() yourself). */
  sweepEveryMs?: number;
  /** Shapes tracked at most; beyond, requests of new shapes go straight to Redis (default 100,000). */
  maxShapes?: number;
  /** Where failed give-backs are reported (default: nowhere, but still counted as faults). */
  log?: Logger;
}

/** Counters since construction. Redis calls per admit = (trips + gives) / admits. */
export interface LeaseStats {
  admits: number;
  /** Answered from a local block (no Redis). */
  local: number;
  /** ADMIT or LEASE scripts sent. */
  trips: number;
  /** GIVE scripts sent (sweeper, close, setQuotaUsed). */
  gives: number;
  /** Units taken into local blocks (beyond the first of each lease). */
  leasedUnits: number;
  /** Unused units given back. */
  givenUnits: number;
  /** Unused units whose give-back failed and that wait for the next sweep (counted as used meanwhile). */
  owedUnits: number;
  /** Unused units whose give-back may have run, or was still owed at close(): they stay counted as used. */
  lostUnits: number;
}

interface Trip {
  now: number;
  rules: AdmitRequest;
  done: Promise<Decision>;
}

interface Shape {
  key: string;
  block: Block | null;
  pending: Trip | null;
  /** Admits in the current demand period, and in the previous one. */
  count: number;
  prev: number;
  periodStart: number;
  lastSeen: number;
}

export class LeasedLimits implements LimitsBackend {
  private readonly inner: SharedLimits;
  private readonly scripts: LeaseSource;
  private readonly units: number;
  private readonly ttlMs: number;
  private readonly holdMs: number;
  private readonly leaseFor: ((req: AdmitRequest) => number) | undefined;
  private readonly clock: Clock;
  private readonly maxShapes: number;
  private readonly shapes = new Map<string, Shape>();
  private readonly node = `${Math.random().toString(36).slice(2, 8)}:`;
  private readonly counts: LeaseStats = {
    admits: 0,
    local: 0,
    trips: 0,
    gives: 0,
    leasedUnits: 0,
    givenUnits: 0,
    owedUnits: 0,
    lostUnits: 0,
  };
  private readonly gives: GiveBacks;
  private readonly log: Logger;
  private readonly timer: NodeJS.Timeout | undefined;
  private seq = 0;
  private closed = false;

  constructor(opts: LeasedLimitsOptions) {
    this.inner = opts.limits;
    if (opts.leases === undefined && !(opts.limits instanceof RedisLimits))
      throw new TypeError('LeasedLimits: give `leases` unless `limits` is a RedisLimits');
    this.scripts = opts.leases ?? new LeaseScripts(opts.limits as RedisLimits);
    this.units = opts.units;
    this.ttlMs = opts.ttlMs ?? 250;
    if (!(Number.isInteger(this.units) && this.units >= 1))
      throw new RangeError('LeasedLimits: units must be an integer ≥ 1');
    if (!(this.ttlMs > 0)) throw new RangeError('LeasedLimits: ttlMs must be > 0');
    const sweepEvery = opts.sweepEveryMs ?? Math.max(1, Math.floor(this.ttlMs / 2));
    // A block's rest is back within ttl + one sweep period (+ a round trip): the refusal hint.
    this.holdMs = this.ttlMs + Math.max(sweepEvery, Math.ceil(this.ttlMs / 2)) + 50;
    this.leaseFor = opts.leaseFor;
    this.clock = opts.clock ?? systemClock;
    this.maxShapes = opts.maxShapes ?? 100_000;
    this.log = opts.log ?? silentLogger;
    this.gives = new GiveBacks(this.scripts, this.counts, this.log);
    if (sweepEvery > 0) {
      // sweep() reports its own give-back faults; anything else it throws is a bug worth a line.
      this.timer = setInterval(
        () =>
          void this.sweep().catch((err) =>
            reportFault(this.log, 'limits.lease_sweep', err, 'lease sweep failed'),
          ),
        sweepEvery,
      );
      this.timer.unref();
    }
  }

  stats(): LeaseStats {
    return { ...this.counts };
  }

  admit(req: AdmitRequest, nowMs: number): Decision | Promise<Decision> {
    this.counts.admits++;
    if (this.closed || (req.throttles.length === 0 && req.quota === undefined)) return this.plain(req, nowMs);
    const key = shapeKey(req);
    let s = this.shapes.get(key);
    if (s === undefined) {
      if (this.shapes.size >= this.maxShapes) return this.plain(req, nowMs);
      s = { key, block: null, pending: null, count: 0, prev: 0, periodStart: nowMs, lastSeen: nowMs };
      this.shapes.set(key, s);
    }
    if (nowMs - s.periodStart >= this.ttlMs) {
      s.prev = nowMs - s.periodStart < 2 * this.ttlMs ? s.count : 0;
      s.count = 0;
      s.periodStart = nowMs;
    }
    s.count++;
    s.lastSeen = nowMs;
    const b = s.block;
    if (b !== null && usable(b, req, nowMs)) {
      this.counts.local++;
      return serve(b, req.quota);
    }
    return this.trip(s, req, nowMs);
  }

  async refund(quotaKey: string, windowStart: number): Promise<void> {
    await this.inner.refund(quotaKey, windowStart);
  }

  /** The shared count minus the units this node holds unserved (other nodes' blocks are included). */
  async quotaUsed(quotaKey: string, windowStart: number): Promise<number> {
    const used = Number(await this.inner.quotaUsed(quotaKey, windowStart));
    let held = 0;
    for (const s of this.shapes.values()) {
      const q = s.block?.rules.quota;
      if (q !== undefined && q.key === quotaKey && q.windowStart === windowStart) held += s.block!.left;
    }
    return Math.max(0, used - held);
  }

  async setQuotaUsed(quotaKey: string, windowStart: number, windowEnd: number, used: number): Promise<void> {
    await this.giveBackQuota(quotaKey, windowStart);
    await this.inner.setQuotaUsed(quotaKey, windowStart, windowEnd, used);
  }

  async seedQuotaUsed(quotaKey: string, windowStart: number, windowEnd: number, used: number): Promise<void> {
    await this.giveBackQuota(quotaKey, windowStart);
    await this.inner.seedQuotaUsed(quotaKey, windowStart, windowEnd, used);
  }

  async addQuotaUsed(quotaKey: string, windowStart: number, windowEnd: number, n: number): Promise<void> {
    await this.inner.addQuotaUsed(quotaKey, windowStart, windowEnd, n);
  }

  /** Gives back what is owed, and blocks older than ttl; forgets shapes idle for 2·ttl. */
  async sweep(nowMs: number = this.clock.now()): Promise<void> {
    const out = this.gives.takeOwed();
    for (const [k, s] of this.shapes) {
      if (s.pending !== null) continue;
      const b = s.block;
      if (b !== null && nowMs >= b.expiresAt) {
        s.block = null;
        if (b.left > 0) out.push(settleOf(b));
      }
      if (s.block === null && nowMs - s.lastSeen >= 2 * this.ttlMs) this.shapes.delete(k);
    }
    await this.gives.send(out, nowMs, false);
  }

  /** Gives every held unit back, then closes the wrapped RedisLimits. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.closed = true;
    const inFlight: Promise<Decision>[] = [];
    for (const s of this.shapes.values()) if (s.pending) inFlight.push(s.pending.done);
    await Promise.allSettled(inFlight);
    const out = this.gives.takeOwed();
    for (const s of this.shapes.values())
      if (s.block !== null && s.block.left > 0) out.push(settleOf(s.block));
    this.shapes.clear();
    await this.gives.send(out, this.clock.now(), false);
    this.gives.close();
    await this.inner.close();
  }

  private plain(req: AdmitRequest, nowMs: number): Decision | Promise<Decision> {
    this.counts.trips++;
    return this.inner.admit(req, nowMs);
  }

  private async trip(s: Shape, req: AdmitRequest, now: number): Promise<Decision> {
    while (s.pending !== null) {
      const t = s.pending;
      const d = await t.done;
      const b = s.block;
      if (b !== null && usable(b, req, now)) {
        this.counts.local++;
        return serve(b, req.quota);
      }
      if (!d.ok && sameRules(t.rules, req)) {
        if (d.code === 'LIMITS_UNAVAILABLE') return d;
        const waited = Math.max(0, now - t.now);
        if (waited < d.retryAfterMs) return { ...d, retryAfterMs: d.retryAfterMs - waited };
      }
    }
    const old = s.block;
    s.block = null;
    const settle = old !== null && (old.left > 0 || old.rules.quota !== undefined) ? settleOf(old) : null;
    const want = this.want(s, req);
    if (want <= 1 && settle === null) return this.plain(req, now);
    const trip: Trip = { now, rules: req, done: Promise.resolve(UNSET) };
    s.pending = trip;
    trip.done = this.lease(s, trip, want, settle);
    return trip.done;
  }

  private want(s: Shape, req: AdmitRequest): number {
    const w = this.leaseFor ? Math.floor(this.leaseFor(req)) : Math.max(s.count, s.prev);
    return Number.isFinite(w) ? Math.min(this.units, Math.max(w, 1)) : 1;
  }

  private async lease(s: Shape, trip: Trip, want: number, toSettle: Settle | null): Promise<Decision> {
    const { rules: req, now } = trip;
    const id = `${this.node}${(this.seq++).toString(36)}`;
    this.counts.trips++;
    let r: LeaseReply;
    let settle = toSettle;
    try {
      const down = this.scripts.down();
      if (down) {
        // Never sent: the give-back that rode on this trip is owed to the next sweep.
        if (settle !== null) this.gives.owe([settle], down);
        settle = null;
        throw down;
      }
      r = await this.scripts.lease(req, now, want, id, this.holdMs, settle);
    } catch (e) {
      if (settle !== null) this.gives.lose([settle], e);
      if (s.pending === trip) s.pending = null;
      return { ok: false, code: 'LIMITS_UNAVAILABLE', error: e instanceof Error ? e : new Error(String(e)) };
    }
    if (settle !== null) this.counts.givenUnits += settle.back;
    if (s.pending === trip) s.pending = null;
    const [status, a, used, x] = r;
    const q = req.quota;
    if (status !== 1) {
      const code = status === 3 ? 'QUOTA_EXCEEDED' : 'THROTTLED';
      return q === undefined
        ? { ok: false, code, retryAfterMs: a }
        : { ok: false, code, retryAfterMs: a, quotaUsed: used, quotaRemaining: x };
    }
    const k = x;
    const minWhole = a < 0 ? Number.POSITIVE_INFINITY : a;
    const first = q === undefined ? 0 : used - k + 1;
    if (k > 1) {
      const b: Block = {
        id,
        left: k - 1,
        next: first + 1,
        minWhole,
        expiresAt: now + this.ttlMs,
        rules: req,
      };
      this.counts.leasedUnits += k - 1;
      if (this.closed || !this.adopt(s)) void this.gives.send([settleOf(b)], now, false);
      else s.block = b;
    }
    const throttleRemaining = minWhole + (k - 1);
    if (q === undefined) return { ok: true, throttleRemaining };
    return first > q.limit
      ? { ok: true, quotaUsed: first, quotaRemaining: 0, throttleRemaining, overage: true }
      : { ok: true, quotaUsed: first, quotaRemaining: q.limit - first, throttleRemaining };
  }

  /** Whether `s` is (again) the tracked shape for its key, so a new block can hang on it. */
  private adopt(s: Shape): boolean {
    const cur = this.shapes.get(s.key);
    if (cur === s) return true;
    if (cur !== undefined || this.shapes.size >= this.maxShapes) return false;
    this.shapes.set(s.key, s);
    return true;
  }

  private async giveBackQuota(quotaKey: string, windowStart: number): Promise<void> {
    const out: Settle[] = [];
    for (const s of this.shapes.values()) {
      const b = s.block;
      const q = b?.rules.quota;
      if (b && q !== undefined && q.key === quotaKey && q.windowStart === windowStart) {
        s.block = null;
        if (b.left > 0) out.push(settleOf(b));
      }
    }
    await this.gives.send(out, this.clock.now(), true);
  }
}

const UNSET: Decision = { ok: false, code: 'LIMITS_UNAVAILABLE', error: new Error('lease trip not started') };
