/**
 * What every subscription transition reads and writes: the subscription with its provider
 * (NOT_FOUND outside the actor's scope), the append-only `subscription_events` row and its
 * `subscription.<type>` webhook, status changes through the catalog, the subscription's keys,
 * and the notification to an externally fulfilled product's provider.
 */
import { type Clock, type Logger, notFound } from '../shared/index.js';
import type { Db } from '../store/index.js';
import type { SubscriptionEventTable } from '../store/tables/marketplace.js';
import type { AgreementService } from './agreements.js';
import { eventId } from './ids.js';
import type { Notifier } from './outbound-notifications.js';
import {
  type Actor,
  type BillingPort,
  type CatalogPort,
  MARKETPLACE_ACTOR,
  type WebhooksPort,
} from './ports.js';
import type { ProductService } from './products.js';

export interface SubscriptionEvent {
  id: string;
  subscriptionId: string;
  type: string;
  fromStatus: string | null;
  toStatus: string;
  actor: string;
  data: Record<string, unknown>;
  at: string;
}
export interface LifecycleDeps {
  db: Db;
  clock: Clock;
  log: Logger;
  catalog: CatalogPort;
  products: ProductService;
  agreements: AgreementService;
  notifier: Notifier;
  webhooks?: WebhooksPort;
  billing?: BillingPort;
  /** Flushes the gateway's in-memory usage to the store (src/main passes the meter's flush). */
  flushUsage?: () => Promise<void>;
  /** Called after a write the catalog did not see (plan change), so the gateway reloads. */
  onChange?: (change: { entity: string; id: string; action: string }) => void;
  cancelGraceMs?: number;
}
export function subscriptionRecords(deps: LifecycleDeps) {
  const { db, clock, catalog } = deps;

  async function load(id: string, actor: Actor = MARKETPLACE_ACTOR) {
    let q = db
      .selectFrom('subscriptions')
      .innerJoin('plans', 'plans.id', 'subscriptions.plan_id')
      .selectAll('subscriptions')
      .select('plans.provider_id')
      .where('subscriptions.id', '=', id);
    if (actor.kind === 'provider') q = q.where('plans.provider_id', '=', actor.providerId);
    const row = await q.executeTakeFirst();
    if (!row) throw notFound('subscription', id);
    return row;
  }

  async function record(
    sub: { id: string; provider_id: string },
    type: string,
    from: string | null,
    to: string,
    actor: Actor,
    data: Record<string, unknown> = {},
  ): Promise<void> {
    const at = clock.now();
    await db
      .insertInto('subscription_events')
      .values({
        id: eventId(at),
        subscription_id: sub.id,
        type,
        from_status: from,
        to_status: to,
        actor: actor.id,
        data: JSON.stringify(data),
        at,
      })
      .execute();
    try {
      await deps.webhooks?.emit(sub.provider_id, `subscription.${type}`, {
        subscriptionId: sub.id,
        from,
        to,
        at: new Date(at).toISOString(),
        ...data,
      });
    } catch (err) {
      deps.log.error({ err, subscriptionId: sub.id, type }, 'subscription webhook could not be queued');
    }
  }

  async function setStatus(
    id: string,
    to: string,
    type: string,
    actor: Actor,
    data?: Record<string, unknown>,
  ) {
    const before = await load(id, actor);
    if (before.status === to) return before;
    await catalog.subscriptions.update(MARKETPLACE_ACTOR, id, { status: to });
    await record(before, type, before.status, to, actor, data);
    return { ...before, status: to };
  }

  async function disableKeys(subscriptionId: string): Promise<number> {
    const keys = await db
      .selectFrom('api_keys')
      .select('id')
      .where('subscription_id', '=', subscriptionId)
      .where('enabled', '=', 1)
      .execute();
    for (const k of keys) await catalog.keys.disable(MARKETPLACE_ACTOR, k.id);
    return keys.length;
  }

  const notifyProvider = (subscriptionId: string, action: NotifyAction) =>
    notifyProductProvider(deps, subscriptionId, action);

  async function enableKeys(subscriptionId: string): Promise<void> {
    const keys = await db
      .selectFrom('api_keys')
      .select('id')
      .where('subscription_id', '=', subscriptionId)
      .where('enabled', '=', 0)
      .where('replaced_by', 'is', null)
      .execute();
    for (const k of keys) await catalog.keys.enable(MARKETPLACE_ACTOR, k.id);
  }

  async function history(id: string, actor: Actor = MARKETPLACE_ACTOR): Promise<SubscriptionEvent[]> {
    await load(id, actor);
    const rows = await db
      .selectFrom('subscription_events')
      .selectAll()
      .where('subscription_id', '=', id)
      .orderBy('id')
      .execute();
    return rows.map(eventView);
  }

  /** Externally fulfilled subscriptions whose cancellation was asked for before `before`. */
  async function dueCancellations(before: number): Promise<Array<{ id: string }>> {
    return db
      .selectFrom('subscription_events as e')
      .innerJoin('subscriptions as s', 's.id', 'e.subscription_id')
      .innerJoin('marketplace_agreements as a', 'a.subscription_id', 's.id')
      .select('s.id')
      .distinct()
      .where('s.status', '=', 'cancel_pending')
      .where('e.type', '=', 'cancel_requested')
      .where('e.at', '<=', before)
      .execute();
  }

  return { load, record, setStatus, disableKeys, enableKeys, notifyProvider, history, dueCancellations };
}

export type SubscriptionRecords = ReturnType<typeof subscriptionRecords>;

type NotifyAction = Parameters<Notifier['send']>[1];

/** Tells an externally fulfilled product's provider (its notification URL), if it has one. */
async function notifyProductProvider(
  deps: LifecycleDeps,
  subscriptionId: string,
  action: NotifyAction,
): Promise<void> {
  const a = await deps.agreements.bySubscription(subscriptionId);
  if (!a) return;
  const product = await deps.db
    .selectFrom('marketplace_products')
    .select(['notification_url', 'product_code'])
    .where('id', '=', a.productId)
    .executeTakeFirst();
  if (!product?.notification_url) return;
  await deps.notifier.send(
    {
      url: product.notification_url,
      providerId: a.providerId,
      productCode: product.product_code,
      customerIdentifier: a.customerIdentifier,
      customerAWSAccountId: a.customerAWSAccountId,
      licenseArn: a.licenseArn,
    },
    action,
  );
}

function eventView(r: SubscriptionEventTable): SubscriptionEvent {
  return {
    id: r.id,
    subscriptionId: r.subscription_id,
    type: r.type,
    fromStatus: r.from_status,
    toStatus: r.to_status,
    actor: r.actor,
    data: JSON.parse(r.data),
    at: new Date(Number(r.at)).toISOString(),
  };
}
