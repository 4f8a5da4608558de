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
  type Decision,
  effectiveQuotaLimit,
  type LimitsBackend,
  type QuotaRule,
  quotaWindow,
  type ThrottleRule,
} from '../../limits/index.js';
import type { CompiledPlan, CompiledRoute, KeyEntry, Snapshot } from '../snapshot.js';

export type AdmitOutcome =
  | { ok: true; quota: { key: string; windowStart: number } | null }
  | {
      ok: false;
      code: 'THROTTLED' | 'QUOTA_EXCEEDED';
      retryAfterMs: number;
      limit: number;
      windowSeconds: number;
      remaining: number;
    }
  | { ok: false; code: 'LIMITS_UNAVAILABLE'; failOpen: boolean };

export function quotaRuleFor(snapshot: Snapshot, key: KeyEntry, now: number): QuotaRule | undefined {
  const plan = key.plan;
  const spec = plan.quota;
  if (!spec) return undefined;
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
  return {
    key: `q:${key.subscriptionId}`,
    limit,
    windowStart: w.start,
    windowEnd: w.end,
    mode: plan.overQuota === 'overage' ? 'count' : 'block',
  };
}

function currentWindow(plan: CompiledPlan, now: number): { start: number; end: number } {
  const cached = plan.window;
  if (cached && now >= cached.start && now < cached.end) return cached;
  const w = quotaWindow(plan.quota!.period, plan.quota!.timeZone, now);
  plan.window = { start: w.start, end: w.end, limitBase: plan.quota!.limit };
  return w;
}

export function admit(
  limits: LimitsBackend,
  snapshot: Snapshot,
  key: KeyEntry,
  route: CompiledRoute,
  now: number,
  ceiling: ThrottleRule | null = null,
): AdmitOutcome | Promise<AdmitOutcome> {
  const plan = key.plan;
  const throttles: ThrottleRule[] = [];
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
  if (ceiling) throttles.push(ceiling);
  const quota = quotaRuleFor(snapshot, key, now);
  if (throttles.length === 0 && !quota) return { ok: true, quota: null };

  const d = limits.admit(quota ? { throttles, quota } : { throttles }, now);
  // The in-process backend answers synchronously: no microtask on the hot path.
  return d instanceof Promise
    ? d.then((v) => outcome(v, plan, throttles, quota))
    : outcome(d, plan, throttles, quota);
}

function outcome(
  d: Decision,
  plan: CompiledPlan,
  throttles: ThrottleRule[],
  quota: QuotaRule | undefined,
): AdmitOutcome {
  if (d.ok) return { ok: true, quota: quota ? { key: quota.key, windowStart: quota.windowStart } : null };
  if (d.code === 'LIMITS_UNAVAILABLE')
    return { ok: false, code: d.code, failOpen: plan.failureMode === 'open' };
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
