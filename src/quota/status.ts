/**
 * A subscription's quota window: its limit, what was used, what remains.
 *
 * The "used" rule, the only one in Tollgate: a window [start, end) has used the billable
 * requests (the usage table's `requests`, all dimensions) of every UTC usage hour that
 * overlaps it — hours from the one containing `start` up to, excluding, `end`. For a zone
 * with a non-whole-hour offset (Asia/Kolkata) the hour straddling the window's start is
 * counted whole, so the rule only ever errs towards the subscriber having used more. When
 * the gateway's live counter for the window is known and higher (calls not yet flushed),
 * it wins: `used = max(stored, live)`.
 *
 * The limit is the plan's quota limit, minus its `offset` in the subscription's first
 * window, plus the adjustments recorded for the window (src/limits effectiveQuotaLimit:
 * the same arithmetic the gateway enforces).
 */
import { effectiveQuotaLimit, type QuotaPeriod, quotaWindow } from '../limits/index.js';
import type { Clock } from '../shared/clock.js';
import { notFound } from '../shared/errors.js';
import type { Db, PlanTable, Store, Tx } from '../store/index.js';

const HOUR = 3_600_000;

export interface Window {
  start: number;
  end: number;
}

/** The window containing `at` for a plan's quota (default: the gateway's rule from src/limits). */
export type QuotaWindowFn = (
  at: number,
  period: QuotaPeriod,
  timeZone: string,
  subscriptionStartedAt: number,
) => Window;

export const defaultQuotaWindow: QuotaWindowFn = (at, period, timeZone) => quotaWindow(period, timeZone, at);

export interface QuotaDeps {
  store: Store;
  clock: Clock;
  windowOf?: QuotaWindowFn;
  /** The gateway's live count for a window, when this process can ask the limits backend. */
  liveUsed?: (subscriptionId: string, windowStart: number) => Promise<number>;
}

export interface QuotaStatus {
  subscriptionId: string;
  planId: string;
  providerId: string;
  period: QuotaPeriod | null;
  timeZone: string;
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
  'provider_id' | 'quota_limit' | 'quota_period' | 'quota_offset' | 'quota_time_zone'
>;

type SubscriptionQuota = PlanQuota & { subscription_id: string; plan_id: string; started_at: number };

export async function loadSubscriptionQuota(db: Db | Tx, subscriptionId: string): Promise<SubscriptionQuota> {
  const row = await db
    .selectFrom('subscriptions')
    .innerJoin('plans', 'plans.id', 'subscriptions.plan_id')
    .select([
      'subscriptions.id as subscription_id',
      'subscriptions.started_at',
      'plans.id as plan_id',
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

export function windowFor(
  deps: Pick<QuotaDeps, 'windowOf'>,
  plan: PlanQuota,
  at: number,
  startedAt: number,
): Window | null {
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

/** The usage hours [from, to) that count for a window (see the header: the "used" rule). */
export function windowHours(w: Window): { from: number; to: number } {
  return { from: Math.floor(w.start / HOUR) * HOUR, to: w.end };
}

/** Billable requests stored for a subscription in a window, by the one "used" rule. */
export async function usedInWindow(db: Db | Tx, subscriptionId: string, w: Window): Promise<number> {
  const { from, to } = windowHours(w);
  const r = await db
    .selectFrom('usage')
    .select((eb) => eb.fn.sum<number>('requests').as('n'))
    .where('subscription_id', '=', subscriptionId)
    .where('hour', '>=', from)
    .where('hour', '<', to)
    .executeTakeFirst();
  return Number(r?.n ?? 0);
}

export async function adjustmentsFor(
  db: Db | Tx,
  subscriptionId: string,
  windowStart: number,
): Promise<number> {
  const r = await db
    .selectFrom('quota_adjustments')
    .select((eb) => eb.fn.sum<number>('delta').as('d'))
    .where('subscription_id', '=', subscriptionId)
    .where('window_start', '=', windowStart)
    .executeTakeFirst();
  return Number(r?.d ?? 0);
}

async function statusOf(
  deps: QuotaDeps,
  db: Db | Tx,
  sub: SubscriptionQuota,
  w: Window | null,
  live: boolean,
): Promise<QuotaStatus> {
  const base = {
    subscriptionId: sub.subscription_id,
    planId: sub.plan_id,
    providerId: sub.provider_id,
    period: (sub.quota_period as QuotaPeriod | null) ?? null,
    timeZone: sub.quota_time_zone || 'UTC',
  };
  if (!w) {
    const used = await usedInWindow(db, sub.subscription_id, { start: 0, end: Number.MAX_SAFE_INTEGER });
    return { ...base, window: null, limit: null, used, remaining: null, adjusted: 0 };
  }
  const [stored, adjusted, counted] = await Promise.all([
    usedInWindow(db, sub.subscription_id, w),
    adjustmentsFor(db, sub.subscription_id, w.start),
    live && deps.liveUsed ? deps.liveUsed(sub.subscription_id, w.start) : 0,
  ]);
  const used = Math.max(stored, counted);
  const limit = limitOf(sub, w, sub.started_at, adjusted);
  return { ...base, window: w, limit, used, remaining: Math.max(0, limit - used), adjusted };
}

/** The subscription's quota window containing `at` (default now): limit, used, remaining. */
export async function quotaStatus(
  deps: QuotaDeps,
  subscriptionId: string,
  at?: number,
  db: Db | Tx = deps.store.db,
): Promise<QuotaStatus> {
  const sub = await loadSubscriptionQuota(db, subscriptionId);
  const now = deps.clock.now();
  const w = windowFor(deps, sub, at ?? now, sub.started_at);
  // Only the current window has a live counter worth asking.
  return statusOf(deps, db, sub, w, w !== null && now >= w.start && now < w.end);
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
  const db = deps.store.db;
  const sub = await loadSubscriptionQuota(db, subscriptionId);
  const windows = new Map<number, Window>();
  for (const at of ats) {
    const w = windowFor(deps, sub, at, sub.started_at);
    if (w && !windows.has(w.start) && !skip(w)) windows.set(w.start, w);
  }
  const out: QuotaStatus[] = [];
  for (const w of windows.values()) out.push(await statusOf(deps, db, sub, w, false));
  return out;
}
