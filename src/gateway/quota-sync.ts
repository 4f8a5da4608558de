/**
 * Quotas as durable as the usage they count, when the counters live in Redis.
 *
 * Redis holds the live quota counters, but the store's usage rows are the truth: a Redis
 * restart, a FLUSHALL or a failover to an empty replica must not hand every subscriber a
 * fresh quota. So:
 *
 * - **Epoch.** Whoever seeds the counters from stored usage then writes an epoch key
 *   (`<prefix>epoch`, random). Each gateway remembers the epoch it saw. The key missing, or
 *   changed, means Redis lost its counters (and perhaps another gateway reseeded them).
 * - **Unsettled until seeded.** From the moment the connection drops, or the epoch is seen
 *   missing or changed, `settled` is false and every admit answers LIMITS_UNAVAILABLE (each
 *   plan's fail open/closed applies) — admits never run against counters that do not yet
 *   hold stored usage. Checked on every reconnect and every `pollMs` (500 ms).
 * - **Reseed.** Flush this gateway's metering (so the store has everything it counted),
 *   raise every current-window counter to the stored usage (never lower), write the epoch
 *   if none is there, then settle.
 * - **Fail-open ledger.** Calls served fail-open while Redis could not be asked are counted
 *   here (and given back if not billable). If Redis comes back with its counters, the counts
 *   are added to them; if it comes back empty, the reseed already holds them (they were
 *   metered and flushed) and the ledger is dropped.
 *
 * Bounds (docs/limits.md): exact with one gateway, except calls in flight at the moment of
 * the loss; with several gateways a reseed by one may miss another's unflushed usage (at
 * most one flush interval of that gateway's traffic) — that gateway raises the counters
 * again when it notices the new epoch.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { type Decision, LIMITS_REDIS_OPTIONS, type LimitsBackend } from '../limits/index.js';
import type { Clock, Logger } from '../shared/index.js';
import type { Store } from '../store/index.js';
import { seedQuotas } from './quota-seed.js';
import type { SnapshotHolder } from './snapshot-holder.js';

export interface QuotaRef {
  key: string;
  windowStart: number;
  windowEnd: number;
}

/** What the gateway tells about calls it served fail-open. */
export interface OutageLedger {
  count(q: QuotaRef): void;
  giveBack(q: QuotaRef): void;
}

export interface QuotaSyncDeps {
  redisUrl: string;
  prefix: string;
  store: Store;
  snapshots: SnapshotHolder;
  limits: LimitsBackend;
  flushUsage: () => Promise<void>;
  clock: Clock;
  log: Logger;
  pollMs?: number;
}

const UNSETTLED: Decision = {
  ok: false,
  code: 'LIMITS_UNAVAILABLE',
  error: new Error('quota counters are being reseeded from stored usage'),
};

export class QuotaSync implements OutageLedger {
  /** True while Redis' counters are known to hold stored usage. */
  settled = false;
  /** Reseeds done since start (the first one included), for logs and tests. */
  reseeds = 0;
  private epoch: string | null = null;
  private readonly ledger = new Map<string, QuotaRef & { n: number }>();
  private readonly redis: Redis;
  private readonly epochKey: string;
  private running: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private onSettled: () => void = () => {};
  private readonly firstSettle = new Promise<void>((resolve) => {
    this.onSettled = resolve;
  });

  constructor(private readonly deps: QuotaSyncDeps) {
    this.epochKey = `${deps.prefix}epoch`;
    this.redis = new Redis(deps.redisUrl, { ...LIMITS_REDIS_OPTIONS, commandTimeout: 1_000 });
    this.redis.on('error', () => {}); // reported as an unsettled state
    this.redis.on('close', () => {
      this.settled = false;
    });
    this.redis.on('ready', () => void this.check());
  }

  /** Waits for the first settle (up to `timeoutMs`: a Redis that is down does not stop the start), then polls. */
  async start(timeoutMs = 5_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.firstSettle,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    this.timer = setInterval(() => void this.check(), this.deps.pollMs ?? 500);
    this.timer.unref();
  }

  /** The limits the gateway uses: admits answer LIMITS_UNAVAILABLE while unsettled. */
  guard(inner: LimitsBackend): LimitsBackend {
    return {
      admit: (req, now) => (this.settled ? inner.admit(req, now) : UNSETTLED),
      refund: (key, windowStart) => inner.refund(key, windowStart),
      quotaUsed: (key, windowStart) => inner.quotaUsed(key, windowStart),
      setQuotaUsed: (key, start, end, used) => inner.setQuotaUsed(key, start, end, used),
      close: () => inner.close(),
    };
  }

  count(q: QuotaRef): void {
    const id = `${q.key}\u0000${q.windowStart}`;
    const e = this.ledger.get(id);
    if (e) e.n++;
    else this.ledger.set(id, { ...q, n: 1 });
  }

  giveBack(q: QuotaRef): void {
    const e = this.ledger.get(`${q.key}\u0000${q.windowStart}`);
    if (e && e.n > 0) e.n--;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running?.catch(() => {});
    this.redis.disconnect();
  }

  /** Compares the epoch; reseeds or reconciles as needed. One at a time. */
  private check(): Promise<void> {
    this.running ??= this.settle()
      .catch((err: Error) => {
        this.settled = false;
        this.deps.log.warn({ err: err.message }, 'quota counters not settled; retrying');
      })
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  private async settle(): Promise<void> {
    const seen = await this.redis.get(this.epochKey);
    if (seen !== null && seen === this.epoch) {
      await this.reconcile();
      this.settled = true;
      this.onSettled();
      return;
    }
    this.settled = false;
    if (seen === null || this.epoch !== null) {
      // Lost (or reseeded by another gateway after a loss): stored usage is the truth. What
      // was served fail-open until now is metered and flushed, so the seed holds it.
      this.ledger.clear();
      await this.deps.flushUsage();
      const { store, snapshots, limits, clock } = this.deps;
      const n = await seedQuotas(store, snapshots.current, limits, clock.now());
      this.reseeds++;
      this.deps.log.warn({ subscriptions: n, epoch: seen }, 'quota counters seeded from stored usage');
    }
    // First start with live counters adopts them; otherwise the first to seed names the epoch.
    if (seen === null) await this.redis.set(this.epochKey, randomUUID(), 'NX');
    this.epoch = await this.redis.get(this.epochKey);
    this.settled = this.epoch !== null;
    if (this.settled) this.onSettled();
  }

  /** Adds what was served fail-open to counters that survived the outage. */
  private async reconcile(): Promise<void> {
    const add = this.deps.limits.addQuotaUsed?.bind(this.deps.limits);
    if (!add || this.ledger.size === 0) return;
    const entries = [...this.ledger.values()].filter((e) => e.n > 0);
    this.ledger.clear();
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      try {
        await add(e.key, e.windowStart, e.windowEnd, e.n);
      } catch (err) {
        for (const rest of entries.slice(i)) for (let k = 0; k < rest.n; k++) this.count(rest);
        throw err;
      }
    }
  }
}
