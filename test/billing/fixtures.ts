/** Rows for billing tests, inserted directly into the core tables. */
import type { Store } from '../../src/store/index.js';

export async function provider(store: Store, id = 'prv_acme', name = 'Acme APIs'): Promise<string> {
  await store.db.insertInto('providers').values({ id, name, created_at: 0 }).execute();
  return id;
}

export async function plan(store: Store, id: string, providerId = 'prv_acme', name = id): Promise<string> {
  await store.db
    .insertInto('plans')
    .values({
      id,
      provider_id: providerId,
      name,
      description: '',
      api_ids: '[]',
      throttle_rate: null,
      throttle_burst: null,
      quota_limit: null,
      quota_period: null,
      quota_offset: 0,
      quota_time_zone: 'UTC',
      route_throttles: '{}',
      over_quota: 'block',
      billable: 'lt500',
      failure_mode: 'open',
      created_at: 0,
      updated_at: 0,
    })
    .execute();
  return id;
}

export async function consumer(store: Store, id: string, name = 'Buyer Ltd', email: string | null = null) {
  await store.db
    .insertInto('consumers')
    .values({
      id,
      provider_id: null,
      name,
      email,
      external_customer_id: null,
      external: '{}',
      created_at: 0,
      updated_at: 0,
    })
    .execute();
  return id;
}

export async function subscription(
  store: Store,
  s: {
    id: string;
    consumerId: string;
    planId: string;
    startedAt: number;
    status?: string;
    trialEndsAt?: number | null;
    cancelledAt?: number | null;
  },
): Promise<string> {
  await store.db
    .insertInto('subscriptions')
    .values({
      id: s.id,
      consumer_id: s.consumerId,
      plan_id: s.planId,
      status: s.status ?? 'active',
      started_at: s.startedAt,
      trial_ends_at: s.trialEndsAt ?? null,
      cancelled_at: s.cancelledAt ?? null,
      created_at: s.startedAt,
      updated_at: s.startedAt,
    })
    .execute();
  return s.id;
}

export interface UsageRow {
  subscription_id: string;
  key_id: string;
  api_id: string;
  dimension: string;
  hour: number;
  units: number;
  requests: number;
}

export async function usage(store: Store, rows: UsageRow[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 500)
    await store.db
      .insertInto('usage')
      .values(rows.slice(i, i + 500))
      .execute();
}
