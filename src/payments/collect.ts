/**
 * Collection: every Tollgate invoice that becomes `open` gets an `invoice_payments` row
 * (`pending`), written by billing's onFinalized listener; the collector turns pending rows
 * into processor invoices — one item per Tollgate line, in minor units, same currency,
 * Tollgate's id and number in metadata — finalized and charged (card on file) or emailed.
 * A zero (or credit) total is marked paid at once, without the processor.
 *
 * Durable and retried: a failed or interrupted collection stays `pending` with a backoff
 * (1 min doubling to 6 h), and the processor's idempotency keys make the retry reuse what
 * the first attempt created. A crash between finalize and the listener is covered by
 * `enqueueOpen()`, which sweeps open invoices that have no row.
 *
 * `applyRemote` is the one place where the processor's view of an invoice changes
 * Tollgate's: collection, webhooks and reconciliation all go through it, so they agree.
 */
import { Decimal } from 'decimal.js';
import type { Billing, InvoiceSummary } from '../billing/index.js';
import { minorUnits } from '../billing/index.js';
import type { Clock, Logger } from '../shared/index.js';
import type { Db } from '../store/index.js';
import type { InvoicePaymentTable } from '../store/tables/payments.js';
import type { Connections } from './connections.js';
import { ensureCustomer } from './customers.js';
import { ProcessorError, type RemoteInvoice } from './processor.js';

export type PaymentStatus = 'pending' | 'open' | 'past_due' | 'paid' | 'void' | 'uncollectible';

export interface CollectDeps {
  db: Db;
  clock: Clock;
  log: Logger;
  billing: Pick<Billing, 'getInvoice' | 'markPaid' | 'void'>;
  connections: Connections;
  /** Days a buyer has to pay an emailed invoice. */
  daysUntilDue: number;
  /** Told when an invoice's payment status changed (dunning mails, resumes). */
  changed(row: InvoicePaymentTable, from: PaymentStatus): Promise<void>;
}

const BACKOFF_MIN = 60_000;
const BACKOFF_MAX = 6 * 3600_000;

/** An amount in the currency's minor unit (invoice lines are already rounded to it). */
export function toMinor(amount: string, currency: string): number {
  const v = new Decimal(amount).mul(new Decimal(10).pow(minorUnits(currency)));
  if (!v.isInteger()) throw new Error(`${amount} ${currency} is not a whole number of minor units`);
  return v.toNumber();
}

