/**
 * One processor customer per (provider, consumer), created on first need: the idempotency
 * key is derived from the pair, so two racing first requests (two tabs, two nodes) get the
 * same Stripe customer, and the row is inserted with ON CONFLICT DO NOTHING. The card on
 * file is cached on the row as the processor last reported it (after the hosted setup flow
 * and whenever the billing page refreshes it).
 */
import { notFound } from '../shared/index.js';
import type { Db } from '../store/index.js';
import type { PaymentCustomerTable } from '../store/tables/payments.js';
import type { Card, PaymentProcessor } from './processor.js';

export interface CustomerRecord {
  customerRef: string;
  paymentMethodRef: string | null;
  card: Card | null;
}

function record(r: PaymentCustomerTable): CustomerRecord {
  return {
    customerRef: r.customer_ref,
    paymentMethodRef: r.payment_method_ref,
    card:
      r.card_brand && r.card_last4
        ? {
            brand: r.card_brand,
            last4: r.card_last4,
            expMonth: Number(r.card_exp_month),
            expYear: Number(r.card_exp_year),
          }
        : null,
  };
}

export async function findCustomer(db: Db, providerId: string, consumerId: string) {
  const r = await db
    .selectFrom('payment_customers')
    .selectAll()
    .where('provider_id', '=', providerId)
    .where('consumer_id', '=', consumerId)
    .executeTakeFirst();
  return r ? record(r) : null;
}

export async function ensureCustomer(
  db: Db,
  now: number,
  processor: PaymentProcessor,
  providerId: string,
  consumerId: string,
): Promise<CustomerRecord> {
  const known = await findCustomer(db, providerId, consumerId);
  if (known) return known;
  const consumer = await db
    .selectFrom('consumers')
    .select(['name', 'email'])
    .where('id', '=', consumerId)
    .executeTakeFirst();
  if (!consumer) throw notFound('consumer', consumerId);
  const { customerRef } = await processor.createCustomer({
    idempotencyKey: `tg-customer-${providerId}-${consumerId}`,
    name: consumer.name,
    email: consumer.email,
    metadata: { tollgate_consumer_id: consumerId, tollgate_provider_id: providerId },
  });
  await db
    .insertInto('payment_customers')
    .values({
      provider_id: providerId,
      consumer_id: consumerId,
      customer_ref: customerRef,
      payment_method_ref: null,
      card_brand: null,
      card_last4: null,
      card_exp_month: null,
      card_exp_year: null,
      created_at: now,
      updated_at: now,
    })
    .onConflict((oc) => oc.columns(['provider_id', 'consumer_id']).doNothing())
    .execute();
  return (await findCustomer(db, providerId, consumerId))!;
}

export async function saveCard(
  db: Db,
  now: number,
  providerId: string,
  consumerId: string,
  pm: { paymentMethodRef: string; card: Card | null } | null,
): Promise<void> {
  await db
    .updateTable('payment_customers')
    .set({
      payment_method_ref: pm?.paymentMethodRef ?? null,
      card_brand: pm?.card?.brand ?? null,
      card_last4: pm?.card?.last4 ?? null,
      card_exp_month: pm?.card?.expMonth ?? null,
      card_exp_year: pm?.card?.expYear ?? null,
      updated_at: now,
    })
    .where('provider_id', '=', providerId)
    .where('consumer_id', '=', consumerId)
    .execute();
}
