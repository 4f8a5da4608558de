/**
 * Applying catalog changes to a live snapshot, entity by entity, instead of reloading it.
 *
 * `loadPatch` reads, for a run of consecutive changes from the change log, only what they
 * touched — a key (with its subscription and spend cap), every key of a subscription (with
 * its quota adjustments), a plan, or the API list (small: reread whole) — and builds the new
 * entries off to the side. `applyPatch` then puts them in place synchronously, between two
 * requests. Replaced entries and plans are new objects (see snapshot.ts).
 *
 * A key's `cappedUntil` comes from the spend budget of its subscription, read with the key:
 * a change to a key of a capped buyer keeps the cap.
 *
 * Entities the gateway does not hold (consumers, prices, invoices…) cost nothing.
 */
import type { Db, LoggedChange } from '../store/index.js';
import {
  type CompiledApi,
  type CompiledPlan,
  compileApis,
  compilePlan,
  type KeyEntry,
  keyEntry,
  keyRows,
  loadAdjustments,
  loadCaps,
  onPlan,
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
  const rows = [
    ...(keyIds.length ? await keyRows(db).where('api_keys.id', 'in', keyIds).execute() : []),
    ...(subIds.length ? await keyRows(db).where('subscriptions.id', 'in', subIds).execute() : []),
  ];
  for (const id of keyIds) patch.keys.set(id, null);
  // A key may name a plan this snapshot has not seen yet: read it too.
  const planOf = (id: string) => (patch.plans.has(id) ? patch.plans.get(id) : snapshot.plans.get(id));
  const missing = [...new Set(rows.map((r) => r.plan_id))].filter((id) => planOf(id) === undefined);
  if (missing.length) {
    for (const p of await db.selectFrom('plans').selectAll().where('id', 'in', missing).execute())
      patch.plans.set(p.id, compilePlan(p, now));
  }
  const caps = await loadCaps(db, now, [...new Set(rows.map((r) => r.subscription_id))]);
  for (const r of rows) {
    const plan = planOf(r.plan_id);
    patch.keys.set(
      r.key_id,
      plan ? { hash: r.hash, entry: keyEntry(r, plan, caps.get(r.subscription_id) ?? 0) } : null,
    );
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
      if (!patch.plans.has(e.plan.id) || patch.keys.has(e.keyId)) continue;
      const plan = patch.plans.get(e.plan.id);
      before.push(e);
      if (plan) after.push(onPlan(e, plan));
    }
  }
  return { before, after };
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
      if (!patch.plans.has(e.plan.id)) continue;
      const plan = patch.plans.get(e.plan.id);
      if (plan) snapshot.keys.set(hash, onPlan(e, plan));
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
