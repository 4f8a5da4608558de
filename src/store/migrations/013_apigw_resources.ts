import type { Kysely } from 'kysely';

/**
 * What API Gateway keeps on a usage plan or API key that Tollgate's own records do not
 * (see ../tables/apigw.ts): a key's description, a plan's productCode link, and when a
 * plan was deleted through the API Gateway API while history still refers to it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('apigw_resources')
    .addColumn('resource_id', 'text', (c) => c.primaryKey())
    .addColumn('description', 'text')
    .addColumn('product_code', 'text')
    .addColumn('product_id', 'text')
    .addColumn('deleted_at', 'bigint')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('apigw_resources').execute();
}
