/**
 * A named lease in the database, so that among several console processes exactly one runs
 * a job (the billing cycle) at a time.
 *
 * acquire() is one statement: insert the lease, or take it over when it has expired or is
 * already ours (INSERT … ON CONFLICT DO UPDATE … WHERE), returning the row only when we hold
 * it. PostgreSQL row-locks the conflicting row and SQLite has a single writer, so two
 * processes asking at once cannot both get it. The holder renews by acquiring again before
 * the lease expires; a holder that dies loses it after `ttlMs`. Times are the callers'
 * clocks: keep process clocks in sync (NTP) to well under the TTL.
 */
import type { Db } from '../store/index.js';

export interface Lease {
  /** True when `holder` holds the lease until now + ttlMs (taken or renewed). */
  acquire(now: number): Promise<boolean>;
  /** Gives the lease up (only if we hold it), so another process can take it at once. */
  release(): Promise<void>;
  /** Who holds it and until when (null: nobody ever took it). */
  current(): Promise<{ holder: string; expiresAt: number } | null>;
}

export function dbLease(db: Db, name: string, holder: string, ttlMs: number): Lease {
  return {
    async acquire(now) {
      const row = await db
        .insertInto('scheduler_leases')
        .values({ name, holder, expires_at: now + ttlMs })
        .onConflict((oc) =>
          oc
            .column('name')
            .doUpdateSet({ holder, expires_at: now + ttlMs })
            .where((eb) =>
              eb.or([
                eb('scheduler_leases.expires_at', '<=', now),
                eb('scheduler_leases.holder', '=', holder),
              ]),
            ),
        )
        .returning('holder')
        .executeTakeFirst();
      return row?.holder === holder;
    },
    async release() {
      await db
        .updateTable('scheduler_leases')
        .set({ expires_at: 0 })
        .where('name', '=', name)
        .where('holder', '=', holder)
        .execute();
    },
    async current() {
      const r = await db
        .selectFrom('scheduler_leases')
        .select(['holder', 'expires_at'])
        .where('name', '=', name)
        .executeTakeFirst();
      return r ? { holder: r.holder, expiresAt: Number(r.expires_at) } : null;
    },
  };
}
