/**
 * Limits in Redis, shared by every gateway node: exact across nodes because each admit is one
 * Lua script (redis-script.ts) that reads every bucket and the quota counter and writes all of
 * them only if all pass, atomically on the Redis primary. Keys expire on their own (PEXPIRE).
 *
 * Time: with `useServerTime` (default) buckets and retry hints use Redis' TIME, one clock for
 * all nodes; the caller's `nowMs` is then ignored (it already chose the quota window).
 * Tests pass `useServerTime: false` to drive the script with an injected clock.
 *
 * Failure: admit never throws. A connection that is down answers LIMITS_UNAVAILABLE at once
 * (no offline queueing), a slow one after `timeoutMs`; ioredis reconnects by itself and admits
 * succeed again as soon as Redis is back. An admit that timed out may still run once Redis
 * answers (a hung server that resumes): its reply is still awaited, and a late commit gives
 * its quota unit back — the caller answered that request 503 or counted it as fail-open, so
 * it must not also spend quota here. (Only when the connection's own `commandTimeout` is
 * unset, as in LIMITS_REDIS_OPTIONS: ioredis drops late replies of timed-out commands.)
 * refund/quotaUsed/setQuotaUsed are faults when Redis is down: they reject, within the same deadline.
 *
 * Redis Cluster: one admit's keys must hash to one slot; put a `{hash tag}` in rule keys.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { reportFault } from '../shared/faults.js';
import { type Logger, silentLogger } from '../shared/logger.js';
import { ADD_USED_LUA, ADMIT_LUA, REFUND_LUA, SET_USED_LUA } from './redis-script.js';
import { type AdmitRequest, type Decision, type LimitsBackend, QUOTA_GRACE_MS } from './types.js';

/**
 * Connection settings for a limits connection: fail fast, never queue, reconnect forever.
 * No `commandTimeout`: RedisLimits puts its own deadline on each call, so the reply of an
 * admit that timed out is still seen (and a late commit undone).
 */
export const LIMITS_REDIS_OPTIONS: RedisOptions = {
  connectTimeout: 1000,
  maxRetriesPerRequest: 1,
  enableOfflineQueue: false,
  retryStrategy: (times) => Math.min(50 * times, 1000),
};

type Reply = [number, number, number, number, number?];

interface ScriptedRedis {
  tollgateLimitsAdmit(numKeys: number, ...args: string[]): Promise<Reply>;
  tollgateLimitsRefund(key: string): Promise<number>;
  tollgateLimitsSetUsed(key: string, used: string, ttl: string, onlyRaise: string): Promise<number>;
  tollgateLimitsAddUsed(key: string, n: string, ttl: string): Promise<number>;
}

export interface RedisLimitsOptions {
  redis: Redis;
  /** Key prefix, default `tg:lim:`. */
  prefix?: string;
  /** Use Redis' clock (default true). */
  useServerTime?: boolean;
  /** Deadline for one call when the connection has no `commandTimeout` of its own (default 500 ms). */
  timeoutMs?: number;
  /** Quit the connection on close() (default false: the caller owns it). */
  ownsConnection?: boolean;
  /** Where background faults go (a late admit that could not be given back); counted either way. */
  log?: Logger;
}

/** What LeasedLimits needs of a RedisLimits: its connection, its clock mode ('1' = Redis TIME) and deadline. */
export interface RedisLink {
  redis: Redis;
  serverTime: string;
  deadline<T>(p: Promise<T>): Promise<T>;
  down(): Error | null;
}

export class RedisLimits implements LimitsBackend {
  private readonly redis: Redis;
  private readonly r: ScriptedRedis;
  private readonly prefix: string;
  private readonly serverTime: string;
  private readonly timeoutMs: number;
  private readonly ownsConnection: boolean;
  private readonly log: Logger;
  /** Timed-out admits whose reply is still awaited, and late commits given back. */
  lateAdmits = 0;
  lateUndone = 0;

