/**
 * Keys and usage plans. In API Gateway a key exists on its own and is added to plans; in
 * Tollgate a key belongs to a subscription (consumer × plan). The bridge:
 *
 * - A key created here gets a consumer (reused by `customerId` ↔ externalCustomerId within the
 *   provider, otherwise a new one named after the key) and, while it is in no usage plan, a
 *   subscription of that consumer to the provider's *holding plan* (reserved name
 *   HOLDING_PLAN, no APIs, so such a key opens nothing). The holding plan is created on first
 *   use and hidden from GetUsagePlans.
 * - CreateUsagePlanKey moves the key to the consumer's subscription on the target plan
 *   (reused, or created active) and cancels the holding subscription once it has no keys.
 *   A Tollgate key is in ONE plan: adding a key that is already in another plan is a
 *   ConflictException (remove it there first) — with API Gateway's own message when the two
 *   plans share an API stage (API Gateway refuses that too), and one naming Tollgate's rule
 *   when they do not (API Gateway would accept it; see docs/apigw.md for why Tollgate does not).
 * - DeleteUsagePlanKey moves the key back to the holding subscription. The subscription it
 *   leaves is not touched (it carries usage and billing; cancel it via the admin API or the
 *   marketplace).
 *
 * Moving a key is one UPDATE of api_keys plus its audit row, in one transaction. The catalog
 * has no "move key" yet, so after the commit the key is touched through catalog.keys.update
 * so that the catalog's onChange refreshes the gateway's snapshot (and the Redis fan-out).
 * Steps that create a consumer or subscription are separate catalog transactions; a failure
 * between them leaves at most an unused consumer or subscription, never a key in two places.
 */
import type { Actor, Catalog } from '../catalog/index.js';
import type { PlanProductLink } from '../marketplace/index.js';
import { isTollgateError, type Logger, newId } from '../shared/index.js';
import type { Store } from '../store/index.js';
import { badRequest, conflict, notFoundAws, nullIfNotFound } from './errors.js';
import type { KeyValueVault } from './key-values.js';
import { HOLDING_PLAN, type KeyRow, keysQuery, linkedKeysQuery, STAGE } from './model.js';
import { visiblePlan } from './resources.js';

export interface AttachDeps {
  catalog: Catalog;
  store: Store;
  clock: { now(): number };
  log: Logger;
  /** Sealed key values for includeValue(s); null unless the installation allows it. */
  keyValues: KeyValueVault | null;
  /** Usage plan productCode ↔ marketplace product; null where no marketplace is wired. */
  products: PlanProductLink | null;
}

export const PROVIDER_TAG = 'tollgate:providerId';

export { nullIfNotFound };

/** The provider a new key belongs to: the token's own; for the operator the tag, a plan's, or the only one. */
export async function resolveProvider(
  deps: AttachDeps,
  actor: Actor,
  hint: { tag?: string | undefined; planProviderId?: string | undefined },
): Promise<string> {
  if (actor.kind === 'provider') {
    if (hint.tag && hint.tag !== actor.providerId) throw notFoundAws(`provider ${hint.tag} does not exist`);
    return actor.providerId;
  }
  if (hint.tag) {
    await deps.catalog.providers.get(actor, hint.tag);
    return hint.tag;
  }
  if (hint.planProviderId) return hint.planProviderId;
  const providers = await deps.store.db.selectFrom('providers').select('id').limit(2).execute();
  if (providers.length === 1) return providers[0]!.id;
  throw badRequest(
    `tags.${PROVIDER_TAG}: required with an operator token when there is not exactly one provider (or add the key to a usage plan)`,
  );
}

export async function holdingPlanId(deps: AttachDeps, actor: Actor, providerId: string): Promise<string> {
  const found = await deps.store.db
    .selectFrom('plans')
    .select('id')
    .where('provider_id', '=', providerId)
    .where('name', '=', HOLDING_PLAN)
    .orderBy('id')
    .limit(1)
    .executeTakeFirst();
  if (found) return found.id;
  const plan = await deps.catalog.plans.create(actor, {
    providerId,
    name: HOLDING_PLAN,
    description: 'Holds API keys made through the API Gateway API that are in no usage plan. Grants no API.',
    apiIds: [],
  });
  return plan.id;
}

