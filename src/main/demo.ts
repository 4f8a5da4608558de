/**
 * `tollgate serve --demo`: a working, priced, rate-limited API in one command. Starts the
 * sample upstreams in this process (a tiny hello API, proper-noun search and screen
 * capture), registers them as APIs of a demo provider, a plan (5 req/s, burst 10,
 * 1,000/day), a subscription and a key, and prints curl commands that work.
 *
 * Idempotent across restarts: the demo records are created once; upstream URLs are updated
 * to this run's ports; the demo key's value is kept in `<dataDir>/demo-key` (mode 0600),
 * since the store only holds its hash.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { SYSTEM } from '../catalog/index.js';
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

  if (existing && existsSync(keyFile)) {
    keyValue = readFileSync(keyFile, 'utf8').trim();
    const apis = await catalog.apis.list(actor, { limit: 200 });
    for (const [name, , url] of upstreams) {
      const api = apis.items.find((a) => a.name === name && a.providerId === existing.id);
      if (api && url) await catalog.apis.update(actor, api.id, { upstreamUrl: url });
    }
  } else {
    const provider = await catalog.providers.create(actor, { name: DEMO_PROVIDER });
    const apiIds: string[] = [];
    for (const [name, prefix, url] of upstreams) {
      if (!url) continue;
      const api = await catalog.apis.create(actor, {
        providerId: provider.id,
        name,
        upstreamUrl: url,
        pathPrefix: prefix,
        ...(prefix === '/nouns'
          ? { routes: asRoutes(samples.routes.nouns), openapi: samples.openapi.nouns }
          : {}),
        ...(prefix === '/capture'
          ? { routes: asRoutes(samples.routes.capture), openapi: samples.openapi.capture }
          : {}),
      });
      apiIds.push(api.id);
    }
    const plan = await catalog.plans.create(actor, {
      providerId: provider.id,
      name: 'Starter',
      description: '5 requests per second (burst 10), 1,000 requests a day',
      apiIds,
      throttle: { rateLimit: 5, burstLimit: 10 },
      quota: { limit: 1000, period: 'DAY' },
    });
    const consumer = await catalog.consumers.create(actor, {
      name: 'Demo Buyer',
      email: 'buyer@example.com',
    });
    const sub = await catalog.subscriptions.create(actor, { consumerId: consumer.id, planId: plan.id });
    const key = await catalog.keys.create(actor, { subscriptionId: sub.id, name: 'demo key' });
    keyValue = key.value;
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
    'Fifteen calls at once — the plan allows a burst of 10, so some answer 429:',
    `  for i in $(seq 1 15); do curl -s -o /dev/null -w '%{http_code} ' -H 'x-api-key: ${keyValue}' ${gw}/hello/world & done; wait; echo`,
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
