/**
 * API Gateway GetUsage over the usage table: for a plan and a date range, one
 * `[used, remaining]` pair per key per day. Days are calendar days in the plan's quota time
 * zone; `remaining` is what the key's subscription had left in its quota window at the end of
 * that day, from prefix sums over its hourly requests (two binary searches per day).
 */

import { limitOf, type QuotaDeps, type Window, windowFor, windowHours } from '../quota/index.js';
import { invalid, notFound } from '../shared/errors.js';
import { localMidnight, parseDate } from './windows.js';

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

  // The plan's keys: those whose own subscription is on it, and those linked to one of its
  // subscriptions (a key in several usage plans; catalog/key-links.ts). Either way the key's
  // subscription here is the one on this plan.
  let own = deps.store.db
    .selectFrom('api_keys')
    .innerJoin('subscriptions', 'subscriptions.id', 'api_keys.subscription_id')
    .select(['api_keys.id as key_id', 'subscriptions.id as subscription_id', 'subscriptions.started_at'])
    .where('subscriptions.plan_id', '=', plan.id);
  let linked = deps.store.db
    .selectFrom('api_key_subscriptions')
    .innerJoin('subscriptions', 'subscriptions.id', 'api_key_subscriptions.subscription_id')
    .select([
      'api_key_subscriptions.key_id',
      'subscriptions.id as subscription_id',
      'subscriptions.started_at',
    ])
    .where('subscriptions.plan_id', '=', plan.id);
  if (input.keyId) {
    own = own.where('api_keys.id', '=', input.keyId);
    linked = linked.where('api_key_subscriptions.key_id', '=', input.keyId);
  }
  const keys = [...(await own.execute()), ...(await linked.execute())].sort((a, b) =>
    a.key_id < b.key_id ? -1 : a.key_id > b.key_id ? 1 : 0,
  );
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
  for (const s of subs.values())
    for (const w of s.windows) if (w && windowHours(w).from < from) from = windowHours(w).from;
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
      return [u, Math.max(0, limit - sumRange(k.subscription_id, windowHours(w).from, w.until))];
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
