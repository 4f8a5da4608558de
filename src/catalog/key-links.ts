/**
 * A key in several plans (API Gateway's "an API key in several usage plans"). A key keeps
 * its own subscription (`api_keys.subscription_id`, what the admin API and the portal show
 * and what a rolled key inherits) and may be linked to further subscriptions
 * (`api_key_subscriptions`). The rule that makes (key, API) name one subscription: every
 * linked subscription is the same consumer's, and no two of the key's plans grant the same
 * API. The gateway then resolves a call to the subscription whose plan grants the called API.
 *
 * The rule is kept on both sides that can break it: `link` (a new plan for a key) and
 * plans.update (`overlapsOnPlanChange`, an API added to a plan some multi-plan key is on).
 *
 * Concurrency: `link` writes the key's row first and then touches the rows of every plan
 * involved before reading their APIs; a plan update writes its plan's row before checking.
 * On PostgreSQL those are row locks held to commit, so a link and a plan change that could
 * together break the rule wait for each other and the second sees the first; on SQLite the
 * first write takes the database's write lock.
 */
import { type Db, lockPlans, type Tx } from '../store/index.js';
import { type Actor, fail } from './context.js';
import { loadSubscription } from './subscriptions.js';

export interface KeySubscription {
  subscriptionId: string;
  planId: string;
  /** false: the key's own subscription (api_keys.subscription_id); true: a link. */
  linked: boolean;
}

/** The key's own subscription, then its links (oldest first), with their plans. */
export async function subscriptionsOfKey(db: Db | Tx, keyId: string): Promise<KeySubscription[]> {
  const own = await db
    .selectFrom('api_keys')
    .innerJoin('subscriptions', 'subscriptions.id', 'api_keys.subscription_id')
    .select(['subscriptions.id', 'subscriptions.plan_id'])
    .where('api_keys.id', '=', keyId)
    .executeTakeFirst();
  if (!own) return [];
  const links = await db
    .selectFrom('api_key_subscriptions')
    .innerJoin('subscriptions', 'subscriptions.id', 'api_key_subscriptions.subscription_id')
    .select(['subscriptions.id', 'subscriptions.plan_id'])
    .where('api_key_subscriptions.key_id', '=', keyId)
    .orderBy('api_key_subscriptions.created_at')
    .orderBy('subscriptions.id')
    .execute();
  return [
    { subscriptionId: own.id, planId: own.plan_id, linked: false },
    ...links.map((l) => ({ subscriptionId: l.id, planId: l.plan_id, linked: true })),
  ];
}

async function apisOfPlans(tx: Tx, planIds: string[]): Promise<Map<string, string[]>> {
  const ids = [...new Set(planIds)].sort();
  if (ids.length === 0) return new Map();
  // Row locks on the plans (see the header), then their APIs as committed.
  await lockPlans(tx, ids);
  const rows = await tx.selectFrom('plans').select(['id', 'api_ids']).where('id', 'in', ids).execute();
  return new Map(rows.map((r) => [r.id, JSON.parse(r.api_ids) as string[]]));
}

/**
 * Links `subscriptionId` to the key in the caller's transaction (the key is loaded and
 * scoped by the caller). Refuses with CONFLICT (field subscriptionId) when the key already
 * has that subscription or one of its plans grants an API the new plan grants.
 */
export async function linkInTx(
  tx: Tx,
  actor: Actor,
  key: { id: string; subscription_id: string },
  subscriptionId: string,
  now: number,
): Promise<{ before: string[]; after: string[]; planId: string }> {
  await tx.updateTable('api_keys').set({ updated_at: now }).where('id', '=', key.id).execute();
  const sub = await loadSubscription(tx, actor, subscriptionId).catch(() => {
    throw fail('NOT_FOUND', `subscription ${subscriptionId} does not exist`, 'subscriptionId');
  });
  if (sub.status === 'cancelled')
    throw fail('INVALID_STATE', 'the subscription is cancelled', 'subscriptionId');
  const own = await tx
    .selectFrom('subscriptions')
    .select('consumer_id')
    .where('id', '=', key.subscription_id)
    .executeTakeFirstOrThrow();
  if (own.consumer_id !== sub.consumer_id)
    throw fail(
      'INVALID_STATE',
      `belongs to consumer ${sub.consumer_id}; key ${key.id} to consumer ${own.consumer_id}`,
      'subscriptionId',
    );
  const subs = await subscriptionsOfKey(tx, key.id);
  if (subs.some((s) => s.subscriptionId === subscriptionId))
    throw fail('CONFLICT', `key ${key.id} already has subscription ${subscriptionId}`, 'subscriptionId');
  const apis = await apisOfPlans(tx, [sub.plan_id, ...subs.map((s) => s.planId)]);
  const wanted = apis.get(sub.plan_id) ?? [];
  for (const s of subs) {
    const shared = (apis.get(s.planId) ?? []).find((a) => wanted.includes(a));
    if (shared !== undefined)
      throw fail(
        'CONFLICT',
        `key ${key.id} already opens API ${shared} through plan ${s.planId}; a key's plans may not share an API`,
        'subscriptionId',
      );
  }
  await tx
    .insertInto('api_key_subscriptions')
    .values({ key_id: key.id, subscription_id: subscriptionId, created_at: now })
    .execute();
  const before = subs.map((s) => s.subscriptionId);
  return { before, after: [...before, subscriptionId], planId: sub.plan_id };
}

