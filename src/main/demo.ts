/**
 * `tollgate serve --demo`: a working, priced, rate-limited API in one command. Starts the
 * sample upstreams in this process (a tiny hello API, proper-noun search and screen
 * capture), registers them as APIs of a demo provider, a plan (5 req/s, burst 10,
 * 1,000/day), a subscription and a key, and prints curl commands that work.
 *
 * Idempotent across restarts: the demo records are created once; upstream URLs are updated
 * to this run's ports; the demo key's value is kept in `<dataDir>/demo-key` (mode 0600),
 * since the store only holds its hash. The outbound policy is widened to exactly the sample
 * APIs' loopback host:port (docs/outbound.md).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { addMonths, DAY_MS, floorHour } from '../billing/index.js';
import { SYSTEM } from '../catalog/index.js';
import { createAccounts } from '../portal/index.js';
import { systemClock } from '../shared/index.js';
import type { Tollgate } from './index.js';

const DEMO_PROVIDER = 'Demo APIs Inc.';

interface Upstream {
  url: string;
  close(): Promise<void>;
}

async function startHello(): Promise<Upstream> {
  const server: Server = createServer((req, res) => {
    req.resume();
    const body = JSON.stringify({
      message: 'Hello from the upstream behind Tollgate',
      path: req.url,
      subscription: req.headers['x-tollgate-subscription'] ?? null,
    });
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

async function startSamples(log: Tollgate['log']) {
  const apis = await import('../apis/index.js');
  const nouns = await apis.startNounsApi({ port: 0, host: '127.0.0.1' });
  let capture: Upstream | null = null;
  if (existsSync('/usr/bin/chromium')) {
    capture = await apis.startCaptureApi({ port: 0, host: '127.0.0.1' }).catch((err: Error) => {
      log.warn({ err: err.message }, 'screen capture API not started');
      return null;
    });
  }
  return {
    nouns,
    capture,
    routes: { nouns: apis.nounsRoutes, capture: apis.captureRoutes },
    openapi: {
      nouns: apis.nounsOpenApi as unknown as Record<string, unknown>,
      capture: apis.captureOpenApi as unknown as Record<string, unknown>,
    },
  };
}

const DEMO_PASSWORD = 'tollgate-demo';

/** Usage prices of the demo plan: the first 100 hello calls free, then 0.0005 USD each; 0.02 USD per started 1,000 characters; 0.005 USD per capture. */
const STARTER_PRICE = {
  currency: 'USD',
  charges: [
    { dimension: 'requests', model: 'per_unit' as const, unitPrice: '0.0005', includedUnits: 100 },
    { dimension: 'characters', model: 'package' as const, packageSize: 1000, packagePrice: '0.02' },
    { dimension: 'captures', model: 'per_unit' as const, unitPrice: '0.005' },
  ],
};

/**
 * A month of history, so a newcomer finds a finalized invoice in the portal and the console:
 * the demo subscription is dated back one month and a day, a few days of calls on the hello
 * and nouns APIs are recorded as usage, and its first period is billed and finalized through
 * the ordinary path (the scheduler may have written the draft first: it is finalized too).
 */
async function seedLastMonth(t: Tollgate, subscriptionId: string, keyId: string, apis: Map<string, string>) {
  const now = systemClock.now();
  const startedAt = addMonths(now, -1) - DAY_MS;
  await t.store.db
    .updateTable('subscriptions')
    .set({ started_at: startedAt })
    .where('id', '=', subscriptionId)
    .execute();
  const hour = (days: number, h: number) => floorHour(startedAt) + days * DAY_MS + h * 3_600_000;
  const rows = [
    [1, 9, '/hello', 'requests', 140],
    [3, 14, '/hello', 'requests', 95],
    [8, 10, '/nouns', 'requests', 12],
    [8, 10, '/nouns', 'characters', 5_400],
    [15, 16, '/hello', 'requests', 230],
  ] as const;
  await t.store.db
    .insertInto('usage')
    .values(
      rows.map(([d, h, prefix, dimension, units]) => ({
        subscription_id: subscriptionId,
        key_id: keyId,
        api_id: apis.get(prefix) ?? '',
        dimension,
        hour: hour(d, h),
        units,
        requests: dimension === 'requests' ? units : 0,
      })),
    )
    .execute();
  await t.billing.run({ subscriptionId, finalize: true });
  for (const draft of (await t.billing.listInvoices({ subscriptionId, status: 'draft' })).items)
    await t.billing.finalize(draft.id, SYSTEM.id);
}

