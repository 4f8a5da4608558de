import type { Kysely } from 'kysely';

/**
 * Webhook signing secrets sealed at rest (see ../../webhooks/secrets.ts): a new column holds
 * the sealed secret. The key is the installation secret, which only configuration holds, so
 * the rows written before this migration are sealed by `sealStoredSecrets` on the next start
 * (and by `tollgate migrate`), which then empties the clear column.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('webhook_endpoints').addColumn('secret_sealed', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('webhook_endpoints').dropColumn('secret_sealed').execute();
}
