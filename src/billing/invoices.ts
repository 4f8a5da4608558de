/**
 * Invoices in the store: writing a rated period as an invoice (one transaction: number,
 * invoice, lines, `invoice.created` event), reading, listing, and the status machine
 *   draft → open → paid,   draft | open → void
 * enforced with a conditional UPDATE (… WHERE status = <from>), so two racing actions
 * cannot both succeed. Each transition emits its webhook event in the same transaction.
 *
 * Numbers are `INV-000001`, gapless and sequential per provider: the counter row in
 * invoice_sequences is incremented inside the invoice's transaction (row-locked on
 * PostgreSQL, the single writer on SQLite), so a rolled-back invoice gives its number back.
 */
import { newId, notFound, TollgateError } from '../shared/index.js';
import type { Db } from '../store/index.js';
import type { InvoiceLineTable, InvoiceTable } from '../store/tables/billing.js';
import type { LineCalc } from './lines.js';
import type { LineDraft } from './rating.js';
import { type InvoiceStatus, type ListInvoicesQuery, listInvoicesQuery, parse } from './schemas.js';

export interface InvoiceLine {
  id: string;
  position: number;
  kind: LineDraft['kind'];
  description: string;
  dimension: string | null;
  quantity: string;
  unitPrice: string | null;
  amount: string;
  /** The usage hours the line came from: hour ∈ [usageFrom, usageTo), ISO. */
  usageFrom: string | null;
  usageTo: string | null;
  planId: string;
  priceId: string | null;
  detail: Record<string, unknown>;
  /**
   * How the amount is worked out: round(quantity × price / per), see lines.ts. Null on
   * lines written before invoices carried it.
   */
  calc: LineCalc | null;
}

export interface InvoiceSummary {
  id: string;
  number: string;
  providerId: string;
  consumerId: string;
  subscriptionId: string;
  periodStart: string;
  periodEnd: string;
  currency: string;
  subtotal: string;
  total: string;
  status: InvoiceStatus;
  createdAt: string;
  finalizedAt: string | null;
  paidAt: string | null;
  voidedAt: string | null;
  voidReason: string | null;
  paidReference: string | null;
  /** The void invoice this one re-issues, or null. */
  reissueOf: string | null;
}

