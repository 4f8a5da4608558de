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
import {
  anchorFor,
  type BillingTime,
  ceilHour,
  floorHour,
  type Interval,
  type Period,
  prorate,
  share,
} from './periods.js';

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
 * force at period.start; changes outside (start, end) are ignored (a change at exactly
 * period.start only marks its plan as starting, for the setup fee), changes to the same
 * plan merge.
 */
export function segmentsOf(
  period: Period,
  planAtStart: string,
  changes: PlanChange[],
  /** The subscription starts in this period (default: period 0 starting on its nominal start). */
  opening = period.index === 0 && period.start === period.nominalStart,
): Segment[] {
  const usageEnd = period.final ? ceilHour(period.end) : floorHour(period.end);
  const cuts = changes.filter((c) => c.at > period.start && c.at < period.end).sort((a, b) => a.at - b.at);
  const out: Segment[] = [];
  let plan = planAtStart;
  let from = period.start;
  // a plan starts in the subscription's opening period, or when it took over exactly at the period's start
  let starts =
    opening ||
    changes.some((c) => c.at === period.start && c.toPlanId === planAtStart && c.fromPlanId !== c.toPlanId);
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

/**
 * Where periods are anchored, over a subscription's life. Periods run from the
 * subscription's start in its first plan's cycle (interval and billing time); a change to a
 * plan with another cycle ends the current period at the change and starts the new cycle's
 * periods there (a calendar cycle's first one runs to the next 1st) (each segment is rated on its own interval, never one plan's fee over another's
 * period). `cycleOf` answers a plan's cycle at an instant (null: no price, keep the
 * current one).
 */
export interface Epoch {
  from: number;
  anchor: number;
  interval: Interval;
  time: BillingTime;
}

/** How a plan's periods run: the interval and where periods begin. */
export interface Cycle {
  interval: Interval;
  time: BillingTime;
}

export function billingEpochs(
  startedAt: number,
  first: Cycle,
  changes: PlanChange[],
  cycleOf: (planId: string, at: number) => Cycle | null,
): Epoch[] {
  const epoch = (from: number, c: Cycle) => ({
    from,
    anchor: anchorFor(from, c.interval, c.time),
    interval: c.interval,
    time: c.time,
  });
  const out = [epoch(startedAt, first)];
  for (const c of [...changes].sort((a, b) => a.at - b.at)) {
    const current = out[out.length - 1]!;
    const next = cycleOf(c.toPlanId, c.at);
    if (
      next === null ||
      (next.interval === current.interval && next.time === current.time) ||
      c.at < startedAt
    )
      continue;
    if (c.at === current.from) out[out.length - 1] = epoch(c.at, next);
    else out.push(epoch(c.at, next));
  }
  return out;
}

/** The epoch in force at `t` and the instant the next one starts (null: none). */
export function epochAt(epochs: Epoch[], t: number): { epoch: Epoch; nextFrom: number | null } {
  let i = 0;
  while (i + 1 < epochs.length && epochs[i + 1]!.from <= t) i++;
  return { epoch: epochs[i]!, nextFrom: epochs[i + 1]?.from ?? null };
}
