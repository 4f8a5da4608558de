/** Raw rows for marketplace tests (provider, API with routes, plan, consumer, subscription, product). */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';
import type { Db } from '../../src/store/index.js';

let n = 0;
const uid = (p: string) =>
  `${p}_T${Date.now().toString(36).toUpperCase()}${(n++).toString().padStart(4, '0')}`;

export async function seedProvider(db: Db, now: number) {
  const providerId = uid('prv');
  const apiId = uid('api');
  const planId = uid('pln');
  await db.insertInto('providers').values({ id: providerId, name: 'Acme', created_at: now }).execute();
  await db
    .insertInto('apis')
    .values({
      id: apiId,
      provider_id: providerId,
      name: 'nouns',
      upstream_url: 'http://127.0.0.1:9',
      path_prefix: '/nouns',
      host: null,
      strip_prefix: 1,
      ratelimit_headers: 1,
      timeout_ms: 30000,
      openapi: null,
      created_at: now,
      updated_at: now,
    })
    .execute();
  for (const [i, dimension] of ['requests', 'chars'].entries()) {
    await db
      .insertInto('routes')
      .values({
        id: uid('rte'),
        api_id: apiId,
        method: '*',
        path: `/r${i}`,
        dimension,
        units: 1,
        public: 0,
        throttle_rate: null,
        throttle_burst: null,
        position: i,
      })
      .execute();
  }
  await db
    .insertInto('plans')
    .values({
      id: planId,
      provider_id: providerId,
      name: 'Basic',
      description: '',
      api_ids: JSON.stringify([apiId]),
      throttle_rate: null,
      throttle_burst: null,
      quota_limit: 1000,
      quota_period: 'MONTH',
      quota_offset: 0,
      quota_time_zone: 'UTC',
      route_throttles: '{}',
      over_quota: 'block',
      billable: 'lt500',
      failure_mode: 'open',
      created_at: now,
      updated_at: now,
    })
    .execute();
  return { providerId, apiId, planId };
}

export async function seedProduct(
  db: Db,
  now: number,
  p: { providerId: string; apiId: string; planId: string },
  extra: { productCode?: string; registrationUrl?: string | null; externalProductCode?: string | null } = {},
) {
  const id = uid('prd');
  const productCode = extra.productCode ?? `pc${id.slice(5).toLowerCase()}`;
  await db
    .insertInto('marketplace_products')
    .values({
      id,
      provider_id: p.providerId,
      title: 'Nouns',
      summary: 's',
      description: 'd',
      api_ids: JSON.stringify([p.apiId]),
      plan_ids: JSON.stringify([p.planId]),
      visibility: 'public',
      invite_codes: '[]',
      fulfilment: 'metered',
      external_product_code: extra.externalProductCode ?? null,
      product_code: productCode,
      registration_url:
        extra.registrationUrl === undefined ? 'http://127.0.0.1:1/register' : extra.registrationUrl,
      notification_url: null,
      status: 'published',
      published_at: now,
      created_at: now,
      updated_at: now,
    })
    .execute();
  return { productId: id, productCode };
}

export async function seedSubscription(db: Db, now: number, planId: string, status = 'active') {
  const consumerId = uid('con');
  const subscriptionId = uid('sub');
  await db
    .insertInto('consumers')
    .values({
      id: consumerId,
      provider_id: null,
      name: 'Buyer',
      email: `${consumerId}@example.com`,
      external_customer_id: null,
      external: '{}',
      created_at: now,
      updated_at: now,
    })
    .execute();
  await db
    .insertInto('subscriptions')
    .values({
      id: subscriptionId,
      consumer_id: consumerId,
      plan_id: planId,
      status,
      started_at: now,
      trial_ends_at: null,
      cancelled_at: null,
      created_at: now,
      updated_at: now,
    })
    .execute();
  return { consumerId, subscriptionId };
}

export async function listen(app: Hono, port = 0): Promise<{ url: string; close: () => Promise<void> }> {
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, (info: AddressInfo) => {
      resolve({
        url: `http://127.0.0.1:${info.port}`,
        close: () =>
          new Promise<void>((r) => {
            server.close(() => r());
            (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
          }),
      });
    });
  });
}

export async function seedExternalSubscription(
  db: Db,
  now: number,
  planId: string,
  ext: {
    ProductCode: string;
    CustomerIdentifier?: string;
    CustomerAWSAccountId?: string;
    LicenseArn?: string;
  },
  status = 'active',
) {
  const { consumerId, subscriptionId } = await seedSubscription(db, now, planId, status);
  await db
    .updateTable('consumers')
    .set({
      external_customer_id: ext.CustomerIdentifier ?? ext.CustomerAWSAccountId ?? null,
      external: JSON.stringify(ext),
    })
    .where('id', '=', consumerId)
    .execute();
  return { consumerId, subscriptionId };
}

export async function addUsage(
  db: Db,
  subscriptionId: string,
  dimension: string,
  hour: number,
  units: number,
) {
  await db
    .insertInto('usage')
    .values({
      subscription_id: subscriptionId,
      key_id: 'key_x',
      api_id: 'api_x',
      dimension,
      hour,
      units,
      requests: units,
    })
    .onConflict((oc) =>
      oc.columns(['subscription_id', 'key_id', 'api_id', 'dimension', 'hour']).doUpdateSet((eb) => ({
        units: eb('usage.units', '+', eb.ref('excluded.units')),
        requests: eb('usage.requests', '+', eb.ref('excluded.requests')),
      })),
    )
    .execute();
}
