/**
 * The billing run: closes every period that has ended, for every billable subscription or
 * for one.
 *
 * Per subscription, the next period starts where its last invoice ended (or at its start);
 * periods whose end ≤ `until` are rated and written, one transaction per invoice, in order.
 * Running twice creates nothing new: the cursor skips invoiced periods and the unique
 * (subscription_id, period_start) constraint stops a concurrent run (that subscription is
 * left to it). Cancelled subscriptions get a final partial period ending at `cancelled_at`.
 * Each period is rated and written in one transaction under the subscription's row lock
 * (rateAndWrite), the lock usage events take before they check for an invoice: an event
 * accepted before the invoice is in it, one sent after is refused. Whether a period has
 * ended is decided from prices and plan changes first (periodAt), so the current period of
 * each subscription — all a rerun or a routine scheduler cycle finds — costs no transaction.
 * `pending` subscriptions and plans without a price are skipped and reported.
 *
 * Failure: an error on one subscription is logged and reported; the run goes on with the
 * others, and that subscription is retried on the next run from its first missing period.
 */
import type { Clock, Logger } from '../shared/index.js';
import type { Db } from '../store/index.js';
import type { Emit, InvoiceSummary } from './invoices.js';
import { loadPrices } from './prices.js';
import {
  type DeploymentSource,
  loadChanges,
  periodAt,
  type RateContext,
  type RatedPeriod,
  rateAndWrite,
  ratePeriodAt,
  type SubRow,
  subscriptionRows,
} from './rate-period.js';

export type { DeploymentSource, SubRow } from './rate-period.js';
export { loadChanges, planAt, ratePeriodAt, subscriptionRows } from './rate-period.js';

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

async function billSubscription(
  deps: RunDeps,
  sub: SubRow,
  ctx: RateContext & { until: number; cursor: number; finalize: boolean; result: RunResult },
): Promise<void> {
  const planned = ctx.result.planned;
  let cursor = ctx.cursor;
  for (;;) {
    // A period that has not ended (every subscription's current one, on every cycle) is told
    // from prices alone: no rating and no transaction for it.
    const next = periodAt(sub, ctx, cursor);
    if (next.kind === 'unpriced') {
      ctx.result.skipped.push({ subscriptionId: sub.id, reason: next.reason });
      return;
    }
    if (next.kind === 'ended' || next.period.end > ctx.until) return;
    let r: RatedPeriod;
    let inv: InvoiceSummary | null = null;
    if (planned) {
      r = await ratePeriodAt(deps, sub, ctx, cursor);
    } else {
      const written = await rateAndWrite(deps, sub, ctx, cursor, (rated) =>
        rated.period.end > ctx.until
          ? null
          : {
              providerId: sub.provider_id,
              consumerId: sub.consumer_id,
              subscriptionId: sub.id,
              periodStart: rated.period.start,
              periodEnd: rated.period.end,
              currency: rated.currency,
              subtotal: rated.subtotal,
              lines: rated.lines,
              status: 'draft',
              closes: rated.period.final,
            },
      );
      if (written === 'taken') return; // a concurrent run is billing this subscription
      r = written.rated;
      inv = written.invoice;
    }
    if (r.kind === 'unpriced') {
      ctx.result.skipped.push({ subscriptionId: sub.id, reason: r.reason });
      return;
    }
    if (r.kind === 'ended' || r.period.end > ctx.until) return;
    const { period } = r;
    if (planned)
      planned.push({
        subscriptionId: sub.id,
        periodStart: new Date(period.start).toISOString(),
        periodEnd: new Date(period.end).toISOString(),
        currency: r.currency,
        total: r.subtotal,
      });
    if (inv) {
      ctx.result.created++;
      ctx.result.invoiceIds.push(inv.id);
      if (ctx.finalize && deps.finalize) await deps.finalize(inv.id);
    }
    if (period.final) return;
    cursor = period.end;
  }
}
