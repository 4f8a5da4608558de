/**
 * What an admin token may see of usage. The operator sees everything. A provider token sees
 * the usage of subscriptions on its own plans (and, for rejections, requests to its own APIs,
 * which include unknown keys that belong to no subscription). A named subscription, key, API
 * or plan it may not see answers 404, exactly as a missing one (the catalog's rule).
 */
import type { Actor, Catalog } from '../../catalog/index.js';
import type { Store } from '../../store/index.js';

export interface Filters {
  subscriptionId?: string | undefined;
  keyId?: string | undefined;
  apiId?: string | undefined;
}

/** Throws NOT_FOUND for a named record the actor may not see. */
export async function checkVisible(catalog: Catalog, actor: Actor, f: Filters): Promise<void> {
  if (actor.kind === 'operator') return;
  if (f.subscriptionId) await catalog.subscriptions.get(actor, f.subscriptionId);
  if (f.keyId) await catalog.keys.get(actor, f.keyId);
  if (f.apiId) await catalog.apis.get(actor, f.apiId);
}

/** The subscriptions on a provider's plans, or undefined (no restriction) for the operator. */
export async function scopeSubscriptions(store: Store, actor: Actor): Promise<string[] | undefined> {
  if (actor.kind === 'operator') return undefined;
  const rows = await store.db
    .selectFrom('subscriptions')
    .innerJoin('plans', 'plans.id', 'subscriptions.plan_id')
    .select('subscriptions.id')
    .where('plans.provider_id', '=', actor.providerId)
    .execute();
  return rows.map((r) => r.id);
}

/** A provider's APIs, or undefined for the operator. */
export async function scopeApis(store: Store, actor: Actor): Promise<string[] | undefined> {
  if (actor.kind === 'operator') return undefined;
  const rows = await store.db
    .selectFrom('apis')
    .select('id')
    .where('provider_id', '=', actor.providerId)
    .execute();
  return rows.map((r) => r.id);
}
