import type { Kysely } from 'kysely';

/**
 * Billing that runs itself (see ../tables/billing.ts): the lease that lets exactly one
 * console process run the billing cycle, the void reason and payment reference an invoice
 * carries, and the ledger of usage events that did not pass through the gateway.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('scheduler_leases')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('holder', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema.alterTable('invoices').addColumn('void_reason', 'text').execute();
  await db.schema.alterTable('invoices').addColumn('paid_reference', 'text').execute();
  await db.schema.createIndex('invoices_status').on('invoices').columns(['status', 'created_at']).execute();

  await db.schema
    .createTable('usage_events')
    .addColumn('provider_id', 'text', (c) => c.notNull())
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addColumn('subscription_id', 'text', (c) => c.notNull().references('subscriptions.id'))
    .addColumn('dimension', 'text', (c) => c.notNull())
    .addColumn('units', 'bigint', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('usage_events_pk', ['provider_id', 'event_id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('usage_events').ifExists().execute();
  await db.schema.dropIndex('invoices_status').ifExists().execute();
  await db.schema.alterTable('invoices').dropColumn('paid_reference').execute();
  await db.schema.alterTable('invoices').dropColumn('void_reason').execute();
  await db.schema.dropTable('scheduler_leases').ifExists().execute();
}
