import type { Kysely } from 'kysely';

/**
 * A key's further subscriptions (see ../schema.ts ApiKeySubscriptionTable): an API key
 * keeps its own subscription (`api_keys.subscription_id`) and may also open the APIs of
 * other subscriptions of the same consumer whose plans share no API with its plans — an
 * API Gateway key in several usage plans. Deleting the key deletes its links.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('api_key_subscriptions')
    .addColumn('key_id', 'text', (c) => c.notNull().references('api_keys.id').onDelete('cascade'))
    .addColumn('subscription_id', 'text', (c) => c.notNull().references('subscriptions.id'))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('api_key_subscriptions_pk', ['key_id', 'subscription_id'])
    .execute();
  await db.schema
    .createIndex('api_key_subscriptions_sub')
    .on('api_key_subscriptions')
    .column('subscription_id')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('api_key_subscriptions').execute();
}
