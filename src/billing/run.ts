/**
 * The billing run: closes every period that has ended, for every billable subscription or
 * for one.
 *
 * Per subscription, the next period starts where its last invoice ended (or at its start);
 * periods whose end ≤ `until` are rated and written, one transaction per invoice, in order.
 * Running twice creates nothing new: the cursor skips invoiced periods and the unique
 * (subscription_id, period_start) constraint stops a concurrent run (writeInvoice returns
 * null). Cancelled subscriptions get a final partial period ending at `cancelled_at`.
 * `pending` subscriptions and plans without a price are skipped and reported.
 *
 * Failure: an error on one subscription is logged and reported; the run goes on with the
 * others, and that subscription is retried on the next run from its first missing period.
 */
import type { Clock, Logger } from '../shared/index.js';
import type { Db } from '../store/index.js';
import type { Emit } from './invoices.js';
import { writeInvoice } from './invoices.js';
import { DAY_MS, nextPeriod, type Period } from './periods.js';
import { loadPrices, type PriceRecord, priceInForce } from './prices.js';
import type { DeploymentSpan } from './pricing.js';
import { billingEpochs, type Cycle, epochAt, type PlanChange, segmentsOf } from './proration.js';
import { type LineDraft, type RatingSegment, ratePeriod } from './rating.js';

/** Where per-deployment charges get their quantity timeline (wholesale licences). */
export type DeploymentSource = (q: {
  subscriptionId: string;
  dimension: string;
  from: number;
  to: number;
}) => Promise<DeploymentSpan[]>;

export interface RunDeps {
  db: Db;
  clock: Clock;
  log: Logger;
  emit: Emit;
  deployments?: () => DeploymentSource | undefined;
  /** Finalizes a freshly written draft (`finalize: true`): the service's one finalize path. */
  finalize?: (invoiceId: string) => Promise<unknown>;
}

export interface RunOptions {
  subscriptionId?: string;
  until?: number;
  finalize?: boolean;
  /** Close the subscription's billing at this instant (final partial period), see closeSubscription. */
  endAt?: number;
  /** Rate every ended period but write nothing: the result lists what would be invoiced. */
  dryRun?: boolean;
  /** Called after each page of subscriptions (for a progress line). */
  onProgress?: (r: RunResult) => void;
}

/** An invoice a dry run would write. */
export interface PlannedInvoice {
  subscriptionId: string;
  periodStart: string;
  periodEnd: string;
  currency: string;
  total: string;
}

export interface RunResult {
  until: string;
  subscriptions: number;
  created: number;
  invoiceIds: string[];
  skipped: Array<{ subscriptionId: string; reason: string }>;
  failed: Array<{ subscriptionId: string; error: string }>;
  ms: number;
  /** Dry runs only: the invoices a real run would write, in order. */
  planned?: PlannedInvoice[];
}

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

/** Subscriptions are read in pages of this many (keeps memory flat for any number). */
const PAGE = 1000;

