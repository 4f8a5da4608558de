/**
 * Applying catalog changes to a live snapshot, entity by entity, instead of reloading it.
 *
 * `loadPatch` reads, for a run of consecutive changes from the change log, only what they
 * touched — a key (with its subscriptions and spend caps), every key that has a changed
 * subscription as its own or a further one (with its quota adjustments), a plan, or the API
 * list (small: reread whole) — and builds the new entries off to the side. `applyPatch` then puts them in place synchronously, between two
 * requests. Replaced entries and plans are new objects (see snapshot.ts).
 *
 * A key's `cappedUntil` comes from the spend budget of its subscription, read with the key:
 * a change to a key of a capped buyer keeps the cap.
 *
 * Entities the gateway does not hold (consumers, prices, invoices…) cost nothing.
 */
import type { ExpressionBuilder } from 'kysely';
import type { Database, Db, LoggedChange } from '../store/index.js';
import {
  allEntries,
  assembleKey,
  byKey,
  type CompiledApi,
  type CompiledPlan,
  compileApis,
  compilePlan,
  type KeyEntry,
  type KeyRow,
  keyRows,
  linkRows,
  loadAdjustments,
  loadCaps,
  replanned,
  type Snapshot,
} from './snapshot.js';

export interface Patch {
  /** The last change this patch includes. */
  upTo: number;
  apis: CompiledApi[] | null;
  /** Plans recompiled (null: the plan is gone). */
  plans: Map<string, CompiledPlan | null>;
  /** Keys read again, by key id (null: the key is gone). */
  keys: Map<string, { hash: string; entry: KeyEntry } | null>;
  /** Subscriptions whose adjustments were read again, and their sums by window key. */
  adjusted: Set<string>;
  adjustments: Map<string, number>;
}

/** What the patch replaces, for the quota seeding hook: entries before and after. */
export interface PatchEffect {
  before: KeyEntry[];
  after: KeyEntry[];
}

/** Reads what `changes` (consecutive, oldest first) touched. */
export async function loadPatch(
  db: Db,
  snapshot: Snapshot,
  changes: LoggedChange[],
  now: number,
): Promise<Patch> {
  const ids = (entity: string) => [...new Set(changes.filter((c) => c.entity === entity).map((c) => c.id))];
  const keyIds = ids('key');
  const subIds = [...new Set([...ids('subscription'), ...ids('quota')])];
  const planIds = ids('plan');
  const patch: Patch = {
    upTo: changes[changes.length - 1]!.seq,
    apis: null,
    plans: new Map(),
    keys: new Map(),
    adjusted: new Set(subIds),
    adjustments: new Map(),
  };
  if (changes.some((c) => c.entity === 'api')) {
    const [apiRows, routeRows] = await Promise.all([
      db.selectFrom('apis').selectAll().execute(),
      db.selectFrom('routes').selectAll().orderBy('position').execute(),
    ]);
    patch.apis = compileApis(apiRows, routeRows);
  }
  if (planIds.length) {
    const rows = await db.selectFrom('plans').selectAll().where('id', 'in', planIds).execute();
    for (const id of planIds) patch.plans.set(id, null);
    for (const p of rows) patch.plans.set(p.id, compilePlan(p, now));
  }
  // Every key the changes touch: named ones, and those whose own or further subscription
  // changed. Each is read whole (own row and link rows), so its entry is rebuilt as a full
  // load would build it. Subqueries, not id lists: a subscription may have many keys.
  const touched = (ids: string[], subs: string[]) => (eb: ExpressionBuilder<Database, 'api_keys'>) =>
    eb.or([
      ...(ids.length ? [eb('api_keys.id', 'in', ids)] : []),
      ...(subs.length
        ? [
            eb('api_keys.subscription_id', 'in', subs),
            eb(
              'api_keys.id',
              'in',
              eb.selectFrom('api_key_subscriptions').select('key_id').where('subscription_id', 'in', subs),
            ),
          ]
        : []),
    ]);
  const any = keyIds.length > 0 || subIds.length > 0;
  const rows = any ? await keyRows(db).where(touched(keyIds, subIds)).execute() : [];
  const links = any
    ? byKey(await linkRows(db).where(touched(keyIds, subIds)).execute())
    : new Map<string, KeyRow[]>();
  for (const id of keyIds) patch.keys.set(id, null);
  // A key may name a plan this snapshot has not seen yet: read it too.
  const planOf = (id: string) => (patch.plans.has(id) ? patch.plans.get(id) : snapshot.plans.get(id));
  const all = [...rows, ...[...links.values()].flat()];
  const missing = [...new Set(all.map((r) => r.plan_id))].filter((id) => planOf(id) === undefined);
  if (missing.length) {
    for (const p of await db.selectFrom('plans').selectAll().where('id', 'in', missing).execute())
      patch.plans.set(p.id, compilePlan(p, now));
  }
  const caps = await loadCaps(db, now, [...new Set(all.map((r) => r.subscription_id))]);
  for (const r of rows) {
    const entry = assembleKey(r, links.get(r.key_id), planOf, (sub) => caps.get(sub) ?? 0);
    patch.keys.set(r.key_id, entry ? { hash: r.hash, entry } : null);
  }
  patch.adjustments = await loadAdjustments(db, subIds);
  return patch;
}