export async function consumerFor(
  deps: AttachDeps,
  actor: Actor,
  providerId: string,
  customerId: string | undefined,
  name: string,
): Promise<string> {
  if (customerId) {
    const found = await deps.store.db
      .selectFrom('consumers')
      .select('id')
      .where('provider_id', '=', providerId)
      .where('external_customer_id', '=', customerId)
      .orderBy('id')
      .limit(1)
      .executeTakeFirst();
    if (found) return found.id;
  }
  const c = await deps.catalog.consumers.create(actor, {
    providerId,
    name: name.trim() || 'API key',
    ...(customerId ? { externalCustomerId: customerId } : {}),
  });
  return c.id;
}

/** The consumer's live subscription to the plan, or a new active one. */
export async function subscriptionFor(
  deps: AttachDeps,
  actor: Actor,
  consumerId: string,
  planId: string,
): Promise<string> {
  const found = await deps.store.db
    .selectFrom('subscriptions')
    .select('id')
    .where('consumer_id', '=', consumerId)
    .where('plan_id', '=', planId)
    .where('status', '!=', 'cancelled')
    .orderBy('id')
    .limit(1)
    .executeTakeFirst();
  if (found) return found.id;
  return (await deps.catalog.subscriptions.create(actor, { consumerId, planId, status: 'active' })).id;
}

export async function loadKeyRow(deps: AttachDeps, actor: Actor, keyId: string): Promise<KeyRow> {
  const row = await keysQuery(deps.store, actor).where('api_keys.id', '=', keyId).executeTakeFirst();
  if (!row) throw notFoundAws('Invalid API Key identifier specified');
  return row;
}

async function moveKey(deps: AttachDeps, actor: Actor, key: KeyRow, toSubscription: string, toPlan: string) {
  const now = deps.clock.now();
  await deps.store.db.transaction().execute(async (tx) => {
    await tx
      .updateTable('api_keys')
      .set({ subscription_id: toSubscription, updated_at: now })
      .where('id', '=', key.id)
      .execute();
    await tx
      .insertInto('audit_log')
      .values({
        id: newId('aud', now),
        at: now,
        actor: actor.id,
        action: 'apigw.move',
        entity: 'key',
        entity_id: key.id,
        provider_id: key.provider_id,
        before: JSON.stringify({ subscriptionId: key.subscription_id, planId: key.plan_id }),
        after: JSON.stringify({ subscriptionId: toSubscription, planId: toPlan }),
      })
      .execute();
  });
  // Fan the change out through the catalog's onChange (snapshot refresh, Redis bus).
  await deps.catalog.keys.update(actor, key.id, {});
}

async function cancelIfEmptyHolding(deps: AttachDeps, actor: Actor, key: KeyRow): Promise<void> {
  if (key.plan_name !== HOLDING_PLAN) return;
  const left = await deps.store.db
    .selectFrom('api_keys')
    .select('id')
    .where('subscription_id', '=', key.subscription_id)
    .limit(1)
    .execute();
  if (left.length === 0) {
    await deps.catalog.subscriptions.cancel(actor, key.subscription_id).catch((err: Error) => {
      deps.log.warn(
        { err: err.message, subscriptionId: key.subscription_id },
        'could not cancel a holding subscription',
      );
    });
  }
}

/**
 * The key's usage plans as KeyRows: its own subscription's (unless that is the holding
 * plan), then its linked ones, oldest first.
 */
export async function keyPlans(deps: AttachDeps, actor: Actor, keyId: string): Promise<KeyRow[]> {
  const own = await loadKeyRow(deps, actor, keyId);
  const linked = await linkedKeysQuery(deps.store, actor)
    .where('api_keys.id', '=', keyId)
    .orderBy('api_key_subscriptions.created_at')
    .orderBy('api_key_subscriptions.subscription_id')
    .execute();
  return [...(own.plan_name === HOLDING_PLAN ? [] : [own]), ...linked];
}

/** The key as a member of `planId` (that plan's subscription), or NotFoundException. */
export async function keyInPlan(
  deps: AttachDeps,
  actor: Actor,
  planId: string,
  keyId: string,
): Promise<KeyRow> {
  const row = (await keyPlans(deps, actor, keyId)).find((r) => r.plan_id === planId);
  if (!row) throw notFoundAws(`Invalid Usage Plan Key identifier specified: ${keyId} is not in ${planId}`);
  return row;
}

