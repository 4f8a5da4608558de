import type { Kysely } from 'kysely';

/** Tables of the metering module (see ../tables/metering.ts). */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('rejections')
    .addColumn('api_id', 'text', (c) => c.notNull())
    .addColumn('route_id', 'text', (c) => c.notNull())
    .addColumn('subscription_id', 'text', (c) => c.notNull())
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('code', 'text', (c) => c.notNull())
    .addColumn('hour', 'bigint', (c) => c.notNull())
    .addColumn('count', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('rejections_pk', [
      'api_id',
      'route_id',
      'subscription_id',
      'key_id',
      'code',
      'hour',
    ])
    .execute();
  await db.schema.createIndex('rejections_hour').on('rejections').columns(['hour']).execute();

  await db.schema
    .createTable('meter_checkpoints')
    .addColumn('node', 'text', (c) => c.primaryKey())
    .addColumn('epoch', 'bigint', (c) => c.notNull())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('usage_alerts')
    .addColumn('subscription_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('window_start', 'bigint', (c) => c.notNull())
    .addColumn('window_end', 'bigint', (c) => c.notNull())
    .addColumn('threshold', 'integer', (c) => c.notNull())
    .addColumn('used', 'text', (c) => c.notNull())
    .addColumn('limit_value', 'text', (c) => c.notNull())
    .addColumn('sent_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('usage_alerts_pk', ['subscription_id', 'kind', 'window_start', 'threshold'])
    .execute();

  // Reports filter usage by subscription and time far more often than by hour alone.
  await db.schema.createIndex('usage_sub_hour').on('usage').columns(['subscription_id', 'hour']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('usage_sub_hour').ifExists().execute();
  for (const t of ['usage_alerts', 'meter_checkpoints', 'rejections']) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}
