/**
 * The buyer's subscription lifecycle over the catalog's consumer/subscription/key services.
 *
 *   subscribe ─▶ consumer linked ─▶ trialing | active ─▶ key provisioned (value shown once)
 *   changePlan (plan must be on offer; billing prorates)
 *   cancel ─▶ cancel_pending ─▶ flushUsage() ─▶ cancelled ─▶ keys disabled ─▶ billing.run() (final invoice)
 *   suspend ⇄ resume
 *
 * Externally fulfilled products (marketplace side, `registrationUrl` set) create no key:
 * the buyer gets an agreement and a registration token to take to the provider, and the
 * provider hears `subscribe-success`; cancelling sends `unsubscribe-pending`, and after
 * the grace period (AWS: about an hour) `completeCancellations()` moves the subscription
 * to `cancelled` and sends `unsubscribe-success`.
 *
 * Every transition appends a row to `subscription_events` (append-only, written right
 * after the catalog's transaction commits) and emits a signed provider webhook
 * `subscription.<type>` through src/webhooks when wired. Key disabling goes through the
 * catalog, whose onChange makes the gateway drop the keys from its snapshot.
 */
import { z } from 'zod';
import { invalid, notFound, TollgateError } from '../shared/index.js';
import { type Actor, MARKETPLACE_ACTOR, parseInput, type SubscriptionLike } from './ports.js';
import type { Product } from './products.js';
import { type LifecycleDeps, type SubscriptionRecords, subscriptionRecords } from './subscription-records.js';

export const DEFAULT_CANCEL_GRACE_MS = 3600_000;

export const subscribeInput = z.strictObject({
  productId: z.string().min(1).max(64),
  planId: z.string().min(1).max(64),
  consumerId: z.string().min(1).max(64).optional(),
  consumer: z
    .strictObject({
      name: z.string().trim().min(1).max(200),
      email: z.email().max(320).nullable().optional(),
    })
    .optional(),
  inviteCode: z.string().max(200).optional(),
  keyName: z.string().trim().max(200).optional(),
});

export interface SubscribeResult {
  subscription: SubscriptionLike;
  product: Product;
  /** Metered products on this Tollgate: the key, shown once. */
  key?: { id: string; prefix: string; value: string };
  /** Externally fulfilled products: where to send the buyer, with this token (form POST). */
  registration?: { url: string; token: string; expiresAt: string };
}

export type { LifecycleDeps, SubscriptionEvent } from './subscription-records.js';

