import type { Kysely } from 'kysely';

/** Tables of the API Gateway compatibility module (see ../tables/apigw.ts). */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('apigw_credentials')
    .addColumn('access_key_id', 'text', (c) => c.primaryKey())
    .addColumn('token_id', 'text', (c) => c.notNull().references('admin_tokens.id'))
    .addColumn('secret_sealed', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('revoked_at', 'bigint')
    .execute();
  await db.schema.createIndex('apigw_credentials_token').on('apigw_credentials').column('token_id').execute();

  await db.schema
    .createTable('apigw_tags')
    .addColumn('resource_id', 'text', (c) => c.notNull())
    .addColumn('tag_key', 'text', (c) => c.notNull())
    .addColumn('tag_value', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('apigw_tags_pk', ['resource_id', 'tag_key'])
    .execute();

  await db.schema
    .createTable('apigw_key_values')
    .addColumn('key_id', 'text', (c) => c.primaryKey().references('api_keys.id').onDelete('cascade'))
    .addColumn('value_sealed', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('apigw_key_values').execute();
  await db.schema.dropTable('apigw_tags').execute();
  await db.schema.dropTable('apigw_credentials').execute();
}
