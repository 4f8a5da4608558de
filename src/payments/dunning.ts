/**
 * Dunning: what happens while an invoice is past due. The processor retries the card on its
 * own schedule (Stripe's Smart Retries or the retry schedule set in its dashboard); Tollgate
 * counts days from the first failed payment and, after the plan's `suspendAfterDays`,
 * suspends the subscription — its keys answer 403 as soon as the gateway's snapshot reloads
 * (the catalog's change fan-out: in-process at once, over Redis on other nodes). When the
 * invoice is paid (or voided) and no other invoice of the subscription keeps it suspended,
 * the subscription resumes. The buyer is mailed at each step: payment failed, suspended,
 * payment received.
 *
 * Only suspensions made here are lifted here (`invoice_payments.suspended_at`): a
 * subscription an operator suspended for another reason stays suspended.
 */
import { DAY_MS } from '../billing/index.js';
import type { Clock, Logger } from '../shared/index.js';
import type { Db } from '../store/index.js';
import type { InvoicePaymentTable } from '../store/tables/payments.js';
import type { PaymentStatus } from './collect.js';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
}

export interface DunningDeps {
  db: Db;
  clock: Clock;
  log: Logger;
  /** Days past due before suspension when the plan sets no policy. */
  defaultSuspendAfterDays: number;
  suspend(subscriptionId: string): Promise<void>;
  resume(subscriptionId: string): Promise<void>;
  mail(msg: MailMessage): void | Promise<void>;
  /** Absolute base URL of the portal, for links in mail ('' when unknown). */
  portalUrl: string;
}

const OWING = ['past_due', 'uncollectible'];

export function createDunning(deps: DunningDeps) {
  const { db, clock, log } = deps;

  async function suspendAfterDays(planId: string): Promise<number | null> {
    const p = await db
      .selectFrom('dunning_policies')
      .select('suspend_after_days')
      .where('plan_id', '=', planId)
      .executeTakeFirst();
    return p ? p.suspend_after_days : deps.defaultSuspendAfterDays;
  }

  async function setPolicy(planId: string, days: number | null): Promise<void> {
    const now = clock.now();
    await db
      .insertInto('dunning_policies')
      .values({ plan_id: planId, suspend_after_days: days, updated_at: now })
      .onConflict((oc) => oc.column('plan_id').doUpdateSet({ suspend_after_days: days, updated_at: now }))
      .execute();
  }

  /** Who to mail about an invoice, and its number. */
  async function party(invoiceId: string) {
    return db
      .selectFrom('invoices')
      .innerJoin('consumers', 'consumers.id', 'invoices.consumer_id')
      .innerJoin('subscriptions', 'subscriptions.id', 'invoices.subscription_id')
      .leftJoin('portal_users', 'portal_users.consumer_id', 'consumers.id')
      .select([
        'invoices.number',
        'invoices.total',
        'invoices.currency',
        'consumers.email as consumer_email',
        'portal_users.email as user_email',
        'subscriptions.plan_id',
        'subscriptions.status as subscription_status',
      ])
      .where('invoices.id', '=', invoiceId)
      .executeTakeFirst();
  }

  async function mail(invoiceId: string, subject: (n: string) => string, text: string): Promise<void> {
    const p = await party(invoiceId);
    const to = p?.consumer_email ?? p?.user_email;
    if (!p || !to) return;
    try {
      await deps.mail({
        to,
        subject: subject(p.number),
        text: `${text}\n\n${deps.portalUrl}/account/billing\n`,
      });
    } catch (err) {
      log.warn({ err, invoice: invoiceId }, 'payments: dunning mail failed');
    }
  }

  /** Reacts to a payment status change (called by the collector). */
  async function changed(row: InvoicePaymentTable, from: PaymentStatus): Promise<void> {
    if (row.status === 'past_due' && from !== 'uncollectible') {
      const p = await party(row.invoice_id);
      const days = p ? await suspendAfterDays(p.plan_id) : null;
      await mail(
        row.invoice_id,
        (n) => `Payment failed for invoice ${n}`,
        `We could not charge your payment method for invoice ${p?.number}. We will retry it; you can also ` +
          'update your card on your billing page.' +
          (days === null ? '' : ` Access to the API is suspended if it is still unpaid after ${days} days.`),
      );
    }
    if ((row.status === 'paid' || row.status === 'void') && OWING.includes(from)) {
      if (row.status === 'paid')
        await mail(
          row.invoice_id,
          (n) => `Payment received for invoice ${n}`,
          'Thank you: the invoice is paid.',
        );
      if (row.suspended_at !== null) await resumeIfClear(row.subscription_id);
    }
  }

  async function resumeIfClear(subscriptionId: string): Promise<boolean> {
    const still = await db
      .selectFrom('invoice_payments')
      .select('invoice_id')
      .where('subscription_id', '=', subscriptionId)
      .where('suspended_at', 'is not', null)
      .where('status', 'in', OWING)
      .executeTakeFirst();
    if (still) return false;
    const sub = await db
      .selectFrom('subscriptions')
      .select('status')
      .where('id', '=', subscriptionId)
      .executeTakeFirst();
    if (sub?.status !== 'suspended') return false;
    await deps.resume(subscriptionId);
    log.info({ subscription: subscriptionId }, 'payments: subscription resumed after payment');
    return true;
  }

  /** Suspends subscriptions whose invoice has been past due longer than their plan allows. */
  async function sweep(): Promise<string[]> {
    const now = clock.now();
    const rows = await db
      .selectFrom('invoice_payments')
      .innerJoin('subscriptions', 'subscriptions.id', 'invoice_payments.subscription_id')
      .selectAll('invoice_payments')
      .select(['subscriptions.plan_id', 'subscriptions.status as subscription_status'])
      .where('invoice_payments.status', 'in', OWING)
      .where('invoice_payments.suspended_at', 'is', null)
      .execute();
    const suspended: string[] = [];
    for (const r of rows) {
      const days = await suspendAfterDays(r.plan_id);
      if (days === null || r.past_due_since === null) continue;
      if (now < Number(r.past_due_since) + days * DAY_MS) continue;
      // a subscription suspended for another reason is not claimed (and so never resumed) here
      if (!['trialing', 'active', 'cancel_pending'].includes(r.subscription_status)) continue;
      try {
        await deps.suspend(r.subscription_id);
      } catch (err) {
        log.error({ err, subscription: r.subscription_id }, 'payments: suspension failed');
        continue;
      }
      await db
        .updateTable('invoice_payments')
        .set({ suspended_at: now, updated_at: now })
        .where('invoice_id', '=', r.invoice_id)
        .execute();
      suspended.push(r.subscription_id);
      await mail(
        r.invoice_id,
        (n) => `API access suspended: invoice ${n} is unpaid`,
        `The invoice has been past due for ${days} days, so your API keys are suspended. ` +
          'They work again as soon as the invoice is paid.',
      );
    }
    return suspended;
  }

  return { sweep, changed, setPolicy, suspendAfterDays, resumeIfClear };
}

export type Dunning = ReturnType<typeof createDunning>;