export function createLifecycle(deps: LifecycleDeps) {
  const { clock } = deps;
  const grace = deps.cancelGraceMs ?? DEFAULT_CANCEL_GRACE_MS;
  const records = subscriptionRecords(deps);
  const { load, record, setStatus, disableKeys, enableKeys, notifyProvider, history, dueCancellations } =
    records;

  /** Flush, cancel, disable keys, then bill the final partial period (billing closes it at cancelled_at). */
  async function finish(id: string, actor: Actor): Promise<void> {
    await deps.flushUsage?.();
    await setStatus(id, 'cancelled', 'cancelled', actor);
    const disabled = await disableKeys(id);
    if (disabled)
      await record(await load(id), 'keys_disabled', 'cancelled', 'cancelled', actor, { keys: disabled });
    try {
      await deps.billing?.run?.({ subscriptionId: id });
    } catch (err) {
      deps.log.error({ err, subscriptionId: id }, 'final billing run failed; the scheduled run will retry');
    }
  }

  return {
    /** Subscribes a consumer to a plan of a product; see `subscribe` below. */
    subscribe: (input: z.input<typeof subscribeInput>, actor: Actor = MARKETPLACE_ACTOR) =>
      subscribe(deps, records, input, actor),

    /** A fresh registration token for an externally fulfilled subscription (the buyer lost the first). */
    async registrationToken(subscriptionId: string) {
      const a = await deps.agreements.bySubscription(subscriptionId);
      if (!a) throw notFound('agreement for subscription', subscriptionId);
      return deps.agreements.issueToken(a.id);
    },
    changePlan: (id: string, planId: string, actor: Actor = MARKETPLACE_ACTOR) =>
      changePlan(deps, records, id, planId, actor),

    /** cancel_pending → (flush, final invoice) → cancelled → keys disabled; external: waits for the grace period. */
    async cancel(id: string, actor: Actor = MARKETPLACE_ACTOR, reason = 'requested') {
      const before = await load(id, actor);
      if (before.status === 'cancelled') return before;
      if (before.status !== 'cancel_pending')
        await setStatus(id, 'cancel_pending', 'cancel_requested', actor, { reason });
      const external = await deps.agreements.bySubscription(id);
      if (external) {
        await notifyProvider(id, 'unsubscribe-pending');
        return load(id);
      }
      await finish(id, actor);
      return load(id);
    },

    /** Marketplace side: completes cancellations whose grace period has passed. Returns how many. */
    async completeCancellations(): Promise<number> {
      const due = await dueCancellations(clock.now() - grace);
      for (const { id } of due) await completeCancellation(id);
      return due.length;
    },

    completeCancellation,

    /** Provider side: activation once the external marketplace confirms (`subscribe-success`). */
    async activate(id: string, actor: Actor = MARKETPLACE_ACTOR, data?: Record<string, unknown>) {
      const s = await load(id, actor);
      if (s.status === 'active' || s.status === 'trialing') return s;
      if (s.status === 'cancelled')
        throw new TollgateError('INVALID_STATE', 'status: the subscription is cancelled');
      const out = await setStatus(id, 'active', 'activated', actor, data);
      await enableKeys(id);
      return out;
    },

    /**
     * Provider side (unsubscribe-pending): cancel_pending, and access ends now — the caller then
     * flushes and exports the final usage. Calls made after that export could never be metered
     * (one record per customer, dimension and hour, and the marketplace closes the agreement at
     * unsubscribe-success), so the keys stop before it, not an hour later.
     */
    async markCancelPending(id: string, actor: Actor = MARKETPLACE_ACTOR, reason = 'unsubscribe-pending') {
      const s = await load(id, actor);
      if (!['trialing', 'active', 'suspended'].includes(s.status)) return s;
      const pending = await setStatus(id, 'cancel_pending', 'cancel_requested', actor, { reason });
      const disabled = await disableKeys(id);
      if (disabled)
        await record(pending, 'keys_disabled', 'cancel_pending', 'cancel_pending', actor, { keys: disabled });
      return pending;
    },

    /** Provider side: the external marketplace says the buyer is gone — cancel now. */
    finish: (id: string, actor: Actor = MARKETPLACE_ACTOR) => finish(id, actor),

    async suspend(id: string, actor: Actor = MARKETPLACE_ACTOR, reason = 'suspended') {
      return setStatus(id, 'suspended', 'suspended', actor, { reason });
    },

    async resume(id: string, actor: Actor = MARKETPLACE_ACTOR) {
      const s = await load(id, actor);
      if (s.status !== 'suspended')
        throw new TollgateError('INVALID_STATE', `status: ${s.status}, not suspended`);
      const inTrial = s.trial_ends_at !== null && s.trial_ends_at > clock.now();
      return setStatus(id, inTrial ? 'trialing' : 'active', 'resumed', actor);
    },
    history,
    record,
    disableKeys,
  };

  async function completeCancellation(id: string, actor: Actor = MARKETPLACE_ACTOR) {
    const s = await load(id, actor);
    if (s.status !== 'cancel_pending') {
      throw new TollgateError('INVALID_STATE', `status: ${s.status}, not cancel_pending`);
    }
    await finish(id, actor);
    await notifyProvider(id, 'unsubscribe-success');
    return load(id);
  }
}

/**
 * `actor`: who asks. A provider token may subscribe only consumers it can already see
 * (NOT_FOUND otherwise, as for any record outside its scope): a subscription makes the
 * consumer visible to the plan's provider, so naming someone else's would borrow them.
 */
