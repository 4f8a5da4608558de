/**
 * Quota views over the usage table: the status of a subscription's current window, the
 * audited quota adjustment (grant or reduce what remains, with who and why), and API
 * Gateway's UpdateUsage (`setRemaining`); GetUsage is in getusage.ts.
 *
 * "Used" is the number of billable requests (the usage table's `requests`, all dimensions)
 * in the window; the limit is the plan's quota_limit, plus the adjustments recorded for that
 * window, minus the plan's `offset` in the subscription's first window (API Gateway:
 * "the number of requests subtracted from the given limit in the initial time period").
 */

import { effectiveQuotaLimit, quotaWindow as limitsQuotaWindow } from '../limits/index.js';
import type { Clock } from '../shared/clock.js';
import { invalid, notFound } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import type { PlanTable, Store } from '../store/index.js';
import type { QuotaPeriod, Window } from './windows.js';

/** The window containing `at` for a plan's quota (default: the gateway's rule from src/limits). */
export type QuotaWindowFn = (
  at: number,
  period: QuotaPeriod,
  timeZone: string,
  subscriptionStartedAt: number,
) => Window;

/** The gateway's own rule (src/limits), so reports and alerts see the windows the 429s use. */
export const defaultQuotaWindow: QuotaWindowFn = (at, period, timeZone) =>
  limitsQuotaWindow(period, timeZone, at);

export interface QuotaDeps {
  store: Store;
  clock: Clock;
  windowOf?: QuotaWindowFn;
}

export interface QuotaStatus {
  subscriptionId: string;
  planId: string;
  /** Null when the plan has no quota. */
  window: Window | null;
  limit: number | null;
  used: number;
  remaining: number | null;
  /** Sum of the adjustments counted in `limit`. */
  adjusted: number;
}

export type PlanQuota = Pick<
  PlanTable,
  'id' | 'provider_id' | 'quota_limit' | 'quota_period' | 'quota_offset' | 'quota_time_zone'
>;

async function loadSubscription(store: Store, subscriptionId: string) {
  const row = await store.db
    .selectFrom('subscriptions')
    .innerJoin('plans', 'plans.id', 'subscriptions.plan_id')
    .select([
      'subscriptions.id as subscription_id',
      'subscriptions.started_at',
      'plans.id',
      'plans.provider_id',
      'plans.quota_limit',
      'plans.quota_period',
      'plans.quota_offset',
      'plans.quota_time_zone',
    ])
    .where('subscriptions.id', '=', subscriptionId)
    .executeTakeFirst();
  if (!row) throw notFound('subscription', subscriptionId);
  return row;
}

export function windowFor(deps: QuotaDeps, plan: PlanQuota, at: number, startedAt: number): Window | null {
  if (plan.quota_limit == null || !plan.quota_period) return null;
  return (deps.windowOf ?? defaultQuotaWindow)(
    at,
    plan.quota_period as QuotaPeriod,
    plan.quota_time_zone || 'UTC',
    startedAt,
  );
}

/** The window's limit with the first-window offset and the adjustments, as the gateway enforces it. */
export function limitOf(plan: PlanQuota, w: Window, startedAt: number, adjustments: number): number {
  return effectiveQuotaLimit({
    limit: plan.quota_limit!,
    offset: plan.quota_offset,
    windowStart: w.start,
    windowEnd: w.end,
    subscriptionStart: startedAt,
    adjustments,
  });
}

/** Billable requests of a subscription whose hour starts in [from, to). */
export async function usedRequests(
  store: Store,
  subscriptionId: string,
  from: number,
  to: number,
): Promise<number> {
  const r = await store.db
    .selectFrom('usage')
    .select((eb) => eb.fn.sum<number>('requests').as('n'))
    .where('subscription_id', '=', subscriptionId)
    .where('hour', '>=', from)
    .where('hour', '<', to)
    .executeTakeFirst();
  return Number(r?.n ?? 0);
}

async function adjustmentsFor(store: Store, subscriptionId: string, windowStart: number): Promise<number> {
  const r = await store.db
    .selectFrom('quota_adjustments')
    .select((eb) => eb.fn.sum<number>('delta').as('d'))
    .where('subscription_id', '=', subscriptionId)
    .where('window_start', '=', windowStart)
    .executeTakeFirst();
  return Number(r?.d ?? 0);
}

/** The subscription's quota window containing `at` (default now): limit, used, remaining. */
export async function quotaStatus(
  deps: QuotaDeps,
  subscriptionId: string,
  at?: number,
): Promise<QuotaStatus> {
  const sub = await loadSubscription(deps.store, subscriptionId);
  const when = at ?? deps.clock.now();
  const w = windowFor(deps, sub, when, sub.started_at);
  if (!w) {
    const used = await usedRequests(deps.store, subscriptionId, 0, Number.MAX_SAFE_INTEGER);
    return { subscriptionId, planId: sub.id, window: null, limit: null, used, remaining: null, adjusted: 0 };
  }
  const [used, adjusted] = await Promise.all([
    usedRequests(deps.store, subscriptionId, w.start, w.end),
    adjustmentsFor(deps.store, subscriptionId, w.start),
  ]);
  const limit = limitOf(sub, w, sub.started_at, adjusted);
  return {
    subscriptionId,
    planId: sub.id,
    window: w,
    limit,
    used,
    remaining: Math.max(0, limit - used),
    adjusted,
  };
}

