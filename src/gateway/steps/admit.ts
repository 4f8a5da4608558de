/**
 * Step 3 — may this call spend? Builds the throttle buckets and the quota that apply and
 * asks the limits backend to admit them all-or-nothing (a call refused by the quota does
 * not spend throttle tokens, and the reverse). Buckets:
 *   - per subscription, from the plan, or the plan's override for this route
 *     (API Gateway's "per-client per-method" limit, which takes precedence);
 *   - per route, shared by every caller, when the API sets a route throttle.
 * Quota: per subscription, in the plan's calendar window (see src/limits), with the
 * first-window offset and any admin adjustments for that window.
 */
import {
  type AdmitRequest,
  type Decision,
  effectiveQuotaLimit,
  type LimitsBackend,
  type QuotaRule,
  quotaWindow,
  type ThrottleRule,
} from '../../limits/index.js';
import { CONTINUE, DENIED, quotaExceeded, spendCapped, throttled, type Verdict } from '../denial.js';
import type { GatewayObserver } from '../hooks.js';
import type { OutageLedger, QuotaRef } from '../quota-sync.js';
import { rateLimitField } from '../responses.js';
import type { CompiledPlan, CompiledRoute, KeyEntry, Snapshot } from '../snapshot.js';

export type AdmitOutcome =
  | {
      ok: true;
      quota: { key: string; windowStart: number } | null;
      /** What is left after this call, for the RateLimit header; only when asked for. */
      left?: Remaining;
    }
  | {
      ok: false;
      code: 'THROTTLED' | 'QUOTA_EXCEEDED';
      retryAfterMs: number;
      limit: number;
      windowSeconds: number;
      remaining: number;
    }
  | {
      ok: false;
      code: 'LIMITS_UNAVAILABLE';
      failOpen: boolean;
      /** The quota the call would have spent: counted locally when it is served fail-open. */
      quota: { key: string; windowStart: number; windowEnd: number } | null;
    };

/**
 * What one key's calls on one route ask the limits backend, computed once per snapshot entry
 * and reused: the throttle rules, and the quota rule of the current window with the admit
 * outcome that carries it. Held on the KeyEntry, so a new snapshot starts afresh.
 */
interface AdmitCache {
  snapshot: Snapshot;
  throttles: Map<string, ThrottleRule[]>;
  quota: QuotaRule | undefined;
  request: Map<string, AdmitRequest>;
  ok: AdmitOutcome;
}

export interface Remaining {
  throttleRemaining: number;
  quotaRemaining?: number | undefined;
  windowEnd?: number;
}

const OK_UNLIMITED: AdmitOutcome = { ok: true, quota: null };

function cacheOf(key: KeyEntry, snapshot: Snapshot): AdmitCache {
  const k = key as KeyEntry & { admitCache?: AdmitCache };
  let c = k.admitCache;
  // Keyed by snapshot too: quota adjustments live in the snapshot, not in the entry.
  if (c === undefined || c.snapshot !== snapshot) {
    c = { snapshot, throttles: new Map(), quota: undefined, request: new Map(), ok: OK_UNLIMITED };
    k.admitCache = c;
  }
  return c;
}

export function quotaRuleFor(snapshot: Snapshot, key: KeyEntry, now: number): QuotaRule | undefined {
  const plan = key.plan;
  const spec = plan.quota;
  if (!spec) return undefined;
  const c = cacheOf(key, snapshot);
  const cached = c.quota;
  if (cached !== undefined && now >= cached.windowStart && now < cached.windowEnd) return cached;
  const w = currentWindow(plan, now);
  const adjustments = snapshot.adjustments.get(`${key.subscriptionId}:${w.start}`) ?? 0;
  const limit = effectiveQuotaLimit({
    limit: spec.limit,
    offset: spec.offset,
    windowStart: w.start,
    windowEnd: w.end,
    subscriptionStart: key.subscriptionStart,
    adjustments,
  });
  const rule: QuotaRule = {
    key: `q:${key.subscriptionId}`,
    limit,
    windowStart: w.start,
    windowEnd: w.end,
    mode: plan.overQuota === 'overage' ? 'count' : 'block',
  };
  c.quota = rule;
  c.request.clear();
  c.ok = { ok: true, quota: { key: rule.key, windowStart: rule.windowStart } };
  return rule;
}

function currentWindow(plan: CompiledPlan, now: number): { start: number; end: number } {
  const cached = plan.window;
  if (cached && now >= cached.start && now < cached.end) return cached;
  const w = quotaWindow(plan.quota!.period, plan.quota!.timeZone, now);
  plan.window = { start: w.start, end: w.end };
  return w;
}

function throttlesFor(snapshot: Snapshot, key: KeyEntry, route: CompiledRoute): ThrottleRule[] {
  const c = cacheOf(key, snapshot);
  let throttles = c.throttles.get(route.id);
  if (throttles !== undefined) return throttles;
  const plan = key.plan;
  throttles = [];
  const override = plan.routeThrottles.get(route.id);
  if (override)
    throttles.push({
      key: `c:${key.subscriptionId}:${route.id}`,
      rate: override.rate,
      burst: override.burst,
    });
  else if (plan.throttle)
    throttles.push({ key: `c:${key.subscriptionId}`, rate: plan.throttle.rate, burst: plan.throttle.burst });
  if (route.throttle)
    throttles.push({ key: `r:${route.id}`, rate: route.throttle.rate, burst: route.throttle.burst });
  c.throttles.set(route.id, throttles);
  return throttles;
}

