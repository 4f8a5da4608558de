import type { Kysely } from 'kysely';

/** Tables of the metering module (see ../tables/metering.ts). */
export async function up(_db: Kysely<unknown>): Promise<void> {}

export async function down(_db: Kysely<unknown>): Promise<void> {}
