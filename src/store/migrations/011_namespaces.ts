import { type Kysely, sql } from 'kysely';

/**
 * Tenancy: the hosts the operator assigns to each provider (a provider may bind its APIs
 * only to those), and one product per external product code in the installation.
 *
 * Existing rows are never rewritten. Overlapping prefixes and unassigned hosts are reported
 * by the namespace check (`tollgate migrate`, the start-up log, `GET
 * /admin/v1/namespaces/conflicts`); duplicate external product codes stop the migration with
 * the products named, since onboarding could land a buyer on the wrong provider's product.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('provider_hosts')
    .addColumn('host', 'text', (c) => c.primaryKey())
    .addColumn('provider_id', 'text', (c) => c.notNull().references('providers.id'))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('provider_hosts_provider').on('provider_hosts').column('provider_id').execute();

  const dupes = await sql<{ code: string }>`
    select external_product_code as code, count(*) as n
    from marketplace_products where external_product_code is not null
    group by external_product_code having count(*) > 1`.execute(db);
  if (dupes.rows.length > 0) {
    const codes = dupes.rows.map((r) => r.code).join(', ');
    throw new Error(
      `migration 011_namespaces: external product codes used by more than one product: ${codes}. ` +
        'Give each product its own externalProductCode (PATCH /admin/v1/products/{id}), then start again.',
    );
  }
  await db.schema.dropIndex('marketplace_products_external').execute();
  await db.schema
    .createIndex('marketplace_products_external')
    .unique()
    .on('marketplace_products')
    .column('external_product_code')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('marketplace_products_external').execute();
  await db.schema
    .createIndex('marketplace_products_external')
    .on('marketplace_products')
    .column('external_product_code')
    .execute();
  await db.schema.dropTable('provider_hosts').execute();
}