/**
 * The entries `patch` would replace and their replacements, computed before it is applied
 * (new quota windows are seeded from them before the new rules go live).
 */
export function effectOf(snapshot: Snapshot, patch: Patch): PatchEffect {
  const before: KeyEntry[] = [];
  const after: KeyEntry[] = [];
  for (const [id, k] of patch.keys) {
    const hash = snapshot.hashes.get(id);
    const old = hash === undefined ? undefined : snapshot.keys.get(hash);
    if (old) before.push(old);
    if (k) after.push(k.entry);
  }
  if (patch.plans.size) {
    for (const e of snapshot.keys.values()) {
      if (patch.keys.has(e.keyId)) continue;
      const next = replanned(e, patch.plans);
      if (next === e) continue;
      before.push(e);
      if (next) after.push(next);
    }
  }
  // Quota seeding looks at each subscription: the further ones count too.
  return { before: [...allEntries(before)], after: [...allEntries(after)] };
}

/** Puts `patch` in place: synchronous, so no request sees half of it. */
export function applyPatch(snapshot: Snapshot, patch: Patch): void {
  if (patch.apis) snapshot.apis = patch.apis;
  for (const [id, plan] of patch.plans) {
    if (plan) snapshot.plans.set(id, plan);
    else snapshot.plans.delete(id);
  }
  if (patch.plans.size) {
    // Keys on a changed plan move to its new object; keys on a deleted plan go, as a full
    // load would leave them out.
    for (const [hash, e] of snapshot.keys) {
      const next = replanned(e, patch.plans);
      if (next === e) continue;
      if (next) snapshot.keys.set(hash, next);
      else {
        snapshot.keys.delete(hash);
        snapshot.hashes.delete(e.keyId);
      }
    }
  }
  for (const [id, k] of patch.keys) {
    const old = snapshot.hashes.get(id);
    if (old !== undefined && old !== k?.hash) {
      snapshot.keys.delete(old);
      snapshot.hashes.delete(id);
    }
    if (k) {
      snapshot.keys.set(k.hash, k.entry);
      snapshot.hashes.set(id, k.hash);
    }
  }
  if (patch.adjusted.size) {
    for (const k of [...snapshot.adjustments.keys()]) {
      if (patch.adjusted.has(k.slice(0, k.lastIndexOf(':')))) snapshot.adjustments.delete(k);
    }
    for (const [k, v] of patch.adjustments) snapshot.adjustments.set(k, v);
  }
  snapshot.version = patch.upTo;
}