export async function runBilling(deps: RunDeps, options: RunOptions = {}): Promise<RunResult> {
  const t0 = performance.now();
  const { db, clock, log } = deps;
  const until = Math.min(options.until ?? clock.now(), clock.now());
  const prices = await loadPrices(db);
  const planNames = new Map<string, string>();
  const result: RunResult = {
    until: new Date(until).toISOString(),
    subscriptions: 0,
    created: 0,
    invoiceIds: [],
    skipped: [],
    failed: [],
    ms: 0,
    ...(options.dryRun ? { planned: [] } : {}),
  };
  let after = '';
  for (;;) {
    let sq = subscriptionRows(db)
      .where('subscriptions.status', '!=', 'pending')
      .where('subscriptions.started_at', '<', until)
      .where('subscriptions.id', '>', after)
      .orderBy('subscriptions.id')
      .limit(PAGE);
    if (options.subscriptionId) sq = sq.where('subscriptions.id', '=', options.subscriptionId);
    const subs = (await sq.execute()) as SubRow[];
    if (subs.length === 0) break;
    after = subs[subs.length - 1]!.id;
    result.subscriptions += subs.length;
    const ids = subs.map((s) => s.id);
    const changes = await loadChanges(db, ids);
    const lastEnd = new Map<string, number>();
    const ends = await db
      .selectFrom('invoices')
      .select([
        'subscription_id',
        (eb) => eb.fn.max('period_end').as('last_end'),
        (eb) => eb.fn.max('closes_subscription').as('closed'),
      ])
      .where('subscription_id', 'in', ids)
      .groupBy('subscription_id')
      .execute();
    const closed = new Set<string>();
    for (const r of ends) {
      lastEnd.set(r.subscription_id, Number(r.last_end));
      if (Number(r.closed) === 1) closed.add(r.subscription_id);
    }
    for (const sub of subs) {
      if (closed.has(sub.id)) continue;
      try {
        await billSubscription(deps, sub, {
          until,
          cursor: lastEnd.get(sub.id) ?? Number(sub.started_at),
          prices,
          changes: changes.get(sub.id) ?? [],
          finalize: options.finalize ?? false,
          endAt: options.endAt ?? null,
          result,
          planNames,
        });
      } catch (e) {
        log.error({ err: e, subscription: sub.id }, 'billing run failed for a subscription');
        result.failed.push({ subscriptionId: sub.id, error: e instanceof Error ? e.message : String(e) });
      }
    }
    options.onProgress?.(result);
    if (subs.length < PAGE) break;
  }
  result.ms = Math.round(performance.now() - t0);
  log.info(
    {
      created: result.created,
      subscriptions: result.subscriptions,
      failed: result.failed.length,
      ms: result.ms,
    },
    'billing run',
  );
  return result;
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

/**
 * Rates the period of `sub` that starts at `cursor` (a period boundary, or the subscription's
 * start): the one rule a billing run, a re-issue and the buyer's estimate all use. `ended`
 * when the subscription's billing ended at or before `cursor`.
 */
export async function ratePeriodAt(
  deps: Pick<RunDeps, 'db' | 'deployments'>,
  sub: SubRow,
  ctx: RateContext,
  cursor: number,
): Promise<RatedPeriod> {
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
    anchor: epoch.anchor,
    currency: startPrice.price.currency,
    trialEndsAt,
    segments: await named(deps.db, segments, ctx.planNames),
  });
  return { kind: 'rated', period, currency: startPrice.price.currency, ...rated };
}

async function billSubscription(
  deps: RunDeps,
  sub: SubRow,
  ctx: RateContext & { until: number; cursor: number; finalize: boolean; result: RunResult },
): Promise<void> {
  let cursor = ctx.cursor;
  for (;;) {
    const r = await ratePeriodAt(deps, sub, ctx, cursor);
    if (r.kind === 'unpriced') {
      ctx.result.skipped.push({ subscriptionId: sub.id, reason: r.reason });
      return;
    }
    if (r.kind === 'ended' || r.period.end > ctx.until) return;
    const { period } = r;
    if (ctx.result.planned) {
      ctx.result.planned.push({
        subscriptionId: sub.id,
        periodStart: new Date(period.start).toISOString(),
        periodEnd: new Date(period.end).toISOString(),
        currency: r.currency,
        total: r.subtotal,
      });
      if (period.final) return;
      cursor = period.end;
      continue;
    }
    const inv = await writeInvoice(
      deps.db,
      deps.clock.now(),
      {
        providerId: sub.provider_id,
        consumerId: sub.consumer_id,
        subscriptionId: sub.id,
        periodStart: period.start,
        periodEnd: period.end,
        currency: r.currency,
        subtotal: r.subtotal,
        lines: r.lines,
        status: 'draft',
        closes: period.final,
      },
      deps.emit,
    );
    if (inv) {
      ctx.result.created++;
      ctx.result.invoiceIds.push(inv.id);
      if (ctx.finalize && deps.finalize) await deps.finalize(inv.id);
    }
    if (period.final) return;
    cursor = period.end;
  }
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
