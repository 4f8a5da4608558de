/**
 * What every catalog service shares: the actor (who asks, and how far their scope goes),
 * the write helper (one transaction: change + audit row, then `onChange` after the commit),
 * cursor paging over time-sortable ids, and time/JSON conversions for views.
 *
 * Scoping rule: a provider-scoped actor sees only what belongs to its provider. Anything
 * else answers NOT_FOUND, exactly as a missing id would, so existence never leaks.
 */

import type { Clock } from '../shared/clock.js';
import {
  type ErrorCode,
  type Logger,
  newId,
  notFound,
  OutboundPolicy,
  TollgateError,
} from '../shared/index.js';
import { appendChanges, type Store, type Tx } from '../store/index.js';

export type Actor = ({ kind: 'operator' } | { kind: 'provider'; providerId: string }) & {
  /** Who, for the audit log: an admin token id (`tok_…`), `cli`, `system`… */
  id: string;
};

export const SYSTEM: Actor = { kind: 'operator', id: 'system' };

export interface Change {
  entity: string;
  id: string;
  action: string;
  /**
   * Its number in the store's change log (src/store/changes.ts), when the write appended it
   * in its own transaction; a change without one is appended by whoever fans it out.
   */
  seq?: number;
}

export interface CatalogDeps {
  store: Store;
  clock: Clock;
  log: Logger;
  /** Judges URLs Tollgate will call (upstreams) at write time. Default: nothing private allowed. */
  outbound?: OutboundPolicy;
  /** Called after each committed write (the gateway applies it to its snapshot). */
  onChange?: (change: Change) => void;
  /**
   * The gateway's live count of a quota window (src/quota: used = max(stored, live)).
   * Default: the stored usage alone.
   */
  quotaUsed?: (subscriptionId: string, windowStart: number) => Promise<number>;
}

export interface Ctx extends CatalogDeps {
  outbound: OutboundPolicy;
  /** Runs `fn` in a transaction, writes its audit rows in it, then reports the changes. */
  write<T>(actor: Actor, fn: (tx: Tx, audit: AuditSink) => Promise<T>): Promise<T>;
}

export interface AuditEntry {
  action: string;
  entity: string;
  entityId: string;
  providerId: string | null;
  before: unknown;
  after: unknown;
}

export type AuditSink = (entry: AuditEntry) => void;

/**
 * A caller's own write to run in the same transaction as a create, with the created record
 * (the portal's sign-up: the user row commits with its consumer or provider, or neither does).
 */
export type Alongside<V> = (tx: Tx, created: V) => Promise<void>;

export function makeCtx(deps: CatalogDeps): Ctx {
  const ctx: Ctx = {
    ...deps,
    outbound: deps.outbound ?? new OutboundPolicy(),
    async write(actor, fn) {
      const changes: Change[] = [];
      const result = await runTx(deps.store, async (tx) => {
        const entries: AuditEntry[] = [];
        const value = await fn(tx, (e) => entries.push(e));
        const at = deps.clock.now();
        for (const e of entries) await recordAudit(tx, at, actor.id, e);
        // In the same transaction: the change log commits with the change it announces.
        const seqs = await appendChanges(
          tx,
          entries.map((e) => ({ entity: e.entity, id: e.entityId })),
          at,
        );
        entries.forEach((e, i) => {
          changes.push({ entity: e.entity, id: e.entityId, action: e.action, seq: seqs[i]! });
        });
        return value;
      });
      for (const c of changes) {
        try {
          deps.onChange?.(c);
        } catch (err) {
          deps.log.error({ err, change: c }, 'onChange listener failed');
        }
      }
      return result;
    },
  };
  return ctx;
}

/**
 * Writes one audit row in the caller's transaction: the one way every module records an
 * admin write (the catalog through `ctx.write`, licences directly), so the row commits or
 * rolls back with the change it describes.
 */
export async function recordAudit(tx: Tx, at: number, actorId: string, e: AuditEntry): Promise<void> {
  await tx
    .insertInto('audit_log')
    .values({
      id: newId('aud', at),
      at,
      actor: actorId,
      action: e.action,
      entity: e.entity,
      entity_id: e.entityId,
      provider_id: e.providerId,
      before: e.before == null ? null : JSON.stringify(e.before),
      after: e.after == null ? null : JSON.stringify(e.after),
    })
    .execute();
}

/** A transaction whose constraint violations come back as CONFLICT rather than a 500. */
async function runTx<T>(store: Store, fn: (tx: Tx) => Promise<T>): Promise<T> {
  try {
    return await store.db.transaction().execute(fn);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === '23503' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
      throw new TollgateError('CONFLICT', 'other records still refer to this one');
    }
    if (code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
      throw new TollgateError('CONFLICT', 'a record with the same unique value already exists');
    }
    throw err;
  }
}

/** The provider an actor is confined to, or null for the operator. */
export function scopeOf(actor: Actor): string | null {
  return actor.kind === 'provider' ? actor.providerId : null;
}

export function requireOperator(actor: Actor, what: string): void {
  if (actor.kind !== 'operator') throw new TollgateError('FORBIDDEN', `only an operator token may ${what}`);
}

/** The provider a new record belongs to: the actor's own, or the one an operator names. */
export function ownerFor(actor: Actor, requested: string | null | undefined, field = 'providerId'): string {
  if (actor.kind === 'provider') {
    if (requested != null && requested !== actor.providerId) throw notFound('provider', requested);
    return actor.providerId;
  }
  if (requested == null) {
    throw new TollgateError('VALIDATION_FAILED', `${field}: required for an operator token`, [
      { field, message: 'required for an operator token' },
    ]);
  }
  return requested;
}

export function fail(code: ErrorCode, message: string, field?: string): TollgateError {
  return new TollgateError(code, field ? `${field}: ${message}` : message, field ? [{ field, message }] : []);
}

// ---------------------------------------------------------------- paging

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** `rows` were fetched with `limit + 1`, ordered by id: trims and yields the next cursor. */
export function toPage<R extends { id: string }, T>(rows: R[], limit: number, view: (r: R) => T): Page<T> {
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  return { items: kept.map(view), nextCursor: more ? kept[kept.length - 1]!.id : null };
}

// ---------------------------------------------------------------- conversions

export const iso = (ms: number | null | undefined): string | null =>
  ms == null ? null : new Date(Number(ms)).toISOString();

export const fromIso = (s: string | null | undefined): number | null => (s == null ? null : Date.parse(s));

export const bool = (v: number): boolean => v === 1;