export function createCollector(deps: CollectDeps) {
  const { db, clock, log } = deps;

  const load = (invoiceId: string) =>
    db.selectFrom('invoice_payments').selectAll().where('invoice_id', '=', invoiceId).executeTakeFirst();

  /** Records that an open invoice is to be collected (idempotent); zero totals are paid now. */
  async function enqueue(inv: InvoiceSummary): Promise<void> {
    const now = clock.now();
    const free = new Decimal(inv.total).lte(0);
    const inserted = await db
      .insertInto('invoice_payments')
      .values({
        invoice_id: inv.id,
        provider_id: inv.providerId,
        subscription_id: inv.subscriptionId,
        status: free ? 'paid' : 'pending',
        reference: null,
        hosted_url: null,
        past_due_since: null,
        suspended_at: null,
        attempts: 0,
        last_error: null,
        next_attempt_at: free ? null : now,
        created_at: now,
        updated_at: now,
      })
      .onConflict((oc) => oc.column('invoice_id').doNothing())
      .returning('invoice_id')
      .executeTakeFirst();
    if (inserted && free) await markPaid(inv.id, 'payments:zero-amount');
  }

  async function markPaid(invoiceId: string, actor: string): Promise<void> {
    const inv = await deps.billing.getInvoice(invoiceId);
    if (inv.status === 'open') await deps.billing.markPaid(invoiceId, actor);
  }

  /** Open invoices without a payment row (finalized while this process was down). */
  async function enqueueOpen(): Promise<number> {
    const rows = await db
      .selectFrom('invoices')
      .leftJoin('invoice_payments', 'invoice_payments.invoice_id', 'invoices.id')
      .select('invoices.id')
      .where('invoices.status', '=', 'open')
      .where('invoice_payments.invoice_id', 'is', null)
      .limit(1000)
      .execute();
    for (const r of rows) await enqueue(await deps.billing.getInvoice(r.id));
    return rows.length;
  }

  async function collectOne(row: InvoicePaymentTable): Promise<void> {
    const conn = await deps.connections.processorFor(row.provider_id);
    if (!conn) throw new ProcessorError('no payment processor is connected for this provider', true);
    const inv = await deps.billing.getInvoice(row.invoice_id);
    if (inv.status !== 'open') {
      // paid or voided by hand meanwhile: nothing to collect
      await setStatus(row, inv.status === 'paid' ? 'paid' : 'void', {});
      return;
    }
    const customer = await ensureCustomer(db, clock.now(), conn.processor, inv.providerId, inv.consumerId);
    const remote = await conn.processor.collect({
      id: inv.id,
      number: inv.number,
      currency: inv.currency,
      customerRef: customer.customerRef,
      lines: inv.lines.map((l) => ({
        description: l.description,
        amountMinor: toMinor(l.amount, inv.currency),
      })),
      charge: customer.paymentMethodRef !== null,
      daysUntilDue: deps.daysUntilDue,
    });
    await applyRemote(row.invoice_id, remote, `${conn.processor.name}:collect`);
  }

  /** Collects every pending row that is due; returns how many were attempted. */
  async function collectDue(): Promise<number> {
    const now = clock.now();
    const due = await db
      .selectFrom('invoice_payments')
      .selectAll()
      .where('status', '=', 'pending')
      .where('next_attempt_at', '<=', now)
      .orderBy('next_attempt_at')
      .limit(100)
      .execute();
    for (const row of due) {
      try {
        await collectOne(row);
      } catch (e) {
        const attempts = Number(row.attempts) + 1;
        const retryable = !(e instanceof ProcessorError) || e.retryable;
        const wait = Math.min(BACKOFF_MAX, BACKOFF_MIN * 2 ** (attempts - 1));
        log.warn(
          { err: (e as Error).message, invoice: row.invoice_id, attempts },
          'payments: collection failed',
        );
        await db
          .updateTable('invoice_payments')
          .set({
            attempts,
            last_error: (e as Error).message.slice(0, 500),
            next_attempt_at: now + (retryable ? wait : BACKOFF_MAX),
            updated_at: now,
          })
          .where('invoice_id', '=', row.invoice_id)
          .execute();
      }
    }
    return due.length;
  }

  async function setStatus(
    row: InvoicePaymentTable,
    status: PaymentStatus,
    extra: Partial<InvoicePaymentTable>,
  ): Promise<void> {
    const now = clock.now();
    const next: InvoicePaymentTable = { ...row, ...extra, status, updated_at: now, next_attempt_at: null };
    if (status === 'past_due' || status === 'uncollectible') next.past_due_since = row.past_due_since ?? now;
    await db
      .updateTable('invoice_payments')
      .set({
        status,
        reference: next.reference,
        hosted_url: next.hosted_url,
        past_due_since: next.past_due_since,
        next_attempt_at: null,
        last_error: next.last_error,
        updated_at: now,
      })
      .where('invoice_id', '=', row.invoice_id)
      .where('status', '=', row.status)
      .execute();
    if (status !== row.status) await deps.changed(next, row.status as PaymentStatus);
  }

  /**
   * Brings Tollgate in line with the processor's view of one invoice. Final states win:
   * a paid or void invoice never goes back to past due (events may arrive out of order).
   */
  async function applyRemote(invoiceId: string, remote: RemoteInvoice, actor: string): Promise<void> {
    const row = await load(invoiceId);
    if (!row) return;
    if (row.reference && row.reference !== remote.reference) return; // not this invoice's processor copy
    if (row.status === 'paid' || row.status === 'void') return;
    const refs = { reference: remote.reference, hosted_url: remote.hostedUrl ?? row.hosted_url };
    if (remote.status === 'paid') {
      await markPaid(invoiceId, `${actor}:${remote.reference}`);
      await setStatus(row, 'paid', refs);
    } else if (remote.status === 'void') {
      const inv = await deps.billing.getInvoice(invoiceId);
      if (inv.status === 'open') await deps.billing.void(invoiceId, `${actor}:${remote.reference}`);
      await setStatus(row, 'void', refs);
    } else if (remote.status === 'uncollectible') {
      await setStatus(row, 'uncollectible', refs);
    } else if (remote.paymentFailed || row.status === 'past_due') {
      await setStatus(row, 'past_due', refs);
    } else {
      await setStatus(row, 'open', refs);
    }
  }

  return { enqueue, enqueueOpen, collectDue, applyRemote, load };
}

export type Collector = ReturnType<typeof createCollector>;