  /** Opens a connection with LIMITS_REDIS_OPTIONS that close() will quit. */
  static connect(url: string, opts: Omit<RedisLimitsOptions, 'redis' | 'ownsConnection'> = {}): RedisLimits {
    const redis = new Redis(url, LIMITS_REDIS_OPTIONS);
    redis.on('error', () => {}); // reported per call as LIMITS_UNAVAILABLE
    return new RedisLimits({ ...opts, redis, ownsConnection: true });
  }

  constructor(opts: RedisLimitsOptions) {
    this.redis = opts.redis;
    this.prefix = opts.prefix ?? 'tg:lim:';
    this.serverTime = opts.useServerTime === false ? '0' : '1';
    this.timeoutMs = opts.timeoutMs ?? 500;
    this.ownsConnection = opts.ownsConnection ?? false;
    this.log = opts.log ?? silentLogger;
    this.redis.defineCommand('tollgateLimitsAdmit', { lua: ADMIT_LUA });
    this.redis.defineCommand('tollgateLimitsRefund', { lua: REFUND_LUA, numberOfKeys: 1 });
    this.redis.defineCommand('tollgateLimitsSetUsed', { lua: SET_USED_LUA, numberOfKeys: 1 });
    this.redis.defineCommand('tollgateLimitsAddUsed', { lua: ADD_USED_LUA, numberOfKeys: 1 });
    this.r = this.redis as unknown as ScriptedRedis;
  }

