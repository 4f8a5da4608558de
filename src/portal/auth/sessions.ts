/**
 * Server-side sessions. The cookie carries a random 32-byte id (base64url); the table keeps
 * only its SHA-256, so a leaked table cannot be replayed as cookies. Each session has its
 * own CSRF synchronizer token. A log-in always creates a NEW session (and deletes the one
 * the browser came with), so an id planted before log-in is worthless afterwards (session
 * fixation, OWASP Session Management Cheat Sheet). Expiry is absolute (`ttlMs` after
 * log-in); expired rows are purged lazily.
 */
import { hashKey, randomSecret } from '../../keys/index.js';
import type { Clock } from '../../shared/index.js';
import type { Store } from '../../store/index.js';

export interface Session {
  idHash: string;
  userId: string;
  csrfToken: string;
  expiresAt: number;
}

export function createSessions(deps: { store: Store; clock: Clock; ttlMs: number }) {
  const { db } = deps.store;
  return {
    /** Starts a session for the user; returns the cookie value (shown to nobody else, stored nowhere). */
    async start(userId: string, previousId?: string): Promise<{ id: string; session: Session }> {
      const now = deps.clock.now();
      if (previousId)
        await db.deleteFrom('portal_sessions').where('id_hash', '=', hashKey(previousId)).execute();
      await db.deleteFrom('portal_sessions').where('expires_at', '<=', now).execute();
      const id = randomSecret(32);
      const session: Session = {
        idHash: hashKey(id),
        userId,
        csrfToken: randomSecret(32),
        expiresAt: now + deps.ttlMs,
      };
      await db
        .insertInto('portal_sessions')
        .values({
          id_hash: session.idHash,
          user_id: userId,
          csrf_token: session.csrfToken,
          created_at: now,
          expires_at: session.expiresAt,
        })
        .execute();
      return { id, session };
    },

    async get(id: string | undefined): Promise<Session | null> {
      if (!id || id.length > 100) return null;
      const r = await db
        .selectFrom('portal_sessions')
        .selectAll()
        .where('id_hash', '=', hashKey(id))
        .where('expires_at', '>', deps.clock.now())
        .executeTakeFirst();
      return r
        ? { idHash: r.id_hash, userId: r.user_id, csrfToken: r.csrf_token, expiresAt: Number(r.expires_at) }
        : null;
    },

    async end(id: string | undefined): Promise<void> {
      if (id) await db.deleteFrom('portal_sessions').where('id_hash', '=', hashKey(id)).execute();
    },
  };
}

export type Sessions = ReturnType<typeof createSessions>;