/** The two sample APIs as marketplace products, each with its own priced plan. */
async function publishSamples(t: Tollgate, providerId: string, apis: Map<string, string>): Promise<void> {
  const products = [
    {
      prefix: '/nouns',
      title: 'Proper-noun search',
      summary: 'Find the people, places and organisations in any text, with exact offsets.',
      description:
        '## What it does\n\nSend text, get back every proper noun in it — **people**, **places**, **organisations** — with its normalised form, every offset and a count. A search mode answers whether and where given names occur.\n\nBilled per started 1,000 characters.',
      plan: {
        name: 'Nouns Standard',
        throttle: { rateLimit: 10, burstLimit: 20 },
        quota: { limit: 10_000, period: 'DAY' as const },
      },
      price: {
        currency: 'USD',
        charges: [
          { dimension: 'characters', model: 'package' as const, packageSize: 1000, packagePrice: '0.02' },
        ],
      },
    },
    {
      prefix: '/capture',
      title: 'Screen capture',
      summary: 'Turn any URL into a PNG, JPEG or PDF, rendered by headless Chromium.',
      description:
        '## What it does\n\nGive a URL, get a picture of the page: viewport, device scale, full page, clip, dark mode, wait for a selector. Private and internal addresses are refused.\n\nBilled per capture.',
      plan: {
        name: 'Capture Standard',
        throttle: { rateLimit: 2, burstLimit: 4 },
        quota: { limit: 1_000, period: 'DAY' as const },
      },
      price: {
        currency: 'USD',
        recurringFee: '9.00',
        charges: [
          { dimension: 'captures', model: 'per_unit' as const, unitPrice: '0.005', includedUnits: 100 },
        ],
      },
    },
  ];
  for (const p of products) {
    const apiId = apis.get(p.prefix);
    if (!apiId) continue;
    const plan = await t.catalog.plans.create(SYSTEM, { providerId, apiIds: [apiId], ...p.plan });
    await t.billing.setPrice(plan.id, p.price, SYSTEM.id);
    const product = await t.marketplace.products.create(SYSTEM, {
      providerId,
      title: p.title,
      summary: p.summary,
      description: p.description,
      apiIds: [apiId],
      planIds: [plan.id],
    });
    await t.marketplace.products.publish(SYSTEM, product.id);
  }
}

/** Portal logins for the demo's provider and buyer (the password is printed with the demo). */
async function createLogins(t: Tollgate, providerId: string, consumerId: string): Promise<void> {
  const accounts = createAccounts({ store: t.store, clock: systemClock, catalog: t.catalog, log: t.log });
  await accounts.createUser({
    email: 'provider@example.com',
    name: 'Demo Provider',
    password: DEMO_PASSWORD,
    role: 'provider',
    providerId,
  });
  await accounts.createUser({
    email: 'buyer@example.com',
    name: 'Demo Buyer',
    password: DEMO_PASSWORD,
    role: 'buyer',
    consumerId,
  });
}

/** The sample APIs list their routes in Tollgate's shape, with methods as plain strings. */
function asRoutes(
  routes: Array<{ method: string; path: string; dimension: string; units: number; public: boolean }>,
) {
  return routes.map((r) => ({ ...r, method: r.method as 'GET' | 'POST' }));
}