const sameStage = (planId: string, keyId: string, apiId: string) =>
  conflict(
    `Usage Plan ${planId} cannot be added because API Key ${keyId} cannot reference multiple Usage Plans with the same API Stage: ${apiId}:${STAGE}`,
  );

/** CreateUsagePlanKey. */
export async function attachKey(
  deps: AttachDeps,
  actor: Actor,
  planId: string,
  keyId: string,
): Promise<KeyRow> {
  const plan = await visiblePlan(deps, actor, planId);
  const key = await loadKeyRow(deps, actor, keyId);
  const plans = await keyPlans(deps, actor, keyId);
  if (plans.some((r) => r.plan_id === planId))
    throw conflict(`Usage plan ${planId} already contains key ${keyId}`);
  for (const r of plans) {
    const current = await deps.catalog.plans.get(actor, r.plan_id);
    const shared = current.apiIds.find((id) => plan.apiIds.includes(id));
    if (shared !== undefined) throw sameStage(planId, keyId, shared);
  }
  if (key.provider_id !== plan.providerId)
    throw badRequest(
      `keyId: key ${keyId} belongs to provider ${key.provider_id}, the plan to ${plan.providerId}`,
    );
  const sub = await subscriptionFor(deps, actor, key.consumer_id, planId);
  if (plans.length === 0) {
    // In no plan yet: the key moves from its holding subscription to the plan's.
    await moveKey(deps, actor, key, sub, planId);
    await cancelIfEmptyHolding(deps, actor, key);
  } else {
    // Already in a plan: the plan's subscription is linked (the catalog checks the rule
    // again in its transaction; a concurrent change to the plans answers the same way).
    await deps.catalog.keys.link(actor, keyId, sub).catch((e: unknown) => {
      if (isTollgateError(e) && e.code === 'CONFLICT') {
        const api = /opens API (\S+)/.exec(e.message)?.[1];
        if (api) throw sameStage(planId, keyId, api);
      }
      throw e;
    });
  }
  return keyInPlan(deps, actor, planId, keyId);
}

/**
 * DeleteUsagePlanKey. A key in one plan moves back to its holding subscription; a key in
 * several leaves this one and keeps the others (catalog keys.unlink).
 */
export async function detachKey(
  deps: AttachDeps,
  actor: Actor,
  planId: string,
  keyId: string,
): Promise<void> {
  const plans = await keyPlans(deps, actor, keyId);
  const row = plans.find((r) => r.plan_id === planId);
  if (!row) throw notFoundAws(`Invalid Usage Plan Key identifier specified: ${keyId} is not in ${planId}`);
  if (plans.length > 1) {
    await deps.catalog.keys.unlink(actor, keyId, row.subscription_id);
    return;
  }
  const hold = await holdingPlanId(deps, actor, row.provider_id);
  const sub = await subscriptionFor(deps, actor, row.consumer_id, hold);
  await moveKey(deps, actor, row, sub, hold);
}

/** DeleteApiKey: the key, then its holding subscription if it is left empty. */
export async function deleteKey(deps: AttachDeps, actor: Actor, keyId: string): Promise<void> {
  const key = await loadKeyRow(deps, actor, keyId);
  // What this API keeps beside the key (value, tags, description) goes first, in one step.
  await deps.store.db.transaction().execute(async (tx) => {
    await tx.deleteFrom('apigw_key_values').where('key_id', '=', keyId).execute();
    await tx.deleteFrom('apigw_tags').where('resource_id', '=', keyId).execute();
    await tx.deleteFrom('apigw_resources').where('resource_id', '=', keyId).execute();
  });
  await deps.catalog.keys.delete(actor, keyId);
  await cancelIfEmptyHolding(deps, actor, key);
}

/** A key in no plan yet: consumer (by customerId) → holding subscription. Returns the subscription. */
export async function holdingSubscriptionFor(
  deps: AttachDeps,
  actor: Actor,
  providerId: string,
  customerId: string | undefined,
  name: string,
): Promise<string> {
  const consumerId = await consumerFor(deps, actor, providerId, customerId, name);
  const hold = await holdingPlanId(deps, actor, providerId);
  return subscriptionFor(deps, actor, consumerId, hold);
}