export function admit(
  limits: LimitsBackend,
  snapshot: Snapshot,
  key: KeyEntry,
  route: CompiledRoute,
  now: number,
  ceiling: ThrottleRule | null = null,
  /** Report what is left (RateLimit headers): one small object per call, else none. */
  left = false,
): AdmitOutcome | Promise<AdmitOutcome> {
  const plan = key.plan;
  const quota = quotaRuleFor(snapshot, key, now);
  let throttles = throttlesFor(snapshot, key, route);
  let req: AdmitRequest | undefined;
  if (ceiling) {
    throttles = [...throttles, ceiling];
    req = quota ? { throttles, quota } : { throttles };
  } else {
    const c = cacheOf(key, snapshot);
    req = c.request.get(route.id);
    if (req === undefined) {
      req = quota ? { throttles, quota } : { throttles };
      c.request.set(route.id, req);
    }
  }
  if (throttles.length === 0 && !quota) return OK_UNLIMITED;

  const d = limits.admit(req, now);
  // The in-process backend answers synchronously: no microtask on the hot path.
  return d instanceof Promise
    ? d.then((v) => outcome(v, cacheOf(key, snapshot), plan, throttles, quota, left))
    : outcome(d, cacheOf(key, snapshot), plan, throttles, quota, left);
}

function outcome(
  d: Decision,
  cache: AdmitCache,
  plan: CompiledPlan,
  throttles: ThrottleRule[],
  quota: QuotaRule | undefined,
  left: boolean,
): AdmitOutcome {
  if (d.ok) {
    if (!quota)
      return left
        ? { ok: true, quota: null, left: { throttleRemaining: d.throttleRemaining } }
        : OK_UNLIMITED;
    if (left) {
      const ref = cache.ok.ok && cache.ok.quota?.windowStart === quota.windowStart ? cache.ok.quota : quota;
      return {
        ok: true,
        quota: ref,
        left: {
          throttleRemaining: d.throttleRemaining,
          quotaRemaining: d.quotaRemaining,
          windowEnd: quota.windowEnd,
        },
      };
    }
    const ok = cache.ok;
    return ok.ok && ok.quota?.windowStart === quota.windowStart ? ok : { ok: true, quota };
  }
  if (d.code === 'LIMITS_UNAVAILABLE')
    return { ok: false, code: d.code, failOpen: plan.failureMode === 'open', quota: quota ?? null };
  if (d.code === 'QUOTA_EXCEEDED') {
    return {
      ok: false,
      code: d.code,
      retryAfterMs: d.retryAfterMs,
      limit: quota!.limit,
      windowSeconds: Math.round((quota!.windowEnd - quota!.windowStart) / 1000),
      remaining: d.quotaRemaining ?? 0,
    };
  }
  const t = throttles[0]!;
  return {
    ok: false,
    code: d.code,
    retryAfterMs: d.retryAfterMs,
    limit: t.burst,
    windowSeconds: 1,
    remaining: 0,
  };
}

/** Step: the buyer's own spend cap (payments) refuses like a spent quota until its window ends. */
export function spendCap(key: KeyEntry, now: number): Verdict {
  return key.cappedUntil > now ? spendCapped(key.cappedUntil, now) : CONTINUE;
}

/** What the admit step writes on a call it lets through. */
export interface AdmitTarget {
  /** The quota unit spent, to give back if the call turns out not billable. */
  quota: { key: string; windowStart: number } | null;
  /** Served fail-open: the quota window it was counted in locally. */
  servedOpen: QuotaRef | null;
  /**
   * The RateLimit fields, added to whatever response the call gets. Held here rather than
   * set on the response: a response with fields set beforehand takes node's slow path for
   * every header of the upstream's head.
   */
  limitFields: Record<string, string> | null;
}

export interface AdmitEffects {
  observer: GatewayObserver;
  outage: OutageLedger;
}

/**
 * Step: the limits' answer for a keyed call as a verdict. Admitted: the quota it spent and the
 * RateLimit fields go on the call. Limit store down: the plan's failure mode serves (counted
 * in the outage ledger) or refuses 503 — never a 429.
 */
export function admitted(
  a: AdmitOutcome,
  call: AdmitTarget,
  key: KeyEntry,
  now: number,
  fx: AdmitEffects,
): Verdict {
  if (a.ok) {
    call.quota = a.quota;
    const plan = key.plan;
    if (a.left !== undefined && plan.ratePolicy !== null) {
      call.limitFields = {
        'ratelimit-policy': plan.ratePolicy,
        ratelimit: rateLimitField(plan.throttle, plan.quota !== null, a.left, now),
      };
    }
    return CONTINUE;
  }
  if (a.code === 'LIMITS_UNAVAILABLE') {
    fx.observer.limitsUnavailable(a.failOpen);
    if (!a.failOpen) return DENIED.limitsUnavailable;
    if (a.quota) {
      call.servedOpen = a.quota;
      fx.outage.count(a.quota);
    }
    return CONTINUE;
  }
  return a.code === 'QUOTA_EXCEEDED'
    ? quotaExceeded(a.retryAfterMs, a.limit, a.windowSeconds, a.remaining)
    : throttled(a.retryAfterMs, a.limit, a.remaining);
}

/**
 * Step: a public route under a licence's rate ceiling (no key, no plan). A limit store that
 * is down serves: there is no plan whose failure mode could say otherwise.
 */
export function underCeiling(d: Decision, ceiling: ThrottleRule, fx: AdmitEffects): Verdict {
  if (d.ok) return CONTINUE;
  if (d.code === 'LIMITS_UNAVAILABLE') {
    fx.observer.limitsUnavailable(true);
    return CONTINUE;
  }
  return throttled(d.retryAfterMs, ceiling.burst);
}
