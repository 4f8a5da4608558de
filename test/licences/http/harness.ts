/**
 * A console port as src/main/console.ts wires it: the admin API (with the licence routes plugged in
 * through `extraRoutes`) and the public licence app mounted side by side at the root of one
 * Hono app, served on a real socket (port 0) over a real store. Two providers, each with a
 * provider-scoped admin token, a plan, and a consumer subscribed to it; Acme sells product
 * `prd_nouns`, Bolt `prd_capture`.
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { type Catalog, createCatalog, SYSTEM } from '../../../src/catalog/index.js';
import { createControlApp } from '../../../src/control/index.js';
import { licenceAdminRoutes, licencePublicApp } from '../../../src/licences/http/index.js';
import { createLicences, type Licences } from '../../../src/licences/index.js';
import { ManualClock, silentLogger } from '../../../src/shared/index.js';
import type { Store } from '../../../src/store/index.js';
import { testOutbound } from '../../helpers/outbound.js';
import type { TestStore } from '../../helpers/stores.js';

export const SECRET = 'http-test-secret-that-is-at-least-32-characters';
export const T0 = Date.UTC(2026, 10, 26, 12, 0, 0);
export const DAY = 86_400_000;
export const HOUR = 3_600_000;

export interface Reply {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: test bodies are inspected loosely
  body: any;
  text: string;
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
  licences: Licences;
  clock: ManualClock;
  operator: string;
  a: Seller;
  b: Seller;
  call(
    method: string,
    path: string,
    options?: {
      body?: unknown;
      raw?: string;
      token?: string | null;
      headers?: Record<string, string>;
    },
  ): Promise<Reply>;
  close(): Promise<void>;
}

/** A marketplace product row of `providerId` (licences are issued only for one's own products). */
async function product(store: Store, id: string, providerId: string): Promise<void> {
  await store.db
    .insertInto('marketplace_products')
    .values({
      id,
      provider_id: providerId,
      title: id,
      summary: '',
      description: '',
      api_ids: '[]',
      plan_ids: '[]',
      visibility: 'public',
      invite_codes: '[]',
      fulfilment: 'wholesale',
      external_product_code: null,
      product_code: `code-${id}`,
      registration_url: null,
      notification_url: null,
      status: 'draft',
      published_at: null,
      created_at: T0,
      updated_at: T0,
    })
    .execute();
}

async function seller(catalog: Catalog, name: string): Promise<Seller> {
  const provider = await catalog.providers.create(SYSTEM, { name });
  const token = await catalog.tokens.create(SYSTEM, {
    name: `${name} ops`,
    scope: 'provider',
    providerId: provider.id,
  });
  const plan = await catalog.plans.create(SYSTEM, { providerId: provider.id, name: 'Wholesale' });
  const consumer = await catalog.consumers.create(SYSTEM, {
    providerId: provider.id,
    name: `${name}'s buyer`,
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
  const licences = createLicences({ store, clock, log: silentLogger, secret: SECRET, heartbeatTtlMs: HOUR });
  const control = createControlApp({
    catalog,
    log: silentLogger,
    clock,
    extraRoutes: [licenceAdminRoutes(licences, { catalog, store, clock })],
  });
  const console = new Hono();
  console.route('/', control);
  console.route('/', licencePublicApp(licences));
  const operator = (await catalog.bootstrapOperatorToken()).value!;
  const a = await seller(catalog, 'Acme');
  const b = await seller(catalog, 'Bolt');
  await product(store, 'prd_nouns', a.providerId);
  await product(store, 'prd_capture', b.providerId);

  const server = serve({ fetch: console.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    store,
    catalog,
    licences,
    clock,
    operator,
    a,
    b,
    async call(method, path, options = {}) {
      const headers: Record<string, string> = { ...options.headers };
      const token = options.token === undefined ? operator : options.token;
      if (token !== null) headers.authorization = `Bearer ${token}`;
      let body: string | undefined = options.raw;
      if (options.body !== undefined) {
        body = JSON.stringify(options.body);
        headers['content-type'] ??= 'application/json';
      }
      const res = await fetch(url + path, { method, headers, body });
      const text = await res.text();
      let parsed: unknown = null;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        parsed = null;
      }
      return { status: res.status, headers: res.headers, body: parsed, text };
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await store.close();
    },
  };
}