export interface AdjustQuotaInput {
  subscriptionId: string;
  /** Start of the quota window to adjust; default the current one. */
  windowStart?: number;
  /** Added to the window's limit: positive grants, negative reduces what remains. */
  delta: number;
  reason: string;
  actor: string;
}

export interface QuotaAdjustment {
  id: string;
  subscriptionId: string;
  windowStart: number;
  delta: number;
  reason: string;
  actor: string;
  createdAt: number;
}

/** Records an adjustment and its audit entry in one transaction; returns it with the new status. */
export async function adjustQuota(
  deps: QuotaDeps,
  input: AdjustQuotaInput,
): Promise<{ adjustment: QuotaAdjustment; status: QuotaStatus }> {
  if (typeof input.subscriptionId !== 'string' || !input.subscriptionId) {
    throw invalid('subscriptionId', 'is required');
  }
  if (!Number.isSafeInteger(input.delta) || input.delta === 0)
    throw invalid('delta', 'must be a non-zero integer');
  if (typeof input.reason !== 'string' || !input.reason.trim() || input.reason.length > 500) {
    throw invalid('reason', 'must be 1-500 characters');
  }
  if (typeof input.actor !== 'string' || !input.actor.trim() || input.actor.length > 200) {
    throw invalid('actor', 'must be 1-200 characters');
  }
  const sub = await loadSubscription(deps.store, input.subscriptionId);
  const now = deps.clock.now();
  const current = windowFor(deps, sub, input.windowStart ?? now, sub.started_at);
  if (!current) throw invalid('subscriptionId', 'the plan of this subscription has no quota');
  if (
    input.windowStart !== undefined &&
    (!Number.isSafeInteger(input.windowStart) || current.start !== input.windowStart)
  ) {
    throw invalid(
      'windowStart',
      `must be the start of a quota window (the window containing it starts at ${current.start})`,
    );
  }
  const before = await quotaStatus(deps, input.subscriptionId, current.start);
  const afterLimit = limitOf(sub, current, sub.started_at, before.adjusted + input.delta);
  const adjustment: QuotaAdjustment = {
    id: newId('adj', now),
    subscriptionId: input.subscriptionId,
    windowStart: current.start,
    delta: input.delta,
    reason: input.reason.trim(),
    actor: input.actor.trim(),
    createdAt: now,
  };
  await deps.store.db.transaction().execute(async (tx) => {
    await tx
      .insertInto('quota_adjustments')
      .values({
        id: adjustment.id,
        subscription_id: adjustment.subscriptionId,
        window_start: adjustment.windowStart,
        delta: adjustment.delta,
        reason: adjustment.reason,
        actor: adjustment.actor,
        created_at: now,
      })
      .execute();
    await tx
      .insertInto('audit_log')
      .values({
        id: newId('aud', now),
        at: now,
        actor: adjustment.actor,
        action: 'quota.adjust',
        entity: 'subscription',
        entity_id: adjustment.subscriptionId,
        provider_id: sub.provider_id,
        before: JSON.stringify({
          windowStart: current.start,
          limit: before.limit,
          remaining: before.remaining,
        }),
        after: JSON.stringify({
          windowStart: current.start,
          limit: afterLimit,
          remaining: Math.max(0, afterLimit - before.used),
          delta: adjustment.delta,
          reason: adjustment.reason,
          adjustmentId: adjustment.id,
        }),
      })
      .execute();
  });
  return { adjustment, status: await quotaStatus(deps, input.subscriptionId, current.start) };
}

/** API Gateway UpdateUsage (`replace /remaining`): adjusts the current window so `remaining` is what remains. */
export async function setRemaining(
  deps: QuotaDeps,
  input: { subscriptionId: string; remaining: number; reason: string; actor: string },
): Promise<QuotaStatus> {
  if (!Number.isSafeInteger(input.remaining) || input.remaining < 0) {
    throw invalid('remaining', 'must be a non-negative integer');
  }
  const status = await quotaStatus(deps, input.subscriptionId);
  if (!status.window || status.limit === null)
    throw invalid('subscriptionId', 'the plan of this subscription has no quota');
  const delta = input.remaining - (status.limit - status.used);
  if (delta === 0) return status;
  return (await adjustQuota(deps, { ...input, windowStart: status.window.start, delta })).status;
}

/**
 * The quota windows of one subscription containing each of `ats` (deduplicated; none when the
 * plan has no quota), loading the subscription once. `skip(window)` lets a caller that already
 * knows a window's outcome avoid its queries.
 */
export async function quotaStatuses(
  deps: QuotaDeps,
  subscriptionId: string,
  ats: number[],
  skip: (w: Window) => boolean = () => false,
): Promise<QuotaStatus[]> {
  const sub = await loadSubscription(deps.store, subscriptionId);
  const windows = new Map<number, Window>();
  for (const at of ats) {
    const w = windowFor(deps, sub, at, sub.started_at);
    if (w && !windows.has(w.start) && !skip(w)) windows.set(w.start, w);
  }
  const out: QuotaStatus[] = [];
  for (const w of windows.values()) {
    const [used, adjusted] = await Promise.all([
      usedRequests(deps.store, subscriptionId, w.start, w.end),
      adjustmentsFor(deps.store, subscriptionId, w.start),
    ]);
    const limit = limitOf(sub, w, sub.started_at, adjusted);
    out.push({
      subscriptionId,
      planId: sub.id,
      window: w,
      limit,
      used,
      remaining: Math.max(0, limit - used),
      adjusted,
    });
  }
  return out;
}
