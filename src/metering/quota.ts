/**
 * Quota views over the usage table: the status of a subscription's current window, the
 * audited quota adjustment (grant or reduce what remains, with who and why), and API
 * Gateway's GetUsage shape — `[used, remaining]` per key per day for a plan.
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
import { localMidnight, parseDate, type QuotaPeriod, type Window } from './windows.js';

/** The window containing `at` for a plan's quota. Inject the limits module's to share one rule. */
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

type PlanQuota = Pick<
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

function windowFor(deps: QuotaDeps, plan: PlanQuota, at: number, startedAt: number): Window | null {
  if (plan.quota_limit == null || !plan.quota_period) return null;
  return (deps.windowOf ?? defaultQuotaWindow)(
    at,
    plan.quota_period as QuotaPeriod,
    plan.quota_time_zone || 'UTC',
    startedAt,
  );
}

/** The window's limit with the first-window offset and the adjustments, as the gateway enforces it. */
function limitOf(plan: PlanQuota, w: Window, startedAt: number, adjustments: number): number {
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

export interface GetUsageResult {
  usagePlanId: string;
  startDate: string;
  endDate: string;
  /** Per key id, one `[used, remaining]` per day from startDate to endDate inclusive (remaining null without a quota). */
  items: Record<string, Array<[number, number | null]>>;
}

/**
 * API Gateway GetUsage for a plan: days are calendar days in the plan's quota time zone;
 * `used` is the key's billable requests that day, `remaining` what the key's subscription had
 * left in its quota window at the end of that day. (On the wire AWS names `items` `values`.)
 */
export async function getUsage(
  deps: QuotaDeps,
  input: { usagePlanId: string; startDate: string; endDate: string; keyId?: string },
): Promise<GetUsageResult> {
  const start = parseDate(input.startDate);
  if (!start) throw invalid('startDate', 'must be a date YYYY-MM-DD');
  const end = parseDate(input.endDate);
  if (!end) throw invalid('endDate', 'must be a date YYYY-MM-DD');
  const plan = await deps.store.db
    .selectFrom('plans')
    .select(['id', 'provider_id', 'quota_limit', 'quota_period', 'quota_offset', 'quota_time_zone'])
    .where('id', '=', input.usagePlanId)
    .executeTakeFirst();
  if (!plan) throw notFound('usage plan', input.usagePlanId);
  const tz = plan.quota_time_zone || 'UTC';
  const days: number[] = [];
  for (let d = 0; ; d++) {
    const t = localMidnight(start.year, start.month, start.day + d, tz);
    days.push(t);
    if (days.length > 367)
      throw invalid('endDate', 'must be on or after startDate and at most 366 days after it');
    if (localMidnight(end.year, end.month, end.day, tz) <= t) break;
  }
  if (localMidnight(end.year, end.month, end.day, tz) < days[0]!)
    throw invalid('endDate', 'must be on or after startDate');
  days.push(localMidnight(end.year, end.month, end.day + 1, tz)); // fence

  let keyQuery = deps.store.db
    .selectFrom('api_keys')
    .innerJoin('subscriptions', 'subscriptions.id', 'api_keys.subscription_id')
    .select(['api_keys.id as key_id', 'subscriptions.id as subscription_id', 'subscriptions.started_at'])
    .where('subscriptions.plan_id', '=', plan.id);
  if (input.keyId) keyQuery = keyQuery.where('api_keys.id', '=', input.keyId);
  const keys = await keyQuery.orderBy('api_keys.id').execute();
  const items: GetUsageResult['items'] = {};
  if (keys.length === 0)
    return { usagePlanId: plan.id, startDate: input.startDate, endDate: input.endDate, items };

  const first = days[0]!;
  const last = days[days.length - 1]!;
  // Per subscription, the quota window of each day and how far into it the day's end reaches.
  const subs = new Map<string, { startedAt: number; windows: Array<(Window & { until: number }) | null> }>();
  for (const k of keys) {
    if (subs.has(k.subscription_id)) continue;
    const windows = days.slice(0, -1).map((d, i) => {
      const w = windowFor(deps, plan, d, k.started_at);
      return w ? { ...w, until: Math.min(days[i + 1]!, w.end) } : null;
    });
    subs.set(k.subscription_id, { startedAt: k.started_at, windows });
  }
  let from = first;
  for (const s of subs.values()) for (const w of s.windows) if (w && w.start < from) from = w.start;
  // A subquery, not a list of ids: a plan may have more subscriptions than a statement has parameters.
  const subIds = input.keyId
    ? [keys[0]!.subscription_id]
    : deps.store.db.selectFrom('subscriptions').select('id').where('plan_id', '=', plan.id);
  const rows = await deps.store.db
    .selectFrom('usage')
    .select(['subscription_id', 'key_id', 'hour'])
    .select((eb) => eb.fn.sum<number>('requests').as('requests'))
    .where('subscription_id', 'in', subIds)
    .where('hour', '>=', from)
    .where('hour', '<', last)
    .groupBy(['subscription_id', 'key_id', 'hour'])
    .execute();
  const adjustments = await deps.store.db
    .selectFrom('quota_adjustments')
    .select(['subscription_id', 'window_start'])
    .select((eb) => eb.fn.sum<number>('delta').as('delta'))
    .where('subscription_id', 'in', subIds)
    .groupBy(['subscription_id', 'window_start'])
    .execute();
  const adj = new Map(
    adjustments.map((a) => [`${a.subscription_id}\u0001${a.window_start}`, Number(a.delta)]),
  );

  const perKeyDay = new Map<string, number[]>();
  const subHours = new Map<string, Map<number, number>>();
  for (const r of rows) {
    const n = Number(r.requests);
    const i = upperBound(days, r.hour) - 1;
    if (i >= 0 && i < days.length - 1) {
      let arr = perKeyDay.get(r.key_id);
      if (!arr) {
        arr = new Array<number>(days.length - 1).fill(0);
        perKeyDay.set(r.key_id, arr);
      }
      arr[i]! += n;
    }
    let h = subHours.get(r.subscription_id);
    if (!h) {
      h = new Map();
      subHours.set(r.subscription_id, h);
    }
    h.set(r.hour, (h.get(r.hour) ?? 0) + n);
  }
  // Prefix sums per subscription: requests in [a, b) by two binary searches.
  const prefix = new Map<string, { hours: number[]; cum: number[] }>();
  for (const [subId, h] of subHours) {
    const hours = [...h.keys()].sort((a, b) => a - b);
    const cum = [0];
    for (const hour of hours) cum.push(cum[cum.length - 1]! + h.get(hour)!);
    prefix.set(subId, { hours, cum });
  }
  const sumRange = (subId: string, a: number, b: number): number => {
    const p = prefix.get(subId);
    if (!p) return 0;
    return p.cum[lowerBound(p.hours, b)]! - p.cum[lowerBound(p.hours, a)]!;
  };
  for (const k of keys) {
    const sub = subs.get(k.subscription_id)!;
    const used = perKeyDay.get(k.key_id) ?? new Array<number>(days.length - 1).fill(0);
    items[k.key_id] = used.map((u, i): [number, number | null] => {
      const w = sub.windows[i];
      if (!w) return [u, null];
      const limit = limitOf(plan, w, sub.startedAt, adj.get(`${k.subscription_id}\u0001${w.start}`) ?? 0);
      return [u, Math.max(0, limit - sumRange(k.subscription_id, w.start, w.until))];
    });
  }
  return { usagePlanId: plan.id, startDate: input.startDate, endDate: input.endDate, items };
}

/** First index whose value is >= x (sorted ascending). */
function lowerBound(a: number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index whose value is > x (sorted ascending). */
function upperBound(a: number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
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
