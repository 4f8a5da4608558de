/**
 * Read queries scoped to one buyer (consumer). The catalog's actors are operator or provider
 * only, so buyer scoping lives here: every query filters on the consumer id, and a record of
 * someone else answers NOT_FOUND exactly like a missing one (no existence leak, no IDOR).
 * Writes still go through the catalog and marketplace services.
 */
import { notFound } from '../../shared/index.js';
import type { Store } from '../../store/index.js';

export interface BuyerSubscription {
  id: string;
  planId: string;
  planName: string;
  providerId: string;
  providerName: string;
  status: string;
  startedAt: number;
  trialEndsAt: number | null;
  product: { id: string; title: string; planIds: string[] } | null;
}

export interface BuyerKey {
  id: string;
  subscriptionId: string;
  name: string;
  prefix: string;
  enabled: boolean;
  expiresAt: number | null;
  replacedBy: string | null;
  createdAt: number;
  planName: string;
}

export function buyerQueries(store: Store) {
  const { db } = store;

  async function products(providerIds: string[]) {
    if (!providerIds.length) return [];
    const rows = await db
      .selectFrom('marketplace_products')
      .select(['id', 'title', 'plan_ids', 'provider_id', 'status'])
      .where('provider_id', 'in', providerIds)
      .orderBy('id')
      .execute();
    return rows.map((r) => ({ ...r, planIds: JSON.parse(r.plan_ids) as string[] }));
  }

  async function subscriptions(consumerId: string, id?: string): Promise<BuyerSubscription[]> {
    let q = db
      .selectFrom('subscriptions as s')
      .innerJoin('plans as p', 'p.id', 's.plan_id')
      .innerJoin('providers as v', 'v.id', 'p.provider_id')
      .select([
        's.id',
        's.plan_id',
        's.status',
        's.started_at',
        's.trial_ends_at',
        'p.name as plan_name',
        'p.provider_id',
        'v.name as provider_name',
      ])
      .where('s.consumer_id', '=', consumerId)
      .orderBy('s.id', 'desc');
    if (id) q = q.where('s.id', '=', id);
    const rows = await q.execute();
    const prods = await products([...new Set(rows.map((r) => r.provider_id))]);
    return rows.map((r) => {
      const pr =
        prods.find((p) => p.status === 'published' && p.planIds.includes(r.plan_id)) ??
        prods.find((p) => p.planIds.includes(r.plan_id));
      return {
        id: r.id,
        planId: r.plan_id,
        planName: r.plan_name,
        providerId: r.provider_id,
        providerName: r.provider_name,
        status: r.status,
        startedAt: Number(r.started_at),
        trialEndsAt: r.trial_ends_at == null ? null : Number(r.trial_ends_at),
        product: pr ? { id: pr.id, title: pr.title, planIds: pr.planIds } : null,
      };
    });
  }

  return {
    subscriptions: (consumerId: string) => subscriptions(consumerId),

    async subscription(consumerId: string, id: string): Promise<BuyerSubscription> {
      const [s] = await subscriptions(consumerId, id);
      if (!s) throw notFound('subscription', id);
      return s;
    },

    async keys(consumerId: string, keyId?: string): Promise<BuyerKey[]> {
      let q = db
        .selectFrom('api_keys as k')
        .innerJoin('subscriptions as s', 's.id', 'k.subscription_id')
        .innerJoin('plans as p', 'p.id', 's.plan_id')
        .select([
          'k.id',
          'k.subscription_id',
          'k.name',
          'k.prefix',
          'k.enabled',
          'k.expires_at',
          'k.replaced_by',
          'k.created_at',
          'p.name as plan_name',
        ])
        .where('s.consumer_id', '=', consumerId)
        .orderBy('k.id', 'desc');
      if (keyId) q = q.where('k.id', '=', keyId);
      return (await q.execute()).map((r) => ({
        id: r.id,
        subscriptionId: r.subscription_id,
        name: r.name,
        prefix: r.prefix,
        enabled: r.enabled === 1,
        expiresAt: r.expires_at == null ? null : Number(r.expires_at),
        replacedBy: r.replaced_by,
        createdAt: Number(r.created_at),
        planName: r.plan_name,
      }));
    },

    async key(consumerId: string, keyId: string): Promise<BuyerKey> {
      const [k] = await this.keys(consumerId, keyId);
      if (!k) throw notFound('key', keyId);
      return k;
    },

    /** Does this consumer already hold a live subscription to one of these plans? */
    async liveSubscriptionTo(consumerId: string, planIds: string[]): Promise<string | null> {
      if (!planIds.length) return null;
      const r = await db
        .selectFrom('subscriptions')
        .select('id')
        .where('consumer_id', '=', consumerId)
        .where('plan_id', 'in', planIds)
        .where('status', 'in', ['pending', 'trialing', 'active', 'suspended'])
        .executeTakeFirst();
      return r?.id ?? null;
    },
  };
}

export type BuyerQueries = ReturnType<typeof buyerQueries>;
