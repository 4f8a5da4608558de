import type { Kysely } from 'kysely';

/** Tables of the marketplace module (see ../tables/marketplace.ts). */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('marketplace_products')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('provider_id', 'text', (c) => c.notNull().references('providers.id'))
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('summary', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('api_ids', 'text', (c) => c.notNull())
    .addColumn('plan_ids', 'text', (c) => c.notNull())
    .addColumn('visibility', 'text', (c) => c.notNull())
    .addColumn('invite_codes', 'text', (c) => c.notNull())
    .addColumn('fulfilment', 'text', (c) => c.notNull())
    .addColumn('external_product_code', 'text')
    .addColumn('product_code', 'text', (c) => c.notNull().unique())
    .addColumn('registration_url', 'text')
    .addColumn('notification_url', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('published_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('marketplace_products_provider')
    .on('marketplace_products')
    .column('provider_id')
    .execute();
  await db.schema
    .createIndex('marketplace_products_external')
    .on('marketplace_products')
    .column('external_product_code')
    .execute();

  await db.schema
    .createTable('marketplace_credentials')
    .addColumn('access_key_id', 'text', (c) => c.primaryKey())
    .addColumn('provider_id', 'text', (c) => c.notNull().references('providers.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('secret_sealed', 'text', (c) => c.notNull())
    .addColumn('agreement_id', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('revoked_at', 'bigint')
    .addColumn('last_used_at', 'bigint')
    .execute();

  await db.schema
    .createTable('marketplace_agreements')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('product_id', 'text', (c) => c.notNull().references('marketplace_products.id'))
    .addColumn('provider_id', 'text', (c) => c.notNull())
    .addColumn('subscription_id', 'text', (c) => c.notNull().unique())
    .addColumn('consumer_id', 'text', (c) => c.notNull())
    .addColumn('customer_identifier', 'text', (c) => c.notNull().unique())
    .addColumn('customer_aws_account_id', 'text', (c) => c.notNull())
    .addColumn('license_arn', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('resolved_at', 'bigint')
    .execute();
  await db.schema
    .createIndex('marketplace_agreements_product')
    .on('marketplace_agreements')
    .columns(['product_id', 'id'])
    .execute();

  await db.schema
    .createTable('marketplace_registration_tokens')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('agreement_id', 'text', (c) => c.notNull())
    .addColumn('product_id', 'text', (c) => c.notNull())
    .addColumn('issued_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('used_at', 'bigint')
    .addColumn('used_by', 'text')
    .execute();

  await db.schema
    .createTable('metering_records')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('product_id', 'text', (c) => c.notNull())
    .addColumn('agreement_id', 'text', (c) => c.notNull())
    .addColumn('subscription_id', 'text', (c) => c.notNull())
    .addColumn('dimension', 'text', (c) => c.notNull())
    .addColumn('hour', 'bigint', (c) => c.notNull())
    .addColumn('timestamp', 'bigint', (c) => c.notNull())
    .addColumn('quantity', 'bigint', (c) => c.notNull())
    .addColumn('allocations', 'text')
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('access_key_id', 'text', (c) => c.notNull())
    .addColumn('received_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('metering_records_customer_hour', ['agreement_id', 'dimension', 'hour'])
    .execute();

  await db.schema
    .createTable('marketplace_exports')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('subscription_id', 'text', (c) => c.notNull())
    .addColumn('consumer_id', 'text', (c) => c.notNull())
    .addColumn('product_code', 'text', (c) => c.notNull())
    .addColumn('customer_identifier', 'text')
    .addColumn('customer_aws_account_id', 'text')
    .addColumn('license_arn', 'text')
    .addColumn('dimension', 'text', (c) => c.notNull())
    .addColumn('hour', 'bigint', (c) => c.notNull())
    .addColumn('quantity', 'bigint', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('metering_record_id', 'text')
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('sent_at', 'bigint')
    .addUniqueConstraint('marketplace_exports_sub_hour', ['subscription_id', 'dimension', 'hour'])
    .execute();
  await db.schema
    .createIndex('marketplace_exports_status')
    .on('marketplace_exports')
    .columns(['status', 'hour'])
    .execute();

  await db.schema
    .createTable('subscription_events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('subscription_id', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('from_status', 'text')
    .addColumn('to_status', 'text', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('subscription_events_sub')
    .on('subscription_events')
    .columns(['subscription_id', 'id'])
    .execute();

  await db.schema
    .createTable('marketplace_notifications')
    .addColumn('message_id', 'text', (c) => c.primaryKey())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('customer_identifier', 'text')
    .addColumn('product_code', 'text')
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('received_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('marketplace_outbox')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('provider_id', 'text', (c) => c.notNull())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('customer_identifier', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('delivered_at', 'bigint')
    .execute();
  await db.schema
    .createIndex('marketplace_outbox_due')
    .on('marketplace_outbox')
    .columns(['status', 'next_attempt_at'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of [
    'marketplace_outbox',
    'marketplace_notifications',
    'subscription_events',
    'marketplace_exports',
    'metering_records',
    'marketplace_registration_tokens',
    'marketplace_agreements',
    'marketplace_credentials',
    'marketplace_products',
  ]) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}