/**
 * Takes `subscriptionId` off the key in the caller's transaction: a link is deleted; the
 * key's own subscription is replaced by its oldest link (which stops being a link). The
 * key's last subscription cannot be taken off (INVALID_STATE): a key always has one.
 */
export async function unlinkInTx(
  tx: Tx,
  key: { id: string },
  subscriptionId: string,
  now: number,
): Promise<{ before: string[]; after: string[] }> {
  await tx.updateTable('api_keys').set({ updated_at: now }).where('id', '=', key.id).execute();
  const subs = await subscriptionsOfKey(tx, key.id);
  const before = subs.map((s) => s.subscriptionId);
  const found = subs.find((s) => s.subscriptionId === subscriptionId);
  if (!found)
    throw fail('NOT_FOUND', `key ${key.id} has no subscription ${subscriptionId}`, 'subscriptionId');
  if (!found.linked) {
    const next = subs.find((s) => s.linked);
    if (!next)
      throw fail(
        'INVALID_STATE',
        `is the only subscription of key ${key.id}; a key keeps one`,
        'subscriptionId',
      );
    await tx
      .updateTable('api_keys')
      .set({ subscription_id: next.subscriptionId })
      .where('id', '=', key.id)
      .execute();
    await tx
      .deleteFrom('api_key_subscriptions')
      .where('key_id', '=', key.id)
      .where('subscription_id', '=', next.subscriptionId)
      .execute();
  } else {
    await tx
      .deleteFrom('api_key_subscriptions')
      .where('key_id', '=', key.id)
      .where('subscription_id', '=', subscriptionId)
      .execute();
  }
  return { before, after: before.filter((s) => s !== subscriptionId) };
}

/**
 * For plans.update, after the plan's row is written: a multi-plan key on `planId` whose
 * other plan already grants one of `added` (an API the plan newly grants). Returns a
 * description of the first clash, or null.
 */
export async function overlapsOnPlanChange(
  tx: Tx,
  planId: string,
  added: string[],
): Promise<{ keyId: string; planId: string; apiId: string } | null> {
  if (added.length === 0) return null;
  // Keys with at least one link, through the key's own subscription or a linked one.
  const viaLink = tx
    .selectFrom('api_key_subscriptions')
    .innerJoin('subscriptions', 'subscriptions.id', 'api_key_subscriptions.subscription_id')
    .select('api_key_subscriptions.key_id')
    .where('subscriptions.plan_id', '=', planId);
  const viaOwn = tx
    .selectFrom('api_keys')
    .innerJoin('subscriptions', 'subscriptions.id', 'api_keys.subscription_id')
    .innerJoin('api_key_subscriptions', 'api_key_subscriptions.key_id', 'api_keys.id')
    .select('api_keys.id as key_id')
    .where('subscriptions.plan_id', '=', planId);
  const keyIds = [...new Set((await viaLink.union(viaOwn).execute()).map((r) => r.key_id))].sort();
  for (const keyId of keyIds) {
    for (const s of await subscriptionsOfKey(tx, keyId)) {
      if (s.planId === planId) continue;
      const row = await tx
        .selectFrom('plans')
        .select('api_ids')
        .where('id', '=', s.planId)
        .executeTakeFirst();
      const shared = (JSON.parse(row?.api_ids ?? '[]') as string[]).find((a) => added.includes(a));
      if (shared !== undefined) return { keyId, planId: s.planId, apiId: shared };
    }
  }
  return null;
}
