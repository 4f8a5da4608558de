/**
 * Rating one period of one subscription, the rule a billing run, a re-issue and the buyer's
 * estimate all use (ratePeriodAt), and writing it as an invoice under the subscription's
 * row lock (rateAndWrite).
 */

import type { Clock } from '../shared/index.js';
import { type Db, lockSubscription } from '../store/index.js';
import type { Emit, InvoiceSummary, NewInvoice } from './invoices.js';
import { insertInvoice, isPeriodTaken } from './invoices.js';
import { DAY_MS, nextPeriod, type Period } from './periods.js';
import { type PriceRecord, priceInForce } from './prices.js';
import type { DeploymentSpan } from './pricing.js';
import { billingEpochs, type Cycle, epochAt, type PlanChange, segmentsOf } from './proration.js';
import { type LineDraft, type RatingSegment, ratePeriod } from './rating.js';

/** What rating and writing a period need. */
export interface RateDeps {
  db: Db;
  clock: Clock;
  emit: Emit;
  deployments?: (() => DeploymentSource | undefined) | undefined;
}

/** Where per-deployment charges get their quantity timeline (wholesale licences). */
export type DeploymentSource = (q: {
  subscriptionId: string;
  dimension: string;
  from: number;
  to: number;
}) => Promise<DeploymentSpan[]>;

export interface SubRow {
  id: string;
  consumer_id: string;
  plan_id: string;
  status: string;
  started_at: number;
  trial_ends_at: number | null;
  cancelled_at: number | null;
  provider_id: string;
}

/** The subscription rows billing reads (with the plan's provider). */
export function subscriptionRows(db: Db) {
  return db
    .selectFrom('subscriptions')
    .innerJoin('plans', 'plans.id', 'subscriptions.plan_id')
    .select([
      'subscriptions.id',
      'subscriptions.consumer_id',
      'subscriptions.plan_id',
      'subscriptions.status',
      'subscriptions.started_at',
      'subscriptions.trial_ends_at',
      'subscriptions.cancelled_at',
      'plans.provider_id',
    ]);
}

export async function loadChanges(db: Db, subscriptionIds: string[]): Promise<Map<string, PlanChange[]>> {
  const q = db
    .selectFrom('plan_changes')
    .selectAll()
    .where('subscription_id', 'in', subscriptionIds)
    .orderBy('subscription_id')
    .orderBy('at');
  const out = new Map<string, PlanChange[]>();
  for (const r of await q.execute()) {
    const list = out.get(r.subscription_id) ?? [];
    list.push({ at: Number(r.at), fromPlanId: r.from_plan_id, toPlanId: r.to_plan_id });
    out.set(r.subscription_id, list);
  }
  return out;
}

/** The plan in force at `t`, from the recorded changes (sorted by time). */
export function planAt(currentPlanId: string, changes: PlanChange[], t: number): string {
  let plan = changes.length > 0 ? changes[0]!.fromPlanId : currentPlanId;
  for (const c of changes) if (c.at <= t) plan = c.toPlanId;
  return plan;
}

/** What rating needs besides the subscription: prices, plan changes, where billing ends. */
export interface RateContext {
  prices: Map<string, PriceRecord[]>;
  changes: PlanChange[];
  /** Close the subscription's billing at this instant (a final partial period). */
  endAt: number | null;
  planNames: Map<string, string>;
}

export type RatedPeriod =
  | { kind: 'rated'; period: Period; currency: string; lines: LineDraft[]; subtotal: string }
  | { kind: 'ended' }
  | { kind: 'unpriced'; reason: string };

/** The period of `sub` that starts at `cursor`, and what rating it starts from. */
export type PeriodAt =
  | {
      kind: 'period';
      period: Period;
      /** The anchor of the billing epoch the period belongs to (its interval's periods count from it). */
      epochAnchor: number;
      startPlan: string;
      startPrice: PriceRecord;
    }
  | { kind: 'ended' }
  | { kind: 'unpriced'; reason: string };

/**
 * Which period of `sub` starts at `cursor` (a period boundary, or the subscription's start),
 * from its prices and plan changes alone — no reads, so a run can tell a period that has not
 * ended yet before it opens a transaction for it. `ended` when the subscription's billing
 * ended at or before `cursor`.
 */
export function periodAt(sub: SubRow, ctx: RateContext, cursor: number): PeriodAt {
  const anchor = Number(sub.started_at);
  const cancels = [sub.cancelled_at === null ? null : Number(sub.cancelled_at), ctx.endAt].filter(
    (t): t is number => t !== null,
  );
  const cancelledAt = cancels.length > 0 ? Math.min(...cancels) : null;
  const cycleOf = (planId: string, at: number): Cycle | null => {
    const p = priceInForce(ctx.prices.get(planId), at)?.price;
    return p ? { interval: p.interval, time: p.billingTime ?? 'anniversary' } : null;
  };
  const first = cycleOf(planAt(sub.plan_id, ctx.changes, anchor), anchor);
  const epochs = billingEpochs(
    anchor,
    first ?? { interval: 'month', time: 'anniversary' },
    ctx.changes,
    cycleOf,
  );
  const startPlan = planAt(sub.plan_id, ctx.changes, cursor);
  const startPrice = priceInForce(ctx.prices.get(startPlan), cursor);
  if (!startPrice) return { kind: 'unpriced', reason: `plan ${startPlan} has no price` };
  const { epoch, nextFrom } = epochAt(epochs, cursor);
  let period = nextPeriod(epoch.anchor, epoch.interval, cursor, cancelledAt);
  if (!period) return { kind: 'ended' };
  // a change of interval ends the period at the change; the new interval's periods begin there
  if (nextFrom !== null && nextFrom < period.end) period = { ...period, end: nextFrom, final: false };
  return { kind: 'period', period, epochAnchor: epoch.anchor, startPlan, startPrice };
}

