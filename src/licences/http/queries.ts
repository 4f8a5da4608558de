/**
 * Read-only queries the admin routes need beyond the Licences service: a paged, filtered
 * licence list (cursor = last id; ids are time-sortable ULIDs) and a licence's activations.
 * Both read this module's own tables (src/store/tables/licences.ts).
 */
import type { Store } from '../../store/index.js';
import { record } from '../records.js';
import type { LicenceRecord } from '../service.js';
import type { LicenceStatus } from './schemas.js';

export interface LicenceFilter {
  limit: number;
  cursor?: string | undefined;
  providerId?: string | undefined;
  consumerId?: string | undefined;
  productId?: string | undefined;
  status?: LicenceStatus | undefined;
}

export async function pageLicences(
  store: Store,
  f: LicenceFilter,
  now: number,
): Promise<{ items: LicenceRecord[]; nextCursor: string | null }> {
  let q = store.db
    .selectFrom('licences')
    .selectAll()
    .orderBy('id')
    .limit(f.limit + 1);
  if (f.cursor) q = q.where('id', '>', f.cursor);
  if (f.providerId) q = q.where('provider_id', '=', f.providerId);
  if (f.consumerId) q = q.where('consumer_id', '=', f.consumerId);
  if (f.productId) q = q.where('product_id', '=', f.productId);
  switch (f.status) {
    case 'revoked':
      q = q.where('revoked_at', 'is not', null);
      break;
    case 'scheduled':
      q = q.where('revoked_at', 'is', null).where('valid_from', '>', now);
      break;
    case 'expired':
      q = q.where('revoked_at', 'is', null).where('valid_until', '<=', now);
      break;
    case 'active':
      q = q.where('revoked_at', 'is', null).where('valid_from', '<=', now).where('valid_until', '>', now);
      break;
    default:
  }
  const rows = await q.execute();
  const more = rows.length > f.limit;
  const kept = (more ? rows.slice(0, f.limit) : rows).map(record);
  return { items: kept, nextCursor: more ? kept[kept.length - 1]!.id : null };
}

export interface ActivationRow {
  instanceId: string;
  firstSeen: number;
  lastSeen: number;
  releasedAt: number | null;
  live: boolean;
}

/**
 * A licence's activations, newest heartbeat first, at most `limit` of them (instance ids
 * accumulate as containers are re-created); `live` = holding a seat at `now`. `inUse`
 * counts every live one, whatever the limit.
 */
export async function listActivations(
  store: Store,
  licenceId: string,
  o: { now: number; heartbeatTtlMs: number; live?: boolean | undefined; limit: number },
): Promise<{ items: ActivationRow[]; inUse: number }> {
  const liveSince = o.now - o.heartbeatTtlMs;
  let q = store.db
    .selectFrom('licence_activations')
    .selectAll()
    .where('licence_id', '=', licenceId)
    .orderBy('last_seen', 'desc')
    .orderBy('instance_id')
    .limit(o.limit);
  if (o.live === true) q = q.where('released_at', 'is', null).where('last_seen', '>=', liveSince);
  if (o.live === false)
    q = q.where((eb) => eb.or([eb('released_at', 'is not', null), eb('last_seen', '<', liveSince)]));
  const rows = await q.execute();
  const count = await store.db
    .selectFrom('licence_activations')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('licence_id', '=', licenceId)
    .where('released_at', 'is', null)
    .where('last_seen', '>=', liveSince)
    .executeTakeFirstOrThrow();
  const items = rows.map((r) => ({
    instanceId: r.instance_id,
    firstSeen: Number(r.first_seen),
    lastSeen: Number(r.last_seen),
    releasedAt: r.released_at === null ? null : Number(r.released_at),
    live: r.released_at === null && Number(r.last_seen) >= liveSince,
  }));
  return { items, inUse: Number(count.n) };
}
