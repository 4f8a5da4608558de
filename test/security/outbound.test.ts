/**
 * A provider turns Tollgate against the inside of its network, through real HTTP on SQLite
 * and PostgreSQL: every URL it controls (an API's upstream, a webhook endpoint, a
 * product's notification URL) pointed at loopback, private, metadata and IPv6-embedded
 * addresses is refused with a 400 naming the field and the rule; a name that starts
 * resolving to loopback after it was saved (DNS rebinding) is refused when dialled; the
 * webhook delivery log says the same thing for an open and a closed port; and once the
 * operator's own configuration allows 127.0.0.1, the loopback upstream works.
 *
 * Only loopback is ever dialled. Non-loopback literals are refused before any connection
 * (and DNS is the test's stand-in: no query leaves the machine).
 */
import type { LookupAddress } from 'node:dns';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { startTollgate, type Tollgate } from '../../src/main/index.js';
import { silentLogger } from '../../src/shared/index.js';
import type { Store } from '../../src/store/index.js';
import { testStores } from '../helpers/stores.js';

const OPERATOR = 'tga_security_outbound_operator_token_0001';

/** The test's DNS: names map to what the test says, now; anything else does not resolve. */
const dns = new Map<string, string>();
const resolve = async (host: string): Promise<LookupAddress[]> => {
  const address = dns.get(host);
  if (!address) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  return [{ address, family: address.includes(':') ? 6 : 4 }];
};

/** An "internal service" on loopback that counts every request it gets. */
async function internalService(): Promise<{ server: Server; port: number; hits: () => number }> {
  let hits = 0;
  const server = createServer((req, res) => {
    hits++;
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"secret":"internal"}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port, hits: () => hits };
}

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function start(databaseUrl: string, outboundAllow: string[]): Promise<{ tg: Tollgate; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-security-'));
  const config = loadConfig(
    {
      databaseUrl,
      dataDir: dir,
      gatewayHost: '127.0.0.1',
      gatewayPort: 0,
      consoleHost: '127.0.0.1',
      consolePort: 0,
      adminToken: OPERATOR,
      logLevel: 'silent',
      metering: 'off',
      outboundAllow,
    },
    {},
  );
  return { tg: await startTollgate(config, { log: silentLogger, resolve }), dir };
}

interface Reply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: problem bodies are inspected loosely
  body: any;
  type: string;
}

