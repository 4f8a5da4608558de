import type { Db } from '../store/index.js';

/** The dimensions the routes of these APIs meter: what a marketplace product can be metered by. */
export async function routeDimensions(db: Db, apiIds: string[]): Promise<Set<string>> {
  if (apiIds.length === 0) return new Set();
  const rows = await db
    .selectFrom('routes')
    .select('dimension')
    .distinct()
    .where('api_id', 'in', apiIds)
    .execute();
  return new Set(rows.map((r) => r.dimension));
}
