/**
 * Proration (pure). A period is cut into segments, one per plan in force; each segment
 * carries its share of the period (by the second) and the window of usage hours it bills.
 *
 * - Recurring fee: each plan is charged `fee × seconds in force (outside any trial) /
 *   seconds of its nominal period`. Tollgate bills recurring fees in arrears together with
 *   usage, so a plan change needs no credit note: the old plan is charged for the used
 *   share, the new one for the rest, on the same invoice. `creditUnused` computes the
 *   credit for callers that bill in advance.
 * - Usage: split at the change instant by usage hours: hours starting before
 *   floorHour(change) go to the old plan, the rest to the new one. Each side is rated on its
 *   own price with its full tiers and allowance (as Lago does when a plan changes);
 *   minimum/maximum are prorated by the side's share.
 */
import type { Decimal } from './money.js';
import { ceilHour, floorHour, type Period, prorate, share } from './periods.js';

export interface PlanChange {
  at: number;
  fromPlanId: string;
  toPlanId: string;
}

export interface Segment {
  planId: string;
  /** Instants the plan was in force inside the period: [from, to). */
  from: number;
  to: number;
  /** Usage hours billed on this segment: hour ∈ [usageFrom, usageTo). */
  usageFrom: number;
  usageTo: number;
  /** True for the first segment of a plan that started inside this period (or period 0). */
  planStarts: boolean;
}

/**
 * Splits a period at the plan changes that fall inside it. `planAtStart` is the plan in
 * force at period.start; changes outside (start, end) are ignored, changes to the same
 * plan merge.
 */
export function segmentsOf(period: Period, planAtStart: string, changes: PlanChange[]): Segment[] {
  const usageEnd = period.final ? ceilHour(period.end) : floorHour(period.end);
  const cuts = changes.filter((c) => c.at > period.start && c.at < period.end).sort((a, b) => a.at - b.at);
  const out: Segment[] = [];
  let plan = planAtStart;
  let from = period.start;
  let starts = period.index === 0 && period.start === period.nominalStart;
  for (const c of cuts) {
    if (c.toPlanId === plan) continue;
    out.push(segment(plan, from, c.at, starts, usageEnd));
    plan = c.toPlanId;
    from = c.at;
    starts = true;
  }
  out.push(segment(plan, from, period.end, starts, usageEnd));
  // usage hours: the first segment starts at floorHour(period.start); inner cuts at the hour
  out[0]!.usageFrom = floorHour(period.start);
  out[out.length - 1]!.usageTo = usageEnd;
  return out;
}

function segment(planId: string, from: number, to: number, planStarts: boolean, usageEnd: number): Segment {
  return {
    planId,
    from,
    to,
    usageFrom: floorHour(from),
    usageTo: Math.min(floorHour(to), usageEnd),
    planStarts,
  };
}

/**
 * The recurring fee owed for [from, to) inside a nominal period, skipping any part before
 * `trialEndsAt` (no recurring fee during a trial).
 */
export function recurringFor(
  fee: Decimal,
  from: number,
  to: number,
  nominal: { start: number; end: number },
  trialEndsAt: number | null,
): { amount: Decimal; chargedFrom: number; share: Decimal } {
  const chargedFrom = trialEndsAt !== null ? Math.min(Math.max(from, trialEndsAt), to) : from;
  return {
    amount: prorate(fee, chargedFrom, to, nominal.start, nominal.end),
    chargedFrom,
    share: share(chargedFrom, to, nominal.start, nominal.end),
  };
}

/**
 * For in-advance billing: the credit for the unused part of a fee already paid for the
 * whole nominal period, when the plan ends at `at`. Negative (a credit).
 */
export function creditUnused(fee: Decimal, at: number, nominal: { start: number; end: number }): Decimal {
  return prorate(fee, Math.max(at, nominal.start), nominal.end, nominal.start, nominal.end).negated();
}
