/**
 * What the processor tells Tollgate: signed webhooks, and the nightly reconciliation that
 * asks it about every open invoice so a lost webhook cannot leave one wrong for ever.
 *
 * A webhook is verified with the connection's signing secret (the official library's check:
 * HMAC over the raw body, 5-minute tolerance) before anything is read from it, then claimed
 * by event id (INSERT … ON CONFLICT DO NOTHING): a redelivered event changes nothing. If
 * applying it fails, the claim is released and the answer is 500, so the processor sends it
 * again. An event only touches invoices of the connection's own provider (or any, for the
 * operator's connection).
 *
 *   invoice.paid                  → paid (the processor's invoice id recorded as the reference)
 *   invoice.payment_failed        → past due (dunning starts)
 *   invoice.voided                → void
 *   invoice.marked_uncollectible  → uncollectible (still owed in Tollgate; dunning continues)
 */
import type { Clock, Logger } from '../shared/index.js';
import type { Db } from '../store/index.js';
import type { Collector } from './collect.js';
import { type Connections, OPERATOR_OWNER } from './connections.js';
import { ProcessorError, type RemoteInvoice } from './processor.js';

export type WebhookOutcome =
  | { status: 200; body: { received: true; duplicate?: true; ignored?: true } }
  | { status: 400 | 404 | 500; body: { error: string } };

const MAPPED: Record<string, (inv: RemoteInvoice) => RemoteInvoice> = {
  'invoice.paid': (inv) => ({ ...inv, status: 'paid' }),
  'invoice.payment_failed': (inv) => ({ ...inv, status: 'open', paymentFailed: true }),
  'invoice.voided': (inv) => ({ ...inv, status: 'void' }),
  'invoice.marked_uncollectible': (inv) => ({ ...inv, status: 'uncollectible' }),
};

export function createEvents(deps: {
  db: Db;
  clock: Clock;
  log: Logger;
  connections: Connections;
  collector: Collector;
}) {
  const { db, clock, log, connections, collector } = deps;

  async function webhook(
    owner: string,
    rawBody: string,
    signature: string | undefined,
  ): Promise<WebhookOutcome> {
    const processor = await connections.processorOf(owner);
    if (!processor) return { status: 404, body: { error: 'no payment connection here' } };
    if (!signature) return { status: 400, body: { error: 'missing signature' } };
    let event: ReturnType<typeof processor.parseEvent>;
    try {
      event = processor.parseEvent(rawBody, signature);
    } catch (e) {
      log.warn({ owner, err: (e as Error).message }, 'payments: webhook refused');
      return { status: 400, body: { error: 'invalid signature' } };
    }
    const map = MAPPED[event.type];
    if (!map || !event.invoice) return { status: 200, body: { received: true, ignored: true } };

    const claimed = await db
      .insertInto('payment_events')
      .values({ event_id: event.id, owner, type: event.type, received_at: clock.now() })
      .onConflict((oc) => oc.column('event_id').doNothing())
      .returning('event_id')
      .executeTakeFirst();
    if (!claimed) return { status: 200, body: { received: true, duplicate: true } };
    try {
      const row = await findRow(event.invoice.tollgateInvoiceId, event.invoice.reference);
      if (!row || (owner !== OPERATOR_OWNER && row.provider_id !== owner))
        return { status: 200, body: { received: true, ignored: true } };
      await collector.applyRemote(row.invoice_id, map(event.invoice), `${processor.name}:${event.id}`);
      return { status: 200, body: { received: true } };
    } catch (e) {
      await db.deleteFrom('payment_events').where('event_id', '=', event.id).execute();
      log.error(
        { err: e, event: event.id },
        'payments: webhook could not be applied; the processor will resend',
      );
      return { status: 500, body: { error: 'not applied; send it again' } };
    }
  }

  async function findRow(tollgateInvoiceId: string | null, reference: string) {
    let q = db.selectFrom('invoice_payments').selectAll();
    q = tollgateInvoiceId
      ? q.where('invoice_id', '=', tollgateInvoiceId)
      : q.where('reference', '=', reference);
    const row = await q.executeTakeFirst();
    // the metadata must agree with the reference we recorded (when we have one)
    if (row?.reference && row.reference !== reference) return undefined;
    return row;
  }

  /** Asks the processor about every invoice still owed; returns how many changed state. */
  async function reconcile(): Promise<{ checked: number; changed: number; failed: number }> {
    const rows = await db
      .selectFrom('invoice_payments')
      .selectAll()
      .where('status', 'in', ['open', 'past_due', 'uncollectible'])
      .where('reference', 'is not', null)
      .execute();
    let changed = 0;
    let failed = 0;
    for (const row of rows) {
      try {
        const conn = await connections.processorFor(row.provider_id);
        if (!conn) throw new ProcessorError('no payment connection', true);
        const remote = await conn.processor.invoice(row.reference!);
        await collector.applyRemote(row.invoice_id, remote, `${conn.processor.name}:reconcile`);
        const after = await collector.load(row.invoice_id);
        if (after?.status !== row.status) changed++;
      } catch (e) {
        failed++;
        log.warn({ err: (e as Error).message, invoice: row.invoice_id }, 'payments: reconciliation failed');
      }
    }
    return { checked: rows.length, changed, failed };
  }

  return { webhook, reconcile };
}
