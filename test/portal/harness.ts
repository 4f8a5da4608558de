/**
 * A whole Tollgate for portal tests, on real sockets: the portal app (served by
 * @hono/node-server on a loopback port) over a real store, the catalog, the marketplace
 * (products + lifecycle), billing, webhooks, a batched meter, and a real gateway (the same
 * parts src/main wires) in front of a small upstream. Only the clock is manual.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { type Billing, createBilling } from '../../src/billing/index.js';
import { type Catalog, createCatalog } from '../../src/catalog/index.js';
import { Gateway, SnapshotHolder } from '../../src/gateway/index.js';
import { MemoryLimits } from '../../src/limits/index.js';
import { createMarketplace, type Marketplace } from '../../src/marketplace/index.js';
import { createMeter, type Meter } from '../../src/metering/index.js';
import { type Accounts, createAccounts, createPortalApp, type MailMessage } from '../../src/portal/index.js';
import { type Logger, ManualClock, silentLogger } from '../../src/shared/index.js';
import type { Store } from '../../src/store/index.js';
import { createWebhooks } from '../../src/webhooks/index.js';
import { testOutbound } from '../helpers/outbound.js';
import type { TestStore } from '../helpers/stores.js';

export interface PortalHarness {
  url: string;
  gatewayUrl: string;
  upstreamUrl: string;
  store: Store;
  clock: ManualClock;
  catalog: Catalog;
  billing: Billing;
  meter: Meter;
  accounts: Accounts;
  marketplace: Marketplace;
  mails: MailMessage[];
  upstreamCalls: string[];
  close(): Promise<void>;
}

export async function startPortal(
  kind: TestStore,
  opts: {
    trustProxy?: boolean;
    start?: number;
    /** false: no publicUrl configured (the default is the portal's own URL). */
    publicUrl?: false;
    log?: Logger;
  } = {},
): Promise<PortalHarness> {
  const store = await kind.open();
  const clock = new ManualClock(opts.start ?? Math.floor(Date.now() / 3_600_000) * 3_600_000 + 60_000);
  const log = opts.log ?? silentLogger;
  const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-portal-'));

  let snapshots: SnapshotHolder | null = null;
  const catalog = createCatalog({
    outbound: testOutbound(),
    store,
    clock,
    log,
    onChange: () => void snapshots?.refresh(),
  });
  snapshots = await SnapshotHolder.create(store, () => clock.now(), log);
  const meter = await createMeter({
    store,
    clock,
    log,
    durability: 'batched',
    dataDir,
    node: 'portal-test',
    flushIntervalMs: 60_000,
  });
  const webhooks = createWebhooks({ outbound: testOutbound(), store, clock, log });
  const billing = createBilling({ store, clock, log, webhooks });

  const marketplace = createMarketplace({
    outbound: testOutbound(),
    store,
    clock,
    log,
    catalog,
    secretKey: 'p'.repeat(32),
    webhooks,
    billing,
    flushUsage: () => meter.flush(),
    onChange: () => void snapshots?.refresh(),
  });

  const upstreamCalls: string[] = [];
  const upstream = createServer((req, res) => {
    upstreamCalls.push(`${req.method} ${req.url}`);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ city: req.url?.split('/').pop(), forecast: 'sunny' }));
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
  const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;

  const gateway = new Gateway({
    snapshots,
    limits: new MemoryLimits(),
    meter,
    clock,
    log,
    // The test's own upstreams listen on loopback: allowed explicitly.
    outbound: testOutbound(),
    upstream: { connectTimeoutMs: 2_000, headersTimeoutMs: 5_000, bodyTimeoutMs: 10_000, connections: 8 },
  });
  const gatewayPort = await gateway.listen(0, '127.0.0.1');

  const mails: MailMessage[] = [];
  // The socket first, so the portal knows its public URL (links in mail come only from it).
  let app: ReturnType<typeof createPortalApp> | null = null;
  const server = await new Promise<Server>((resolve) => {
    const s = serve({ fetch: (req, env) => app!.fetch(req, env), port: 0, hostname: '127.0.0.1' }, () =>
      resolve(s as Server),
    ) as Server;
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  app = createPortalApp({
    store,
    clock,
    log,
    catalog,
    marketplace,
    billing,
    meter,
    webhooks,
    config: {
      ...(opts.publicUrl === false ? {} : { publicUrl: url }),
      secureCookies: false,
      trustProxy: opts.trustProxy ?? false,
      gatewayUrl: `http://127.0.0.1:${gatewayPort}`,
    },
    mail: (m) => void mails.push(m),
  });

  return {
    url,
    gatewayUrl: `http://127.0.0.1:${gatewayPort}`,
    upstreamUrl,
    store,
    clock,
    catalog,
    billing,
    meter,
    accounts: createAccounts({ store, clock, log, catalog }),
    marketplace,
    mails,
    upstreamCalls,
    async close() {
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
      await gateway.close(500);
      snapshots?.stop();
      await meter.close();
      marketplace.stop();
      await billing.close();
      await new Promise<void>((r) => upstream.close(() => r()));
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A fetch client with a cookie jar that reads the CSRF token from the last page. */
export class Browserless {
  cookies = new Map<string, string>();
  csrf = '';
  constructor(
    readonly base: string,
    readonly headers: Record<string, string> = {},
  ) {}

  private cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  private keep(res: Response): void {
    for (const c of res.headers.getSetCookie()) {
      const [pair, ...attrs] = c.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const expired = attrs.some(
        (a) => /max-age=0/i.test(a.trim()) || /expires=Thu, 01 Jan 1970/i.test(a.trim()),
      );
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  async get(path: string): Promise<{ status: number; text: string; res: Response }> {
    const res = await fetch(this.base + path, {
      headers: { ...this.headers, cookie: this.cookieHeader() },
      redirect: 'manual',
    });
    this.keep(res);
    const text = await res.text();
    const m = /name="_csrf" value="([^"]+)"/.exec(text);
    if (m) this.csrf = m[1]!;
    return { status: res.status, text, res };
  }

  async post(
    path: string,
    form: Record<string, string | string[]>,
    opts: { csrf?: string | null; headers?: Record<string, string> } = {},
  ): Promise<{ status: number; text: string; res: Response; location: string | null }> {
    const body = new URLSearchParams();
    const token = opts.csrf === undefined ? this.csrf : opts.csrf;
    if (token !== null) body.set('_csrf', token);
    for (const [k, v] of Object.entries(form)) for (const x of [v].flat()) body.append(k, x);
    const res = await fetch(this.base + path, {
      method: 'POST',
      headers: {
        ...this.headers,
        ...opts.headers,
        cookie: this.cookieHeader(),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body,
      redirect: 'manual',
    });
    this.keep(res);
    const text = await res.text();
    const m = /name="_csrf" value="([^"]+)"/.exec(text);
    if (m) this.csrf = m[1]!;
    return { status: res.status, text, res, location: res.headers.get('location') };
  }

  async login(email: string, password: string) {
    await this.get('/login');
    const r = await this.post('/login', { email, password });
    if (r.status === 303) await this.get(r.location!);
    return r;
  }
}

const OP = { kind: 'operator' as const, id: 'test' };
let seq = 0;

/** A provider with an API (→ the test upstream), a priced plan and a published product. */
export async function seedProduct(
  h: PortalHarness,
  opts: { title?: string; summary?: string; description?: string; providerId?: string } = {},
) {
  const providerId = opts.providerId ?? (await h.catalog.providers.create(OP, { name: 'Acme Weather' })).id;
  const api = await h.catalog.apis.create(OP, {
    providerId,
    name: 'Weather',
    upstreamUrl: h.upstreamUrl,
    pathPrefix: `/seed${++seq}${Date.now().toString(36)}`,
  });
  const plan = await h.catalog.plans.create(OP, {
    providerId,
    name: 'Basic',
    apiIds: [api.id],
    quota: { limit: 1000, period: 'MONTH' },
  });
  await h.billing.setPrice(
    plan.id,
    {
      currency: 'USD',
      recurringFee: '10',
      charges: [{ model: 'per_unit', dimension: 'requests', unitPrice: '0.05' }],
    },
    'test',
  );
  const product = await h.marketplace.products.create(OP, {
    providerId,
    title: opts.title ?? 'Weather API',
    summary: opts.summary ?? 'Forecasts',
    description: opts.description ?? 'Forecasts for *any* city.',
    apiIds: [api.id],
    planIds: [plan.id],
  } as never);
  await h.marketplace.products.publish(OP, product.id);
  return { providerId, apiId: api.id, planId: plan.id, productId: product.id, pathPrefix: api.pathPrefix! };
}
