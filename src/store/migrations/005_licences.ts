import type { Kysely } from 'kysely';

/** Tables of the licences module (see ../tables/licences.ts). Portable types only. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('licence_signing_keys')
    .addColumn('kid', 'text', (c) => c.primaryKey())
    .addColumn('provider_id', 'text', (c) => c.notNull().references('providers.id'))
    .addColumn('public_jwk', 'text', (c) => c.notNull())
    .addColumn('private_jwk', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('retired_at', 'bigint')
    .execute();
  await db.schema
    .createIndex('licence_signing_keys_provider')
    .on('licence_signing_keys')
    .columns(['provider_id', 'status'])
    .execute();

  await db.schema
    .createTable('licences')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('provider_id', 'text', (c) => c.notNull().references('providers.id'))
    .addColumn('product_id', 'text', (c) => c.notNull())
    .addColumn('consumer_id', 'text', (c) => c.notNull().references('consumers.id'))
    .addColumn('licensee_name', 'text', (c) => c.notNull())
    .addColumn('subscription_id', 'text')
    .addColumn('kid', 'text', (c) => c.notNull())
    .addColumn('deployments', 'integer', (c) => c.notNull())
    .addColumn('features', 'text', (c) => c.notNull())
    .addColumn('limits', 'text', (c) => c.notNull())
    .addColumn('valid_from', 'bigint', (c) => c.notNull())
    .addColumn('valid_until', 'bigint', (c) => c.notNull())
    .addColumn('revoked_at', 'bigint')
    .addColumn('token', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('licences_provider').on('licences').column('provider_id').execute();
  await db.schema.createIndex('licences_consumer').on('licences').column('consumer_id').execute();
  await db.schema.createIndex('licences_subscription').on('licences').column('subscription_id').execute();

  await db.schema
    .createTable('licence_activations')
    .addColumn('licence_id', 'text', (c) => c.notNull().references('licences.id'))
    .addColumn('instance_id', 'text', (c) => c.notNull())
    .addColumn('first_seen', 'bigint', (c) => c.notNull())
    .addColumn('last_seen', 'bigint', (c) => c.notNull())
    .addColumn('released_at', 'bigint')
    .addPrimaryKeyConstraint('licence_activations_pk', ['licence_id', 'instance_id'])
    .execute();

  await db.schema
    .createTable('licence_deployment_changes')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('licence_id', 'text', (c) => c.notNull().references('licences.id'))
    .addColumn('effective_at', 'bigint', (c) => c.notNull())
    .addColumn('deployments', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('licence_deployment_changes_licence')
    .on('licence_deployment_changes')
    .columns(['licence_id', 'effective_at'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('licence_deployment_changes').execute();
  await db.schema.dropTable('licence_activations').execute();
  await db.schema.dropTable('licences').execute();
  await db.schema.dropTable('licence_signing_keys').execute();
}
