import type { Kysely } from 'kysely';

/** MeterUsage ClientToken idempotency (see ../tables/marketplace.ts). */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('marketplace_client_tokens')
    .addColumn('access_key_id', 'text', (c) => c.notNull())
    .addColumn('client_token', 'text', (c) => c.notNull())
    .addColumn('params', 'text', (c) => c.notNull())
    .addColumn('metering_record_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('marketplace_client_tokens_pk', ['access_key_id', 'client_token'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('marketplace_client_tokens').execute();
}