function client(consoleUrl: string, token: string) {
  return async (method: string, path: string, body?: unknown): Promise<Reply> => {
    const res = await fetch(`${consoleUrl}/admin/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return {
      status: res.status,
      body: text ? JSON.parse(text) : null,
      type: res.headers.get('content-type') ?? '',
    };
  };
}

for (const kind of await testStores()) {
  describe(`outbound policy through the admin API and the gateway (${kind.name})`, () => {
    let store: Store & { url: string };
    let tg: Tollgate;
    let dir: string;
    let internal: Awaited<ReturnType<typeof internalService>>;
    let asProvider: ReturnType<typeof client>;
    let providerId: string;
    let apiId: string;
    let planId: string;

    beforeAll(async () => {
      dns.set('metadata.test', '169.254.169.254'); // resolved, never dialled
      store = await kind.open();
      internal = await internalService();
      ({ tg, dir } = await start(store.url, []));
      const asOperator = client(tg.consoleUrl!, OPERATOR);
      providerId = (await asOperator('POST', '/providers', { name: 'Mallory APIs' })).body.id;
      const token = await asOperator('POST', '/tokens', { name: 'mallory', scope: 'provider', providerId });
      expect(token.status).toBe(201);
      asProvider = client(tg.consoleUrl!, token.body.value);
      // A legitimate API on a public-looking name that does not resolve here (never dialled).
      const api = await asProvider('POST', '/apis', {
        name: 'Orders',
        upstreamUrl: 'https://orders.invalid/',
        pathPrefix: '/orders',
      });
      expect(api.status).toBe(201);
      apiId = api.body.id;
      planId = (await asProvider('POST', '/plans', { name: 'Free', apiIds: [apiId] })).body.id;
    }, 60_000);

    afterAll(async () => {
      await tg?.close();
      await new Promise<void>((r) => internal?.server.close(() => r()));
      await store?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    const vectors = (port: number): Array<[string, RegExp]> => [
      [`http://127.0.0.1:${port}/`, /127\.0\.0\.1 is a loopback address/],
      [`http://localhost:${port}/`, /resolves to 127\.0\.0\.1, a loopback address/],
      [`http://0x7f000001:${port}/`, /127\.0\.0\.1 is a loopback address/],
      [`http://[::1]:${port}/`, /::1 is a loopback address/],
      [`http://[::ffff:127.0.0.1]:${port}/`, /embeds 127\.0\.0\.1, a loopback address/],
      [`http://[::127.0.0.1]:${port}/`, /embeds 127\.0\.0\.1, a loopback address/],
      [`http://[2002:7f00:1::]:${port}/`, /embeds 127\.0\.0\.1, a loopback address/],
      ['http://10.0.0.5/', /10\.0\.0\.5 is a private address/],
      ['http://192.168.1.1/', /is a private address/],
      ['http://169.254.169.254/latest/meta-data/', /169\.254\.169\.254 is a link-local/],
      ['http://[::ffff:0:a9fe:a9fe]/', /embeds 169\.254\.169\.254, a link-local/],
      ['http://[64:ff9b::a9fe:a9fe]/', /embeds 169\.254\.169\.254, a link-local/],
      ['http://[64:ff9b:1::a00:5]/', /local-use NAT64/],
      ['http://[fd00:ec2::254]/', /unique-local/],
      ['http://[fe80::1]/', /link-local/],
      ['http://100.100.100.200/', /CGNAT/],
      ['http://metadata.test/', /metadata\.test|resolves to 169\.254\.169\.254/],
    ];

    async function expectRefused(reply: Reply, field: string, rule: RegExp): Promise<void> {
      expect(reply.status, JSON.stringify(reply.body)).toBe(400);
      expect(reply.type).toContain('application/problem+json');
      expect(reply.body.code).toBe('VALIDATION_FAILED');
      const issue = reply.body.errors?.find((e: { field: string }) => e.field === field) ?? reply.body;
      expect(JSON.stringify(issue)).toMatch(rule);
      expect(reply.body.detail ?? JSON.stringify(reply.body)).toContain('--outbound-allow');
    }

    it('refuses every SSRF vector as an upstream, on create and on update', async () => {
      for (const [url, rule] of vectors(internal.port)) {
        const created = await asProvider('POST', '/apis', { name: 'X', upstreamUrl: url, pathPrefix: '/x' });
        await expectRefused(created, 'upstreamUrl', rule);
        const updated = await asProvider('PATCH', `/apis/${apiId}`, { upstreamUrl: url });
        await expectRefused(updated, 'upstreamUrl', rule);
      }
      expect((await asProvider('GET', `/apis/${apiId}`)).body.upstreamUrl).toBe('https://orders.invalid/');
      expect(internal.hits()).toBe(0);
    });

    it('refuses every SSRF vector as a webhook endpoint URL, on create and on update', async () => {
      const ok = await asProvider('POST', '/webhooks/endpoints', { url: 'https://hooks.invalid/in' });
      expect(ok.status).toBe(201);
      for (const [url, rule] of vectors(internal.port)) {
        await expectRefused(await asProvider('POST', '/webhooks/endpoints', { url }), 'url', rule);
        await expectRefused(
          await asProvider('PATCH', `/webhooks/endpoints/${ok.body.id}`, { url }),
          'url',
          rule,
        );
      }
      await asProvider('DELETE', `/webhooks/endpoints/${ok.body.id}`);
      expect(internal.hits()).toBe(0);
    });

    it("refuses every SSRF vector as a product's notification URL, on create and on update", async () => {
      const product = await asProvider('POST', '/products', {
        title: 'Orders',
        apiIds: [apiId],
        planIds: [planId],
      });
      expect(product.status).toBe(201);
      for (const [url, rule] of vectors(internal.port)) {
        await expectRefused(
          await asProvider('POST', '/products', {
            title: 'P',
            apiIds: [apiId],
            planIds: [planId],
            notificationUrl: url,
          }),
          'notificationUrl',
          rule,
        );
        await expectRefused(
          await asProvider('PATCH', `/products/${product.body.id}`, { notificationUrl: url }),
          'notificationUrl',
          rule,
        );
      }
      expect(internal.hits()).toBe(0);
    });

    it('judges the address the gateway dials: a name rebound to loopback after it was saved gets a 502', async () => {
      const name = `rebind-${kind.name}.test`;
      dns.delete(name); // does not resolve when saved: accepted (the connect-time check holds)
      const api = await asProvider('POST', '/apis', {
        name: 'Rebinding',
        upstreamUrl: `http://${name}:${internal.port}/`,
        pathPrefix: '/rebind',
        routes: [{ method: '*', path: '/{proxy+}', public: true }],
      });
      expect(api.status).toBe(201);
      dns.set(name, '127.0.0.1'); // …and now points inside
      await tg.snapshots.refresh();
      const res = await fetch(`${tg.gatewayUrl}/rebind/secret`);
      expect(res.status).toBe(502);
      await res.text();
      expect(internal.hits()).toBe(0);
      // The write-time check now sees it too.
      const again = await asProvider('PATCH', `/apis/${api.body.id}`, {
        upstreamUrl: `http://${name}:${internal.port}/x`,
      });
      await expectRefused(again, 'upstreamUrl', /resolves to 127\.0\.0\.1, a loopback address/);
    });

    it('webhook delivery logs say the same for an open and a closed port: no port scanner', async () => {
      const name = `hooks-${kind.name}.test`;
      dns.delete(name);
      const closed = await closedPort();
      const endpoints = [];
      for (const port of [internal.port, closed]) {
        const e = await asProvider('POST', '/webhooks/endpoints', { url: `http://${name}:${port}/hook` });
        expect(e.status).toBe(201);
        endpoints.push(e.body.id);
      }
      dns.set(name, '127.0.0.1');
      // An event for the provider: a buyer subscribes to its published product.
      const product = await asProvider('POST', '/products', {
        title: 'Hooks',
        apiIds: [apiId],
        planIds: [planId],
      });
      expect((await asProvider('POST', `/products/${product.body.id}/publish`)).status).toBe(200);
      const sub = await asProvider('POST', '/marketplace/subscriptions', {
        productId: product.body.id,
        planId,
        consumer: { name: 'Buyer' },
      });
      expect(sub.status, JSON.stringify(sub.body)).toBe(201);
      await tg.webhooks.deliverDue();
      const log = await asProvider('GET', '/webhooks/deliveries');
      const rows = log.body.items.filter((d: { url: string }) => d.url.includes(name));
      expect(rows.length).toBeGreaterThanOrEqual(2);
      const errors = new Set(
        rows.map((d: { lastError: string; lastStatus: number | null }) =>
          [d.lastError, d.lastStatus].join('|'),
        ),
      );
      expect([...errors]).toEqual([
        `refused by the outbound policy: ${name} resolves to 127.0.0.1, a loopback address|`,
      ]);
      expect(internal.hits()).toBe(0);
      for (const id of endpoints) await asProvider('DELETE', `/webhooks/endpoints/${id}`);
    });

    it("accepts a loopback upstream once the operator's configuration allows 127.0.0.1, and proxies to it", async () => {
      const second = await kind.open();
      const allowed = await start(second.url, ['127.0.0.1']);
      try {
        const op = client(allowed.tg.consoleUrl!, OPERATOR);
        const prv = (await op('POST', '/providers', { name: 'Internal team' })).body.id;
        const api = await op('POST', '/apis', {
          providerId: prv,
          name: 'Internal',
          upstreamUrl: `http://127.0.0.1:${internal.port}/`,
          pathPrefix: '/internal',
          routes: [{ method: '*', path: '/{proxy+}', public: true }],
        });
        expect(api.status, JSON.stringify(api.body)).toBe(201);
        // Only what the operator named: another loopback-like form is still refused.
        await expectRefused(
          await op('POST', '/apis', {
            providerId: prv,
            name: 'Y',
            upstreamUrl: `http://[::1]:${internal.port}/`,
            pathPrefix: '/y',
          }),
          'upstreamUrl',
          /::1 is a loopback address/,
        );
        await allowed.tg.snapshots.refresh();
        const before = internal.hits();
        const res = await fetch(`${allowed.tg.gatewayUrl}/internal/status`);
        expect(res.status).toBe(200);
        expect(await res.json()).toEqual({ secret: 'internal' });
        expect(internal.hits()).toBe(before + 1);
      } finally {
        await allowed.tg.close();
        await second.close();
        rmSync(allowed.dir, { recursive: true, force: true });
      }
    }, 60_000);
  });
}
