/**
 * What an admin token may see of usage. The operator sees everything. A provider token sees
 * the usage of subscriptions on its own plans. A plan grants only its provider's APIs, so
 * that is exactly the usage rows of the provider's APIs — the filter used, because a
 * provider has a few APIs but may have more subscriptions than a statement has parameters.
 * Rejections are scoped the same way (including unknown keys, which have no subscription).
 * A named subscription, key, API or plan it may not see answers 404, exactly as a missing
 * one (the catalog's rule).
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