export async function startDemo(t: Tollgate): Promise<{ instructions: string; close(): Promise<void> }> {
  const hello = await startHello();
  const samples = await startSamples(t.log);
  const { catalog } = t;
  const actor = SYSTEM;

  const existing = (await catalog.providers.list(actor, { limit: 200 })).items.find(
    (p) => p.name === DEMO_PROVIDER,
  );
  const keyFile = join(t.config.dataDir, 'demo-key');
  let keyValue: string;

  const upstreams: Array<[string, string, string | null]> = [
    ['Hello', '/hello', hello.url],
    ['Proper-noun search', '/nouns', samples.nouns.url],
    ['Screen capture', '/capture', samples.capture?.url ?? null],
  ];
  // The sample APIs listen on loopback: allow exactly their host:port, nothing else there.
  t.outbound.allow(upstreams.flatMap(([, , url]) => (url ? [new URL(url).host] : [])));

  // The portal's API reference calls the gateway from the browser (try-it): allow its origin.
  const portal = t.config.publicUrl ?? t.consoleUrl;
  const cors = portal ? { allowOrigins: [new URL(portal).origin] } : null;

  if (existing && existsSync(keyFile)) {
    keyValue = readFileSync(keyFile, 'utf8').trim();
    const apis = await catalog.apis.list(actor, { limit: 200 });
    for (const [name, , url] of upstreams) {
      const api = apis.items.find((a) => a.name === name && a.providerId === existing.id);
      if (api && url) await catalog.apis.update(actor, api.id, { upstreamUrl: url, cors });
    }
  } else {
    const provider = await catalog.providers.create(actor, { name: DEMO_PROVIDER });
    const apiIds: string[] = [];
    const apiByPrefix = new Map<string, string>();
    for (const [name, prefix, url] of upstreams) {
      if (!url) continue;
      const api = await catalog.apis.create(actor, {
        providerId: provider.id,
        name,
        upstreamUrl: url,
        pathPrefix: prefix,
        cors,
        ...(prefix === '/nouns'
          ? { routes: asRoutes(samples.routes.nouns), openapi: samples.openapi.nouns }
          : {}),
        ...(prefix === '/capture'
          ? { routes: asRoutes(samples.routes.capture), openapi: samples.openapi.capture }
          : {}),
      });
      apiIds.push(api.id);
      apiByPrefix.set(prefix, api.id);
    }
    const plan = await catalog.plans.create(actor, {
      providerId: provider.id,
      name: 'Starter',
      description: '5 requests per second (burst 10), 1,000 requests a day',
      apiIds,
      throttle: { rateLimit: 5, burstLimit: 10 },
      quota: { limit: 1000, period: 'DAY' },
    });
    // a price charges only what the plan's routes meter: no captures without the capture API
    const starterPrice = {
      ...STARTER_PRICE,
      charges: STARTER_PRICE.charges.filter((c) => c.dimension !== 'captures' || apiByPrefix.has('/capture')),
    };
    await t.billing.setPrice(plan.id, starterPrice, actor.id);
    const consumer = await catalog.consumers.create(actor, {
      name: 'Demo Buyer',
      email: 'buyer@example.com',
    });
    await publishSamples(t, provider.id, apiByPrefix);
    await createLogins(t, provider.id, consumer.id);
    const sub = await catalog.subscriptions.create(actor, { consumerId: consumer.id, planId: plan.id });
    const key = await catalog.keys.create(actor, { subscriptionId: sub.id, name: 'demo key' });
    keyValue = key.value;
    await seedLastMonth(t, sub.id, key.id, apiByPrefix);
    mkdirSync(t.config.dataDir, { recursive: true });
    writeFileSync(keyFile, `${keyValue}\n`, { mode: 0o600 });
  }
  await t.snapshots.refresh();

  const gw = t.gatewayUrl ?? 'http://127.0.0.1:8080';
  const lines = [
    '',
    'Tollgate demo is running.',
    `  gateway  ${gw}`,
    `  console  ${t.consoleUrl ?? '-'}   (admin API under /admin/v1, metrics at /metrics)`,
    '',
    'A call that works:',
    `  curl -i -H 'x-api-key: ${keyValue}' ${gw}/hello/world`,
    '',
    'Thirty calls at once — the plan allows a burst of 10 and 5 a second, so some answer 429:',
    `  curl --no-progress-meter -Z -o /dev/null -w '%{http_code} ' -H 'x-api-key: ${keyValue}' '${gw}/hello/world?call=[1-30]'; echo`,
    '',
    'The developer portal and provider console (log in as either):',
    `  ${t.consoleUrl ?? '-'}/login   buyer@example.com / ${DEMO_PASSWORD}   provider@example.com / ${DEMO_PASSWORD}`,
    '',
    'Without a key:',
    `  curl -i ${gw}/hello/world`,
  ];
  lines.push(
    '',
    'Proper-noun search (metered per character):',
    `  curl -s -H 'x-api-key: ${keyValue}' -H 'content-type: application/json' -d '{"text":"Ada Lovelace met Charles Babbage in London."}' ${gw}/nouns/nouns`,
  );
  if (samples.capture) {
    lines.push(
      '',
      'Screen capture (metered per capture):',
      `  curl -s -H 'x-api-key: ${keyValue}' '${gw}/capture/capture?url=https://example.com' -o page.png`,
    );
  }
  lines.push('');
  return {
    instructions: lines.join('\n'),
    async close() {
      await hello.close();
      await samples.nouns.close();
      await samples.capture?.close();
    },
  };
}
