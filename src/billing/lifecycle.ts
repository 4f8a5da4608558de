/**
 * Two things a person does outside the billing cycle, on the same rating rule as the run
 * (run.ts `ratePeriodAt`):
 *
 * - Re-issue a void invoice: the same subscription and period rated again (under the
 *   subscription's row lock, like a billing run) from what the store holds now (usage hours, the price versions in force in that period, plan
 *   changes), written as a new draft with the next number and `reissueOf` naming the void
 *   one. The draft then follows the ordinary path (reviewed, finalized by a person or by the
 *   scheduler after the review window). A void invoice is re-issued at most once (re-issue
 *   the replacement if it is voided too); the unique index over invoices that are not void
 *   stops two racing re-issues.
 * - Estimate the upcoming invoice: the next period the subscription will be invoiced for
 *   (the one after its last invoice), rated with the usage recorded so far, written nowhere.
 *   While that period runs it is an estimate; the buyer's pages say so.
 */
import { notFound, TollgateError } from '../shared/index.js';
import type { Emit, InvoiceSummary } from './invoices.js';
import { loadPrices } from './prices.js';
import { loadChanges, rateAndWrite, ratePeriodAt, subscriptionRows } from './rate-period.js';
import type { LineDraft } from './rating.js';
import type { RunDeps } from './run.js';

export interface Estimate {
  subscriptionId: string;
  periodStart: string;
  periodEnd: string;
  /** True when the period has not ended yet (usage may still come). */
  running: boolean;
  currency: string;
  lines: LineDraft[];
  total: string;
}

async function context(deps: Pick<RunDeps, 'db'>, subscriptionId: string, endAt: number | null) {
  const sub = await subscriptionRows(deps.db)
    .where('subscriptions.id', '=', subscriptionId)
    .executeTakeFirst();
  if (!sub) throw notFound('subscription', subscriptionId);
  const [prices, changes] = await Promise.all([loadPrices(deps.db), loadChanges(deps.db, [subscriptionId])]);
  return {
    sub,
    ctx: { prices, changes: changes.get(subscriptionId) ?? [], endAt, planNames: new Map<string, string>() },
  };
}

export async function reissueInvoice(
  deps: RunDeps & { emit: Emit },
  id: string,
  actor: string,
): Promise<InvoiceSummary> {
  const old = await deps.db.selectFrom('invoices').selectAll().where('id', '=', id).executeTakeFirst();
  if (!old) throw notFound('invoice', id);
  if (old.status !== 'void')
    throw new TollgateError(
      'INVALID_STATE',
      `invoice ${old.number} is ${old.status}; only a void invoice can be re-issued (void it first)`,
    );
  const again = await deps.db
    .selectFrom('invoices')
    .select('number')
    .where('reissue_of', '=', id)
    .executeTakeFirst();
  if (again)
    throw new TollgateError('CONFLICT', `invoice ${old.number} was already re-issued as ${again.number}`);
  const closes = Number(old.closes_subscription) === 1;
  const { sub, ctx } = await context(deps, old.subscription_id, closes ? Number(old.period_end) : null);
  let mismatch = false;
  const written = await rateAndWrite(deps, sub, ctx, Number(old.period_start), (r) => {
    if (r.period.end !== Number(old.period_end)) {
      mismatch = true;
      return null;
    }
    return {
      providerId: old.provider_id,
      consumerId: old.consumer_id,
      subscriptionId: old.subscription_id,
      periodStart: r.period.start,
      periodEnd: r.period.end,
      currency: r.currency,
      subtotal: r.subtotal,
      lines: r.lines,
      status: 'draft',
      closes,
      reissue: { of: old.id, actor },
    };
  });
  if (written === 'taken')
    throw new TollgateError(
      'CONFLICT',
      `invoice ${old.number} was re-issued meanwhile (its period is invoiced)`,
    );
  const r = written.rated;
  if (r.kind === 'unpriced') throw new TollgateError('INVALID_STATE', `cannot re-issue: ${r.reason}`);
  if (r.kind === 'ended' || mismatch || !written.invoice)
    throw new TollgateError(
      'INVALID_STATE',
      `cannot re-issue ${old.number}: the subscription's periods no longer match it`,
    );
  return written.invoice;
}

/** The upcoming invoice of a subscription, or null when its billing has ended or it has no price. */
export async function estimateNext(
  deps: Pick<RunDeps, 'db' | 'clock' | 'deployments'>,
  subscriptionId: string,
): Promise<Estimate | null> {
  const { sub, ctx } = await context(deps, subscriptionId, null);
  if (sub.status === 'pending') return null;
  const last = await deps.db
    .selectFrom('invoices')
    .select([
      (eb) => eb.fn.max('period_end').as('end'),
      (eb) => eb.fn.max('closes_subscription').as('closed'),
    ])
    .where('subscription_id', '=', subscriptionId)
    .executeTakeFirst();
  if (Number(last?.closed ?? 0) === 1) return null;
  const cursor = last?.end != null ? Number(last.end) : Number(sub.started_at);
  const r = await ratePeriodAt(deps, sub, ctx, cursor);
  if (r.kind !== 'rated') return null;
  return {
    subscriptionId,
    periodStart: new Date(r.period.start).toISOString(),
    periodEnd: new Date(r.period.end).toISOString(),
    running: r.period.end > deps.clock.now(),
    currency: r.currency,
    lines: r.lines,
    total: r.subtotal,
  };
}