/**
 * Rates the period of `sub` that starts at `cursor` (a period boundary, or the subscription's
 * start): the one rule a billing run, a re-issue and the buyer's estimate all use. `ended`
 * when the subscription's billing ended at or before `cursor`.
 */
export async function ratePeriodAt(
  deps: Pick<RateDeps, 'db' | 'deployments'>,
  sub: SubRow,
  ctx: RateContext,
  cursor: number,
): Promise<RatedPeriod> {
  const at = periodAt(sub, ctx, cursor);
  if (at.kind !== 'period') return at;
  const { period, startPlan, startPrice } = at;
  const anchor = Number(sub.started_at);
  const segments: RatingSegment[] = [];
  for (const s of segmentsOf(period, startPlan, ctx.changes, period.start === anchor)) {
    const rec = priceInForce(ctx.prices.get(s.planId), s.from);
    if (!rec) throw new Error(`plan ${s.planId} has no price`);
    const usage = await usageFor(deps.db, sub.id, s.usageFrom, s.usageTo);
    const deployments: Record<string, DeploymentSpan[]> = {};
    const source = deps.deployments?.();
    for (const c of rec.price.charges)
      if (c.model === 'per_deployment' && source)
        deployments[c.dimension] = await source({
          subscriptionId: sub.id,
          dimension: c.dimension,
          from: s.from,
          to: s.to,
        });
    segments.push({ ...s, price: rec.price, priceId: rec.id, planName: s.planId, usage, deployments });
  }
  const trialEndsAt =
    sub.trial_ends_at !== null
      ? Number(sub.trial_ends_at)
      : startPrice.price.trialDays > 0
        ? anchor + startPrice.price.trialDays * DAY_MS
        : null;
  const rated = ratePeriod({
    period,
    anchor: at.epochAnchor,
    currency: startPrice.price.currency,
    trialEndsAt,
    segments: await named(deps.db, segments, ctx.planNames),
  });
  return { kind: 'rated', period, currency: startPrice.price.currency, ...rated };
}

type Rated = Extract<RatedPeriod, { kind: 'rated' }>;

/**
 * Rates the period of `sub` at `cursor` and writes the invoice `build` makes of it (null:
 * nothing to write) in one transaction, under the subscription's row lock. Usage events
 * take the same lock before they check whether their period is invoiced, so the usage rated
 * here is final for the period: an event is either committed before (and in this invoice)
 * or sees the invoice and is refused. `taken`: a concurrent run invoiced the period first.
 *
 * Deployment timelines (wholesale) are read through the licences module, outside this
 * transaction: they are fetched by a first rating before the lock and replayed inside it.
 */
export async function rateAndWrite(
  deps: RateDeps,
  sub: SubRow,
  ctx: RateContext,
  cursor: number,
  build: (rated: Rated) => NewInvoice | null,
): Promise<{ rated: RatedPeriod; invoice: InvoiceSummary | null } | 'taken'> {
  let deployments = deps.deployments;
  if (usesDeployments(sub, ctx)) {
    const seen = new Map<string, DeploymentSpan[]>();
    const source = deps.deployments?.();
    if (source) {
      const recording: DeploymentSource = async (q) => {
        const spans = await source(q);
        seen.set(JSON.stringify(q), spans);
        return spans;
      };
      await ratePeriodAt({ ...deps, deployments: () => recording }, sub, ctx, cursor);
      const replay: DeploymentSource = async (q) => seen.get(JSON.stringify(q)) ?? source(q);
      deployments = () => replay;
    }
  }
  try {
    return await deps.db.transaction().execute(async (tx) => {
      await lockSubscription(tx, sub.id);
      const rated = await ratePeriodAt({ db: tx, deployments }, sub, ctx, cursor);
      const inv = rated.kind === 'rated' ? build(rated) : null;
      return { rated, invoice: inv ? await insertInvoice(tx, deps.clock.now(), inv, deps.emit) : null };
    });
  } catch (e) {
    if (isPeriodTaken(e)) return 'taken';
    throw e;
  }
}

/** Whether any price the subscription may meet charges per deployment (wholesale). */
function usesDeployments(sub: SubRow, ctx: RateContext): boolean {
  const plans = new Set([sub.plan_id, ...ctx.changes.flatMap((c) => [c.fromPlanId, c.toPlanId])]);
  return [...plans].some((p) =>
    ctx.prices.get(p)?.some((r) => r.price.charges.some((c) => c.model === 'per_deployment')),
  );
}

async function usageFor(
  db: Db,
  subscriptionId: string,
  from: number,
  to: number,
): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  if (to <= from) return out;
  const rows = await db
    .selectFrom('usage')
    .select(['dimension', (eb) => eb.fn.sum<number>('units').as('units')])
    .where('subscription_id', '=', subscriptionId)
    .where('hour', '>=', from)
    .where('hour', '<', to)
    .groupBy('dimension')
    .execute();
  for (const r of rows) out[r.dimension] = Number(r.units);
  return out;
}

/** Plan names for line descriptions (cached for the run). */
async function named(
  db: Db,
  segments: RatingSegment[],
  cache: Map<string, string>,
): Promise<RatingSegment[]> {
  const missing = [...new Set(segments.map((s) => s.planId))].filter((p) => !cache.has(p));
  if (missing.length > 0)
    for (const r of await db.selectFrom('plans').select(['id', 'name']).where('id', 'in', missing).execute())
      cache.set(r.id, r.name);
  return segments.map((s) => ({ ...s, planName: cache.get(s.planId) ?? s.planId }));
}
