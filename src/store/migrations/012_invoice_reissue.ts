import { type Kysely, SqliteAdapter, sql } from 'kysely';

/**
 * Re-issuing a voided invoice (see ../../billing/reissue.ts): an invoice remembers the void
 * one it replaces (`reissue_of`), and "one invoice per subscription and period start" now
 * counts only invoices that are not void, so the replacement can cover the same period.
 *
 * PostgreSQL drops the constraint and creates a partial unique index of the same name.
 * SQLite cannot drop a table constraint: `invoices` is rebuilt from its own schema text
 * without it, and `invoice_lines` (the one table referencing it) with it, so the foreign
 * key holds throughout; every index of both tables is recreated as it was.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  if (db.getExecutor().adapter instanceof SqliteAdapter) await rebuildSqlite(db);
  else await sql`alter table invoices drop constraint invoices_subscription_period`.execute(db);
  await db.schema.alterTable('invoices').addColumn('reissue_of', 'text').execute();
  await sql`create unique index invoices_subscription_period on invoices (subscription_id, period_start)
    where status <> 'void'`.execute(db);
  await db.schema.createIndex('invoices_reissue_of').on('invoices').column('reissue_of').execute();
}

async function rebuildSqlite(db: Kysely<unknown>): Promise<void> {
  const schemaOf = async (name: string) =>
    (
      await sql<{
        sql: string;
      }>`select sql from sqlite_master where type = 'table' and name = ${name}`.execute(db)
    ).rows[0]!.sql;
  const indexes = (
    await sql<{ sql: string }>`select sql from sqlite_master
      where type = 'index' and tbl_name in ('invoices', 'invoice_lines') and sql is not null`.execute(db)
  ).rows;
  const invoices = (await schemaOf('invoices'))
    .replace(/^create table "invoices"/i, 'create table "invoices_new"')
    .replace(
      /,\s*constraint "invoices_subscription_period" unique \("subscription_id", "period_start"\)/i,
      '',
    );
  const lines = (await schemaOf('invoice_lines'))
    .replace(/^create table "invoice_lines"/i, 'create table "invoice_lines_new"')
    .replace(/references "invoices"/i, 'references "invoices_new"');
  if (/invoices_subscription_period/.test(invoices) || !/invoices_new/.test(lines))
    throw new Error('migration 012_invoice_reissue: unexpected schema of invoices or invoice_lines');
  await sql.raw(invoices).execute(db);
  await sql`insert into invoices_new select * from invoices`.execute(db);
  await sql.raw(lines).execute(db);
  await sql`insert into invoice_lines_new select * from invoice_lines`.execute(db);
  await sql`drop table invoice_lines`.execute(db);
  await sql`drop table invoices`.execute(db);
  // renaming the parent rewrites the child's reference back to "invoices"
  await sql`alter table invoices_new rename to invoices`.execute(db);
  await sql`alter table invoice_lines_new rename to invoice_lines`.execute(db);
  for (const i of indexes) await sql.raw(i.sql).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('invoices_reissue_of').execute();
  await db.schema.dropIndex('invoices_subscription_period').execute();
  await db.schema.alterTable('invoices').dropColumn('reissue_of').execute();
  await sql`create unique index invoices_subscription_period on invoices (subscription_id, period_start)`.execute(
    db,
  );
}