async function subscribe(
  deps: LifecycleDeps,
  { load, record, notifyProvider }: SubscriptionRecords,
  input: z.input<typeof subscribeInput>,
  actor: Actor,
): Promise<SubscribeResult> {
  const { catalog, clock } = deps;
  const d = parseInput(subscribeInput, input);
  const product = await deps.products.view(d.productId, d.inviteCode);
  if (!product.planIds.includes(d.planId))
    throw invalid('planId', 'this plan is not on offer for the product');
  if (d.consumerId && actor.kind === 'provider') await catalog.consumers.get(actor, d.consumerId);
  let consumerId = d.consumerId;
  if (!consumerId) {
    if (!d.consumer) throw invalid('consumer', 'give consumerId or consumer { name, email }');
    consumerId = (await catalog.consumers.create(MARKETPLACE_ACTOR, { providerId: null, ...d.consumer })).id;
  }
  const trialDays = (await deps.billing?.getPrice?.(d.planId))?.price.trialDays ?? 0;
  const now = clock.now();
  const sub = await catalog.subscriptions.create(MARKETPLACE_ACTOR, {
    consumerId,
    planId: d.planId,
    status: trialDays > 0 ? 'trialing' : 'active',
    trialEndsAt: trialDays > 0 ? new Date(now + trialDays * 86_400_000).toISOString() : null,
  });
  const loaded = await load(sub.id);
  await record(loaded, 'subscribed', null, sub.status, MARKETPLACE_ACTOR, {
    productId: product.id,
    planId: d.planId,
    consumerId,
  });
  const result: SubscribeResult = { subscription: sub, product };
  if (product.registrationUrl) {
    const agreement = await deps.agreements.ensure(sub.id, product.id);
    const t = await deps.agreements.issueToken(agreement.id);
    result.registration = {
      url: product.registrationUrl,
      token: t.token,
      expiresAt: new Date(t.expiresAt).toISOString(),
    };
    await notifyProvider(sub.id, 'subscribe-success');
  } else if (product.fulfilment === 'metered') {
    const key = await catalog.keys.create(MARKETPLACE_ACTOR, {
      subscriptionId: sub.id,
      name: d.keyName ?? product.title,
    });
    result.key = { id: key.id, prefix: key.prefix, value: key.value };
    await record(loaded, 'key_provisioned', sub.status, sub.status, MARKETPLACE_ACTOR, { keyId: key.id });
  }
  return result;
}

/** To another plan offered alongside the current one; billing prorates, the provider hears `entitlement-updated`. */
async function changePlan(
  deps: LifecycleDeps,
  { load, record, notifyProvider }: SubscriptionRecords,
  id: string,
  planId: string,
  actor: Actor,
) {
  const { db, clock } = deps;
  const before = await load(id, actor);
  if (!['trialing', 'active'].includes(before.status)) {
    throw new TollgateError(
      'INVALID_STATE',
      `status: cannot change the plan of a ${before.status} subscription`,
    );
  }
  if (before.plan_id === planId) return before;
  const offers = await db
    .selectFrom('marketplace_products')
    .select('plan_ids')
    .where('provider_id', '=', before.provider_id)
    .where('status', '=', 'published')
    .execute();
  const ok = offers.some((o) => {
    const p = JSON.parse(o.plan_ids) as string[];
    return p.includes(before.plan_id) && p.includes(planId);
  });
  if (!ok) throw invalid('planId', 'this plan is not on offer alongside the current one');
  const at = clock.now();
  await db.transaction().execute(async (tx) => {
    await tx
      .updateTable('subscriptions')
      .set({ plan_id: planId, updated_at: at })
      .where('id', '=', id)
      .execute();
    await deps.billing?.recordPlanChange?.({ subscriptionId: id, toPlanId: planId, at }, tx);
  });
  deps.onChange?.({ entity: 'subscription', id, action: 'update' });
  await record(before, 'plan_changed', before.status, before.status, actor, {
    from: before.plan_id,
    to: planId,
  });
  await notifyProvider(id, 'entitlement-updated');
  return { ...before, plan_id: planId };
}

export type Lifecycle = ReturnType<typeof createLifecycle>;
