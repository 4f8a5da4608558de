import type { Kysely } from 'kysely';

/** Tables of the payments module (see ../tables/payments.ts). */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('payment_connections')
    .addColumn('owner', 'text', (c) => c.primaryKey())
    .addColumn('processor', 'text', (c) => c.notNull())
    .addColumn('secret_key_sealed', 'text', (c) => c.notNull())
    .addColumn('secret_key_hint', 'text', (c) => c.notNull())
    .addColumn('webhook_secret_sealed', 'text', (c) => c.notNull())
    .addColumn('webhook_secret_hint', 'text', (c) => c.notNull())
    .addColumn('account_ref', 'text')
    .addColumn('checked_at', 'bigint')
    .addColumn('check_result', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('payment_customers')
    .addColumn('provider_id', 'text', (c) => c.notNull())
    .addColumn('consumer_id', 'text', (c) => c.notNull())
    .addColumn('customer_ref', 'text', (c) => c.notNull())
    .addColumn('payment_method_ref', 'text')
    .addColumn('card_brand', 'text')
    .addColumn('card_last4', 'text')
    .addColumn('card_exp_month', 'integer')
    .addColumn('card_exp_year', 'integer')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('payment_customers_pk', ['provider_id', 'consumer_id'])
    .execute();

  await db.schema
    .createTable('invoice_payments')
    .addColumn('invoice_id', 'text', (c) => c.primaryKey())
    .addColumn('provider_id', 'text', (c) => c.notNull())
    .addColumn('subscription_id', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('reference', 'text')
    .addColumn('hosted_url', 'text')
    .addColumn('past_due_since', 'bigint')
    .addColumn('suspended_at', 'bigint')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_error', 'text')
    .addColumn('next_attempt_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('invoice_payments_status').on('invoice_payments').column('status').execute();
  await db.schema
    .createIndex('invoice_payments_reference')
    .on('invoice_payments')
    .column('reference')
    .execute();
  await db.schema
    .createIndex('invoice_payments_subscription')
    .on('invoice_payments')
    .column('subscription_id')
    .execute();

  await db.schema
    .createTable('payment_events')
    .addColumn('event_id', 'text', (c) => c.primaryKey())
    .addColumn('owner', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('received_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('dunning_policies')
    .addColumn('plan_id', 'text', (c) => c.primaryKey())
    .addColumn('suspend_after_days', 'integer')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('spend_budgets')
    .addColumn('subscription_id', 'text', (c) => c.primaryKey())
    .addColumn('amount', 'text', (c) => c.notNull())
    .addColumn('hard_cap', 'integer', (c) => c.notNull())
    .addColumn('capped_until', 'bigint')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of [
    'spend_budgets',
    'dunning_policies',
    'payment_events',
    'invoice_payments',
    'payment_customers',
    'payment_connections',
  ])
    await db.schema.dropTable(t).execute();
}
