/**
 * Direct inserts for gateway tests: a provider, an API with routes, a plan, a consumer, a
 * subscription and a key, without going through the admin API (which has its own tests).
 */
import { generateKey } from '../../src/keys/index.js';
import { newId } from '../../src/shared/index.js';
import type { Store } from '../../src/store/index.js';

export interface SeedRoute {
  method?: string;
  path: string;
  dimension?: string;
  units?: number;
  public?: boolean;
  throttle?: { rate: number; burst: number };
}

export interface SeedPlan {
  throttle?: { rate: number; burst: number } | null;
  quota?: { limit: number; period: 'DAY' | 'WEEK' | 'MONTH'; offset?: number; timeZone?: string } | null;
  routeThrottles?: Record<string, { rateLimit: number; burstLimit: number }>;
  overQuota?: 'block' | 'overage';
  billable?: 'lt500' | '2xx';
  failureMode?: 'open' | 'closed';
}

export async function seedProvider(store: Store, now = Date.now()): Promise<string> {
  const id = newId('prv');
  await store.db.insertInto('providers').values({ id, name: 'Acme APIs', created_at: now }).execute();
  return id;
}

export async function seedApi(
  store: Store,
  providerId: string,
  upstreamUrl: string,
  opts: {
    pathPrefix?: string;
    host?: string;
    routes?: SeedRoute[];
    timeoutMs?: number;
    cors?: { allowOrigins: string[]; allowMethods: string[]; allowHeaders: string[]; maxAgeSeconds: number };
    rateLimitHeaders?: boolean;
  } = {},
): Promise<{ apiId: string; routeIds: string[] }> {
  const apiId = newId('api');
  const now = Date.now();
  await store.db
    .insertInto('apis')
    .values({
      id: apiId,
      provider_id: providerId,
      name: 'Test API',
      upstream_url: upstreamUrl,
      path_prefix: opts.pathPrefix ?? null,
      host: opts.host ?? null,
      strip_prefix: 1,
      ratelimit_headers: opts.rateLimitHeaders === false ? 0 : 1,
      cors: opts.cors ? JSON.stringify(opts.cors) : null,
      timeout_ms: opts.timeoutMs ?? 30_000,
      openapi: null,
      created_at: now,
      updated_at: now,
    })
    .execute();
  const routeIds: string[] = [];
  for (const [i, r] of (opts.routes ?? []).entries()) {
    const id = newId('rte');
    routeIds.push(id);
    await store.db
      .insertInto('routes')
      .values({
        id,
        api_id: apiId,
        method: r.method ?? '*',
        path: r.path,
        dimension: r.dimension ?? 'requests',
        units: r.units ?? 1,
        public: r.public ? 1 : 0,
        throttle_rate: r.throttle?.rate ?? null,
        throttle_burst: r.throttle?.burst ?? null,
        position: i,
      })
      .execute();
  }
  return { apiId, routeIds };
}

export async function seedPlan(
  store: Store,
  providerId: string,
  apiIds: string[],
  p: SeedPlan,
): Promise<string> {
  const id = newId('pln');
  const now = Date.now();
  await store.db
    .insertInto('plans')
    .values({
      id,
      provider_id: providerId,
      name: 'Plan',
      description: '',
      api_ids: JSON.stringify(apiIds),
      throttle_rate: p.throttle?.rate ?? null,
      throttle_burst: p.throttle?.burst ?? null,
      quota_limit: p.quota?.limit ?? null,
      quota_period: p.quota?.period ?? null,
      quota_offset: p.quota?.offset ?? 0,
      quota_time_zone: p.quota?.timeZone ?? 'UTC',
      route_throttles: JSON.stringify(p.routeThrottles ?? {}),
      over_quota: p.overQuota ?? 'block',
      billable: p.billable ?? 'lt500',
      failure_mode: p.failureMode ?? 'open',
      created_at: now,
      updated_at: now,
    })
    .execute();
  return id;
}

export async function seedSubscription(
  store: Store,
  planId: string,
  opts: { startedAt?: number; status?: string } = {},
): Promise<{ consumerId: string; subscriptionId: string }> {
  const now = Date.now();
  const consumerId = newId('con');
  await store.db
    .insertInto('consumers')
    .values({
      id: consumerId,
      provider_id: null,
      name: 'Buyer',
      email: `${consumerId}@example.test`,
      external_customer_id: null,
      external: '{}',
      created_at: now,
      updated_at: now,
    })
    .execute();
  const subscriptionId = newId('sub');
  await store.db
    .insertInto('subscriptions')
    .values({
      id: subscriptionId,
      consumer_id: consumerId,
      plan_id: planId,
      status: opts.status ?? 'active',
      started_at: opts.startedAt ?? now,
      trial_ends_at: null,
      cancelled_at: null,
      created_at: now,
      updated_at: now,
    })
    .execute();
  return { consumerId, subscriptionId };
}

export async function seedKey(
  store: Store,
  subscriptionId: string,
  opts: { enabled?: boolean; expiresAt?: number | null } = {},
): Promise<{ keyId: string; value: string }> {
  const k = generateKey();
  const keyId = newId('key');
  const now = Date.now();
  await store.db
    .insertInto('api_keys')
    .values({
      id: keyId,
      subscription_id: subscriptionId,
      name: 'test key',
      prefix: k.prefix,
      hash: k.hash,
      enabled: opts.enabled === false ? 0 : 1,
      expires_at: opts.expiresAt ?? null,
      replaced_by: null,
      created_at: now,
      updated_at: now,
    })
    .execute();
  return { keyId, value: k.value };
}
