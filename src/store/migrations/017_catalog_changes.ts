import type { Kysely } from 'kysely';

/**
 * The catalog's change log (see ../changes.ts): one row per committed change the gateways
 * must follow, numbered without gaps by the one-row `catalog_version` counter.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('catalog_version')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .execute();
  await db
    .insertInto('catalog_version' as never)
    .values({ id: 1, seq: 0 } as never)
    .execute();
  await db.schema
    .createTable('catalog_changes')
    .addColumn('seq', 'bigint', (c) => c.primaryKey())
    .addColumn('entity', 'text', (c) => c.notNull())
    .addColumn('entity_id', 'text', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('catalog_changes').execute();
  await db.schema.dropTable('catalog_version').execute();
}
