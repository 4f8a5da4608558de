import type { Kysely } from 'kysely';

/**
 * Usage reported from outside the gateway (../../metering/external.ts) lands in the same
 * hourly `usage` rows as the gateway's, which are keyed by key and API too: the ledger row
 * remembers both ('' for "no key": an event sent by subscription).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('usage_events')
    .addColumn('key_id', 'text', (c) => c.notNull().defaultTo(''))
    .execute();
  await db.schema
    .alterTable('usage_events')
    .addColumn('api_id', 'text', (c) => c.notNull().defaultTo(''))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('usage_events').dropColumn('api_id').execute();
  await db.schema.alterTable('usage_events').dropColumn('key_id').execute();
}
