/**
 * The admin API as src/main/console.ts wires it, with the billing and webhook routes plugged in
 * through `extraRoutes`, on a real socket (port 0) over a real store, with a ManualClock.
 * Two providers (Acme, Bolt), each with a provider-scoped admin token, a plan, a consumer
 * and a subscription started at T0 (2026-03-01T00:00Z).
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { billingAdminRoutes } from '../../../src/billing/http/index.js';
import { type Billing, createBilling } from '../../../src/billing/index.js';
import { type Catalog, createCatalog, SYSTEM } from '../../../src/catalog/index.js';
import { createControlApp } from '../../../src/control/index.js';
import { ManualClock, silentLogger } from '../../../src/shared/index.js';
import type { Store } from '../../../src/store/index.js';
import { webhookAdminRoutes } from '../../../src/webhooks/http/index.js';
import { createWebhooks, type Webhooks } from '../../../src/webhooks/index.js';
import { testOutbound } from '../../helpers/outbound.js';
import type { TestStore } from '../../helpers/stores.js';

export const T0 = Date.UTC(2026, 2, 1); // 2026-03-01T00:00:00Z
export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

export interface Reply {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: test bodies are inspected loosely
  body: any;
  text: string;
  bytes: Buffer;
}

export interface Seller {
  providerId: string;
  token: string;
  planId: string;
  consumerId: string;
  subscriptionId: string;
}

export interface Harness {
  url: string;
  store: Store;
  catalog: Catalog;
  billing: Billing;
  webhooks: Webhooks;
  clock: ManualClock;
  operator: string;
  a: Seller;
  b: Seller;
  changes: Array<{ entity: string; id: string; action: string }>;
  call(
    method: string,
    path: string,
    options?: { body?: unknown; raw?: string; token?: string | null; headers?: Record<string, string> },
  ): Promise<Reply>;
  /** Hourly usage rows for a subscription, as metering writes them. */
  usage(
    subscriptionId: string,
    rows: Array<{ hour: number; units: number; dimension?: string }>,
  ): Promise<void>;
  close(): Promise<void>;
}

async function seller(catalog: Catalog, name: string): Promise<Seller> {
  const provider = await catalog.providers.create(SYSTEM, { name });
  const token = await catalog.tokens.create(SYSTEM, {
    name: `${name} ops`,
    scope: 'provider',
    providerId: provider.id,
  });
  const plan = await catalog.plans.create(SYSTEM, { providerId: provider.id, name: `${name} Pro` });
  const consumer = await catalog.consumers.create(SYSTEM, {
    providerId: provider.id,
    name: `${name}'s buyer`,
    email: 'ap@buyer.test',
  });
  const sub = await catalog.subscriptions.create(SYSTEM, { consumerId: consumer.id, planId: plan.id });
  return {
    providerId: provider.id,
    token: token.value,
    planId: plan.id,
    consumerId: consumer.id,
    subscriptionId: sub.id,
  };
}

export async function startHarness(kind: TestStore): Promise<Harness> {
  const store = await kind.open();
  const clock = new ManualClock(T0);
  const catalog = createCatalog({ outbound: testOutbound(), store, clock, log: silentLogger });
  const webhooks = createWebhooks({ outbound: testOutbound(), store, clock, log: silentLogger });
  const billing = createBilling({ store, clock, log: silentLogger, webhooks });
  const changes: Harness['changes'] = [];
  const app = createControlApp({
    catalog,
    log: silentLogger,
    clock,
    extraRoutes: [
      billingAdminRoutes({ billing, store, catalog, clock, onChange: (c) => changes.push(c) }),
      webhookAdminRoutes({ webhooks, catalog }),
    ],
  });
  const operator = (await catalog.bootstrapOperatorToken()).value!;
  const a = await seller(catalog, 'Acme');
  const b = await seller(catalog, 'Bolt');

  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    store,
    catalog,
    billing,
    webhooks,
    clock,
    operator,
    a,
    b,
    changes,
    async call(method, path, options = {}) {
      const headers: Record<string, string> = { ...options.headers };
      const token = options.token === undefined ? operator : options.token;
      if (token !== null) headers.authorization = `Bearer ${token}`;
      let body: string | undefined = options.raw;
      if (options.body !== undefined) {
        body = JSON.stringify(options.body);
        headers['content-type'] ??= 'application/json';
      }
      const res = await fetch(`${url}/admin/v1${path}`, { method, headers, body });
      const bytes = Buffer.from(await res.arrayBuffer());
      const text = bytes.toString('utf8');
      let parsed: unknown = null;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        parsed = null;
      }
      return { status: res.status, headers: res.headers, body: parsed, text, bytes };
    },
    async usage(subscriptionId, rows) {
      await store.db
        .insertInto('usage')
        .values(
          rows.map((r) => ({
            subscription_id: subscriptionId,
            key_id: 'key_test',
            api_id: 'api_test',
            dimension: r.dimension ?? 'requests',
            hour: r.hour,
            units: r.units,
            requests: r.units,
          })),
        )
        .execute();
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await billing.close();
      await store.close();
    },
  };
}