export interface Invoice extends InvoiceSummary {
  lines: InvoiceLine[];
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** Emits an event in the caller's transaction (the webhooks module, or a no-op). */
export type Emit = (providerId: string, type: string, payload: unknown, tx: Db) => Promise<unknown>;

const iso = (ms: number | null): string | null => (ms == null ? null : new Date(Number(ms)).toISOString());

export function summaryView(r: InvoiceTable): InvoiceSummary {
  return {
    id: r.id,
    number: r.number,
    providerId: r.provider_id,
    consumerId: r.consumer_id,
    subscriptionId: r.subscription_id,
    periodStart: iso(r.period_start)!,
    periodEnd: iso(r.period_end)!,
    currency: r.currency,
    subtotal: r.subtotal,
    total: r.total,
    status: r.status as InvoiceStatus,
    createdAt: iso(r.created_at)!,
    finalizedAt: iso(r.finalized_at),
    paidAt: iso(r.paid_at),
    voidedAt: iso(r.voided_at),
    voidReason: r.void_reason ?? null,
    paidReference: r.paid_reference ?? null,
    reissueOf: r.reissue_of ?? null,
  };
}

export function lineView(r: InvoiceLineTable): InvoiceLine {
  // the calc is stored with the detail (no column of its own) and shown beside it
  const { calc, ...detail } = JSON.parse(r.detail) as Record<string, unknown> & { calc?: LineCalc };
  return {
    id: r.id,
    position: Number(r.position),
    kind: r.kind as LineDraft['kind'],
    description: r.description,
    dimension: r.dimension,
    quantity: r.quantity,
    unitPrice: r.unit_price,
    amount: r.amount,
    usageFrom: iso(r.usage_from),
    usageTo: iso(r.usage_to),
    planId: r.plan_id,
    priceId: r.price_id,
    detail,
    calc: calc ?? null,
  };
}

let lastIdMs = 0;
/** Invoice ids sort in creation order within this process even when the clock stands still. */
function invoiceId(now: number): string {
  lastIdMs = Math.max(now, lastIdMs + 1);
  return newId('inv', lastIdMs);
}

export interface NewInvoice {
  providerId: string;
  consumerId: string;
  subscriptionId: string;
  periodStart: number;
  periodEnd: number;
  currency: string;
  subtotal: string;
  lines: LineDraft[];
  status: 'draft' | 'open';
  /** The subscription's billing ends with this invoice. */
  closes?: boolean;
  /** Re-issues this void invoice (audited as `invoice.reissue` by `actor`). */
  reissue?: { of: string; actor: string };
}

/** The error of a second invoice (not void) for a subscription's period: a concurrent run won. */
export function isPeriodTaken(e: unknown): boolean {
  return /invoices_subscription_period|UNIQUE constraint failed: invoices\.subscription_id/i.test(String(e));
}

/**
 * Writes one invoice in the caller's transaction: number, invoice, lines and events. A
 * second invoice (not void) for the same subscription and period fails the transaction on
 * the unique (subscription_id, period_start) index, the final word against a concurrent or
 * repeated run (see isPeriodTaken).
 */
export async function insertInvoice(
  tx: Db,
  now: number,
  inv: NewInvoice,
  emit: Emit,
): Promise<InvoiceSummary> {
  // one statement allocates the number: insert 2 (next) or bump it, returning it
  const { next_number } = await tx
    .insertInto('invoice_sequences')
    .values({ provider_id: inv.providerId, next_number: 2 })
    .onConflict((oc) =>
      oc
        .column('provider_id')
        .doUpdateSet((eb) => ({ next_number: eb('invoice_sequences.next_number', '+', 1) })),
    )
    .returning('next_number')
    .executeTakeFirstOrThrow();
  const seq = Number(next_number) - 1;
  const row: InvoiceTable = {
    id: invoiceId(now),
    number: `INV-${String(seq).padStart(6, '0')}`,
    seq,
    provider_id: inv.providerId,
    consumer_id: inv.consumerId,
    subscription_id: inv.subscriptionId,
    period_start: inv.periodStart,
    period_end: inv.periodEnd,
    currency: inv.currency,
    subtotal: inv.subtotal,
    // no taxes or discounts yet: the total is the subtotal
    total: inv.subtotal,
    status: inv.status,
    created_at: now,
    updated_at: now,
    finalized_at: inv.status === 'open' ? now : null,
    paid_at: null,
    voided_at: null,
    closes_subscription: inv.closes ? 1 : 0,
    void_reason: null,
    paid_reference: null,
    reissue_of: inv.reissue?.of ?? null,
  };
  await tx.insertInto('invoices').values(row).execute();
  if (inv.reissue)
    await tx
      .insertInto('audit_log')
      .values({
        id: newId('aud', now),
        at: now,
        actor: inv.reissue.actor,
        action: 'invoice.reissue',
        entity: 'invoice',
        entity_id: inv.reissue.of,
        provider_id: inv.providerId,
        before: JSON.stringify({ status: 'void' }),
        after: JSON.stringify({ reissuedAs: row.id, number: row.number }),
      })
      .execute();
  if (inv.lines.length > 0)
    await tx
      .insertInto('invoice_lines')
      .values(
        inv.lines.map((l, i) => ({
          id: newId('lin', now),
          invoice_id: row.id,
          position: i + 1,
          kind: l.kind,
          description: l.description,
          dimension: l.dimension,
          quantity: l.quantity,
          unit_price: l.unitPrice,
          amount: l.amount,
          usage_from: l.usageFrom,
          usage_to: l.usageTo,
          plan_id: l.planId,
          price_id: l.priceId,
          detail: JSON.stringify({ ...l.detail, calc: l.calc }),
        })),
      )
      .execute();
  const summary = summaryView(row);
  await emit(inv.providerId, 'invoice.created', summary, tx);
  if (inv.status === 'open') await emit(inv.providerId, 'invoice.finalized', summary, tx);
  return summary;
}

export async function getInvoice(db: Db, id: string): Promise<Invoice> {
  const row = await db.selectFrom('invoices').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw notFound('invoice', id);
  const lines = await db
    .selectFrom('invoice_lines')
    .selectAll()
    .where('invoice_id', '=', id)
    .orderBy('position')
    .execute();
  return { ...summaryView(row), lines: lines.map(lineView) };
}

/** Pages by id (ULIDs: creation order), oldest first, like the rest of the admin API. */
export async function listInvoices(
  db: Db,
  query: ListInvoicesQuery = {},
  /** `issued`: only invoices a buyer may see: finalized ones (open, paid, or void after finalizing). */
  options: { issued?: boolean } = {},
): Promise<Page<InvoiceSummary>> {
  const f = parse(listInvoicesQuery, query);
  let q = db
    .selectFrom('invoices')
    .selectAll()
    .orderBy('id')
    .limit(f.limit + 1);
  if (f.cursor) q = q.where('id', '>', f.cursor);
  if (f.consumerId) q = q.where('consumer_id', '=', f.consumerId);
  if (f.providerId) q = q.where('provider_id', '=', f.providerId);
  if (f.subscriptionId) q = q.where('subscription_id', '=', f.subscriptionId);
  if (f.status) q = q.where('status', '=', f.status);
  if (options.issued) q = q.where('finalized_at', 'is not', null);
  const rows = await q.execute();
  const more = rows.length > f.limit;
  const kept = more ? rows.slice(0, f.limit) : rows;
  return { items: kept.map(summaryView), nextCursor: more ? kept[kept.length - 1]!.id : null };
}

const TRANSITIONS = {
  finalize: { from: ['draft'], to: 'open', stamp: 'finalized_at', event: 'invoice.finalized' },
  pay: { from: ['open'], to: 'paid', stamp: 'paid_at', event: 'invoice.paid' },
  void: { from: ['draft', 'open'], to: 'void', stamp: 'voided_at', event: 'invoice.voided' },
} as const;

export type Transition = keyof typeof TRANSITIONS;

/** Moves an invoice along the status machine, or throws NOT_FOUND / INVALID_STATE. */
export async function transition(
  db: Db,
  now: number,
  id: string,
  action: Transition,
  emit: Emit,
  actor = 'system',
  /** Recorded with the move: the void reason or the payment reference. */
  note: { voidReason?: string; paidReference?: string } = {},
): Promise<InvoiceSummary> {
  const t = TRANSITIONS[action];
  const noted = {
    ...(action === 'void' && note.voidReason ? { void_reason: note.voidReason } : {}),
    ...(action === 'pay' && note.paidReference ? { paid_reference: note.paidReference } : {}),
  };
  return db.transaction().execute(async (tx) => {
    const before = await tx
      .selectFrom('invoices')
      .select(['status', 'number'])
      .where('id', '=', id)
      .executeTakeFirst();
    if (!before) throw notFound('invoice', id);
    // the moved row comes back from the UPDATE itself (RETURNING: SQLite ≥ 3.35, PostgreSQL)
    const row = await tx
      .updateTable('invoices')
      .set({ status: t.to, [t.stamp]: now, updated_at: now, ...noted })
      .where('id', '=', id)
      .where('status', 'in', [...t.from])
      .returningAll()
      .executeTakeFirst();
    if (!row)
      throw new TollgateError(
        'INVALID_STATE',
        `invoice ${before.number} is ${before.status}; ${action} needs ${t.from.join(' or ')}`,
      );
    const summary = summaryView(row);
    await tx
      .insertInto('audit_log')
      .values({
        id: newId('aud', now),
        at: now,
        actor,
        action: `invoice.${action}`,
        entity: 'invoice',
        entity_id: id,
        provider_id: row.provider_id,
        before: JSON.stringify({ status: before.status }),
        after: JSON.stringify({ status: t.to, ...noted }),
      })
      .execute();
    await emit(row.provider_id, t.event, summary, tx);
    return summary;
  });
}