  /** Resolves once the connection is ready (await it at start-up; admits before that may be LIMITS_UNAVAILABLE). */
  async ready(timeoutMs = 5000): Promise<void> {
    if (this.redis.status === 'ready') return;
    // A failed connect is seen below: no 'ready' within the timeout rejects with the status.
    if (this.redis.status === 'wait') void this.redis.connect().catch(() => {});
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => {
        this.redis.off('ready', onReady);
        reject(new Error(`redis not ready within ${timeoutMs} ms (status ${this.redis.status})`));
      }, timeoutMs);
      const onReady = () => {
        clearTimeout(t);
        resolve();
      };
      this.redis.once('ready', onReady);
    });
  }

  bucketKey(ruleKey: string): string {
    return `${this.prefix}t:${ruleKey}`;
  }

  quotaKey(quotaKey: string, windowStart: number): string {
    return `${this.prefix}q:${quotaKey}:${windowStart}`;
  }

  /** The connection, clock mode and deadline of this backend, for LeasedLimits (same module). */
  link(): RedisLink {
    return {
      redis: this.redis,
      serverTime: this.serverTime,
      deadline: (p) => this.deadline(p),
      down: () => this.down(),
    };
  }

  /** Why the connection cannot take a command now, or null when it can (or soon will). */
  private down(): Error | null {
    const status = this.redis.status;
    if (status === 'ready' || status === 'wait' || status === 'connecting' || status === 'connect')
      return null;
    return new Error(`redis connection is ${status}`);
  }

  async admit(req: AdmitRequest, nowMs: number): Promise<Decision> {
    const down = this.down();
    if (down) return { ok: false, code: 'LIMITS_UNAVAILABLE', error: down };
    const { throttles, quota } = req;
    const n = throttles.length;
    const args: string[] = [];
    for (let i = 0; i < n; i++) args.push(this.bucketKey(throttles[i]!.key));
    if (quota !== undefined) args.push(this.quotaKey(quota.key, quota.windowStart));
    args.push(String(nowMs), this.serverTime, String(n));
    for (let i = 0; i < n; i++) args.push(String(throttles[i]!.rate), String(throttles[i]!.burst));
    if (quota !== undefined) {
      args.push(
        String(quota.limit),
        String(quota.windowEnd),
        quota.mode === 'count' ? 'c' : 'b',
        String(QUOTA_GRACE_MS),
      );
    }
    let reply: Reply;
    const call = this.r.tollgateLimitsAdmit(quota === undefined ? n : n + 1, ...args);
    try {
      reply = await this.deadline(call);
    } catch (e) {
      // Not a fault to throw: the gateway answers by the plan's failure mode and counts it.
      if (quota !== undefined && e instanceof DeadlineError)
        this.undoIfLate(call, quota.key, quota.windowStart);
      return { ok: false, code: 'LIMITS_UNAVAILABLE', error: e instanceof Error ? e : new Error(String(e)) };
    }
    return toDecision(reply);
  }

  /** The admit was reported unavailable; if its script commits after all, give the unit back. */
  private undoIfLate(call: Promise<Reply>, quotaKey: string, windowStart: number): void {
    this.lateAdmits++;
    call
      .then(
        (r) =>
          r[0] === 1
            ? this.refund(quotaKey, windowStart).then(
                () => this.lateUndone++,
                // The late commit stands: one quota unit stays spent for a call not served.
                (err: unknown) =>
                  reportFault(this.log, 'limits.late_refund', err, 'a late admit could not be given back', {
                    quotaKey,
                    windowStart,
                  }),
              )
            : undefined,
        () => {}, // the connection died first: the script either never ran or its state is gone
      )
      .finally(() => this.lateAdmits--);
  }

  async refund(quotaKey: string, windowStart: number): Promise<void> {
    await this.deadline(this.r.tollgateLimitsRefund(this.quotaKey(quotaKey, windowStart)));
  }

  async quotaUsed(quotaKey: string, windowStart: number): Promise<number> {
    const v = await this.deadline(this.redis.get(this.quotaKey(quotaKey, windowStart)));
    return v === null ? 0 : Number(v);
  }

  async setQuotaUsed(quotaKey: string, windowStart: number, windowEnd: number, used: number): Promise<void> {
    await this.setUsed(quotaKey, windowStart, windowEnd, used, false);
  }

  /** Raises the used count to at least `used`, never lowers it: start-up seeding that cannot undo other nodes' counts. */
  async seedQuotaUsed(quotaKey: string, windowStart: number, windowEnd: number, used: number): Promise<void> {
    await this.setUsed(quotaKey, windowStart, windowEnd, used, true);
  }

  /** Adds `n` to a window's count: fail-open admits counted locally during an outage, reconciled. */
  async addQuotaUsed(quotaKey: string, windowStart: number, windowEnd: number, n: number): Promise<void> {
    const ttl = Math.max(0, windowEnd - windowStart) + QUOTA_GRACE_MS;
    await this.deadline(
      this.r.tollgateLimitsAddUsed(this.quotaKey(quotaKey, windowStart), String(Math.floor(n)), String(ttl)),
    );
  }

  async close(): Promise<void> {
    if (!this.ownsConnection) return;
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect(); // a connection that cannot say QUIT is simply dropped
    }
  }

  private async setUsed(key: string, start: number, end: number, used: number, onlyRaise: boolean) {
    // The counter outlives any instant of its window by at most one window length + grace.
    const ttl = Math.max(0, end - start) + QUOTA_GRACE_MS;
    const n = Math.max(0, Math.floor(used));
    await this.r.tollgateLimitsSetUsed(
      this.quotaKey(key, start),
      String(n),
      String(ttl),
      onlyRaise ? '1' : '0',
    );
  }

  private deadline<T>(p: Promise<T>): Promise<T> {
    if (typeof this.redis.options.commandTimeout === 'number') return p;
    return new Promise<T>((resolve, reject) => {
      const t = setTimeout(
        () => reject(new DeadlineError(`redis did not answer within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
      p.then(
        (v) => {
          clearTimeout(t);
          resolve(v);
        },
        (e) => {
          clearTimeout(t);
          reject(e);
        },
      );
    });
  }
}

class DeadlineError extends Error {}

function toDecision(r: Reply): Decision {
  const [status, a, used, remaining] = r;
  if (status === 1) {
    const throttleRemaining = a < 0 ? Number.POSITIVE_INFINITY : a;
    if (used < 0) return { ok: true, throttleRemaining };
    return r[4] === 1
      ? { ok: true, quotaUsed: used, quotaRemaining: remaining, throttleRemaining, overage: true }
      : { ok: true, quotaUsed: used, quotaRemaining: remaining, throttleRemaining };
  }
  const code = status === 3 ? 'QUOTA_EXCEEDED' : 'THROTTLED';
  if (used < 0) return { ok: false, code, retryAfterMs: a };
  return { ok: false, code, retryAfterMs: a, quotaUsed: used, quotaRemaining: remaining };
}
