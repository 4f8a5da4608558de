import type { Kysely } from 'kysely';

/** Per-API browser access (CORS, JSON) and the RateLimit headers toggle (on for existing APIs). */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('apis').addColumn('cors', 'text').execute();
  await db.schema
    .alterTable('apis')
    .addColumn('ratelimit_headers', 'integer', (c) => c.notNull().defaultTo(1))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('apis').dropColumn('ratelimit_headers').execute();
  await db.schema.alterTable('apis').dropColumn('cors').execute();
}
