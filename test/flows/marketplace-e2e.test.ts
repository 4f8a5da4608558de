/**
 * The marketplace (docs/marketplace.md), end to end through two real `tollgate serve` processes (each its own SQLite file
 * and data dir): a provider Tollgate sells its API through a marketplace Tollgate.
 *
 *   marketplace: seller account + SigV4 credentials, priced plan, product → registration URL
 *   provider:    its API in front of a loopback upstream, a plan, a product with the same
 *                external product code, configured with the marketplace's endpoint + credentials
 *   buyer:       subscribes on the marketplace → form-POSTs the token to the provider →
 *                key page → calls the API through the provider's gateway
 *   provider:    exporter (admin flush) → BatchMeterUsage → the marketplace's usage
 *   buyer:       unsubscribes → unsubscribe-pending → final export → (grace hour) →
 *                unsubscribe-success → the key is refused (403) → the marketplace's final
 *                invoice carries exactly the exported quantities.
 *
 * The marketplace keeps a cancelled external subscription in cancel_pending for a grace
 * hour (as AWS does) and has no setting to shorten it, so the test makes that hour pass by
 * moving the `cancel_requested` event an hour back in the marketplace's SQLite file (the
 * clock is the one thing faked); the marketplace's own sweep (every 30 s) then completes
 * the cancellation. That wait (≤ 30 s) is most of the test's ~32 s.
 *
 * The second case pins a bug this suite found (now fixed): calls made after an export that
 * froze the current hour used to be lost (see the comment there).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdminClient, adminClient } from '../helpers/admin.js';
import { type ServeProcess, startServe } from '../helpers/process.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

const MARKET_TOKEN = `tga_market_${'m'.repeat(32)}`;
const SELLER_TOKEN = `tga_seller_${'s'.repeat(32)}`;
const HOUR = 3600_000;
/** The marketplace's grace period between unsubscribe-pending and unsubscribe-success. */
const GRACE_MS = HOUR;

/** Polls `fn` until it returns a truthy value, at most `ms`. */
async function until<T>(
  what: string,
  fn: () => Promise<T | null | undefined | false>,
  ms: number,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const serveArgs = (dir: string) => [
  '--database-url',
  `sqlite:${join(dir, 'tollgate.db')}`,
  '--data-dir',
  dir,
  '--gateway-port',
  '0',
  '--gateway-host',
  '127.0.0.1',
  '--console-port',
  '0',
  '--console-host',
  '127.0.0.1',
];

interface UsageItem {
  dimension: string;
  units: number;
}

describe('selling through a marketplace Tollgate (two processes)', () => {
  let up: Upstream;
  let marketDir: string;
  let sellerDir: string;
  let market: ServeProcess;
  let seller: ServeProcess;
  let m: AdminClient;
  let s: AdminClient;
  const ids = {} as Record<
    | 'marketProvider'
    | 'marketApi'
    | 'marketPlan'
    | 'product'
    | 'productCode'
    | 'sellerProvider'
    | 'sellerApi',
    string
  >;

  beforeAll(async () => {
    up = await startUpstream();
    marketDir = mkdtempSync(join(tmpdir(), 'tollgate-market-'));
    sellerDir = mkdtempSync(join(tmpdir(), 'tollgate-seller-'));

    // The marketplace Tollgate: the seller's account, its credentials, a priced plan.
    market = await startServe(serveArgs(marketDir), {
      TOLLGATE_ADMIN_TOKEN: MARKET_TOKEN,
      TOLLGATE_SECRET: `market-secret-${'0'.repeat(32)}`,
    });
    m = adminClient(market.consoleUrl!, MARKET_TOKEN);
    ids.marketProvider = (await m.post<{ id: string }>('/providers', { name: 'Nouns Inc.' })).id;
    // The listing's API declares the dimensions the marketplace accepts metering for.
    ids.marketApi = (
      await m.post<{ id: string }>('/apis', {
        providerId: ids.marketProvider,
        name: 'Proper nouns',
        upstreamUrl: 'http://127.0.0.1:9',
        pathPrefix: '/nouns',
        routes: [
          { method: 'GET', path: '/lookup', dimension: 'requests', units: 1 },
          { method: 'POST', path: '/extract', dimension: 'chars', units: 250 },
        ],
      })
    ).id;
    ids.marketPlan = (
      await m.post<{ id: string }>('/plans', {
        providerId: ids.marketProvider,
        name: 'Pay as you go',
        apiIds: [ids.marketApi],
      })
    ).id;
    await put(market.consoleUrl!, MARKET_TOKEN, `/plans/${ids.marketPlan}/price`, {
      currency: 'USD',
      charges: [
        { model: 'per_unit', dimension: 'requests', unitPrice: '0.01' },
        { model: 'per_unit', dimension: 'chars', unitPrice: '0.001' },
      ],
    });
    const creds = await m.post<{ accessKeyId: string; secretAccessKey: string }>('/marketplace/credentials', {
      providerId: ids.marketProvider,
      name: 'seller tollgate',
    });
    expect(creds.accessKeyId).toMatch(/^TGMK/);

    // The provider Tollgate, configured with the marketplace's endpoint and the credentials it issued.
    seller = await startServe(
      [
        ...serveArgs(sellerDir),
        '--marketplace-endpoint',
        market.consoleUrl!,
        '--marketplace-region',
        'us-east-1',
        '--marketplace-access-key-id',
        creds.accessKeyId,
        '--marketplace-secret-access-key',
        creds.secretAccessKey,
      ],
      { TOLLGATE_ADMIN_TOKEN: SELLER_TOKEN, TOLLGATE_SECRET: `seller-secret-${'1'.repeat(32)}` },
    );
    s = adminClient(seller.consoleUrl!, SELLER_TOKEN);

    // The listing on the marketplace: fulfilled by the provider (registration + notifications).
    const product = await m.post<{ id: string; productCode: string }>('/products', {
      providerId: ids.marketProvider,
      title: 'Proper nouns',
      apiIds: [ids.marketApi],
      planIds: [ids.marketPlan],
      registrationUrl: `${seller.consoleUrl}/marketplace/register`,
      notificationUrl: `${seller.consoleUrl}/marketplace/notifications`,
    });
    await m.post(`/products/${product.id}/publish`);
    ids.product = product.id;
    ids.productCode = product.productCode;

    // The provider's own side: the real API in front of the upstream, a plan, the same product code.
    ids.sellerProvider = (await s.post<{ id: string }>('/providers', { name: 'Nouns Inc.' })).id;
    ids.sellerApi = (
      await s.post<{ id: string }>('/apis', {
        providerId: ids.sellerProvider,
        name: 'Proper nouns',
        upstreamUrl: up.url,
        pathPrefix: '/nouns',
        routes: [
          { method: 'GET', path: '/lookup', dimension: 'requests', units: 1 },
          { method: 'POST', path: '/extract', dimension: 'chars', units: 250 },
        ],
      })
    ).id;
    const sellerPlan = await s.post<{ id: string }>('/plans', {
      providerId: ids.sellerProvider,
      name: 'Marketplace',
      apiIds: [ids.sellerApi],
      throttle: { rateLimit: 100, burstLimit: 100 },
    });
    const own = await s.post<{ id: string }>('/products', {
      providerId: ids.sellerProvider,
      title: 'Proper nouns',
      apiIds: [ids.sellerApi],
      planIds: [sellerPlan.id],
      externalProductCode: product.productCode,
    });
    await s.post(`/products/${own.id}/publish`);
  }, 300_000);

  afterAll(async () => {
    await Promise.all([seller, market].filter(Boolean).map((p) => p.stop()));
    await up?.close();
    for (const d of [marketDir, sellerDir]) if (d) rmSync(d, { recursive: true, force: true });
  });

  /** Subscribe on the marketplace, then follow the hand-off form to the provider's key page. */
  async function subscribeAndOnboard(name: string) {
    // The buyer subscribes on the marketplace and is handed a registration token.
    const subscribed = await m.post<{
      subscription: { id: string; status: string };
      registration: { url: string; token: string };
      key?: unknown;
    }>('/marketplace/subscriptions', {
      productId: ids.product,
      planId: ids.marketPlan,
      consumer: { name, email: `${name.toLowerCase()}@example.com` },
    });
    expect(subscribed.subscription.status).toBe('active');
    expect(subscribed.key).toBeUndefined();
    expect(subscribed.registration.url).toBe(`${seller.consoleUrl}/marketplace/register`);

    // The hand-off form: the browser POSTs the token to the provider, which lands it on its key page.
    const page = await fetch(subscribed.registration.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ 'x-amzn-marketplace-token': subscribed.registration.token }),
      signal: AbortSignal.timeout(10_000),
    });
    const html = await page.text();
    expect(page.status, html).toBe(200);
    expect(page.headers.get('cache-control')).toBe('no-store');
    const key = /id="api-key">([^<]+)</.exec(html)?.[1];
    expect(key).toMatch(/^tg_/);
    // subscribe-success (SigV4-signed by the marketplace) arrived before the buyer did.
    expect(/id="status">([^<]+)</.exec(html)?.[1]).toBe('active');
    const sellerSubId = /<dt>Subscription<\/dt><dd><code>([^<]+)</.exec(html)?.[1];
    expect(sellerSubId).toMatch(/^sub_/);

    /** One call through the provider's gateway with the buyer's key: its status. */
    const call = (path: string, method = 'GET') =>
      fetch(`${seller.gatewayUrl}/nouns${path}`, {
        method,
        headers: { 'x-api-key': key! },
        ...(method === 'POST' ? { body: 'Ada Lovelace met Charles Babbage in London.' } : {}),
        signal: AbortSignal.timeout(5_000),
      }).then(async (r) => {
        await r.arrayBuffer();
        return r.status;
      });
    return { marketSubId: subscribed.subscription.id, sellerSubId: sellerSubId!, call };
  }

  it('onboards the buyer, meters the calls to the marketplace, invoices them, and ends access on unsubscribe', async () => {
    // 1–2. Subscribe on the marketplace, onboard at the provider, key shown once.
    const { marketSubId, sellerSubId, call } = await subscribeAndOnboard('Buyer');

    // 3. The buyer calls the API through the provider's gateway.
    // The gateway picks the new key up from its snapshot within a moment; refusals are not metered.
    await until('the key to work at the gateway', async () => (await call('/lookup')) === 200, 5_000);
    const LOOKUPS = 7;
    const EXTRACTS = 3;
    for (let i = 1; i < LOOKUPS; i++) expect(await call('/lookup')).toBe(200);
    for (let i = 0; i < EXTRACTS; i++) expect(await call('/extract', 'POST')).toBe(200);
    expect(up.requests.filter((r) => r.url.startsWith('/lookup'))).toHaveLength(LOOKUPS);
    expect(up.requests.filter((r) => r.url.startsWith('/extract'))).toHaveLength(EXTRACTS);

    // 4. An export while the subscription is live sends complete hours only: the current hour
    //    stays open, so calls made later in it still count.
    const report = await s.post<{ sent: number; failed: number; pending: number }>(
      '/marketplace/exports/flush',
      { subscriptionId: sellerSubId },
    );
    expect(report).toMatchObject({ failed: 0, pending: 0 });

    // 5. The buyer unsubscribes on the marketplace: unsubscribe-pending → the provider ends access
    //    and exports its final usage (BatchMeterUsage, SigV4), the current hour included.
    const cancelled = await m.post<{ status: string }>(`/marketplace/subscriptions/${marketSubId}/cancel`);
    expect(cancelled.status).toBe('cancel_pending');
    const sellerEvents = await s.get<{ items: Array<{ type: string }> }>(
      `/marketplace/subscriptions/${sellerSubId}/events`,
    );
    expect(sellerEvents.items.map((e) => e.type)).toEqual(['onboarded', 'cancel_requested', 'keys_disabled']);
    const ledger = await s.get<{ items: Array<{ dimension: string; quantity: number; status: string }> }>(
      `/marketplace/exports?subscriptionId=${sellerSubId}`,
    );
    expect(sums(ledger.items.map((r) => ({ dimension: r.dimension, units: Number(r.quantity) })))).toEqual({
      chars: EXTRACTS * 250,
      requests: LOOKUPS,
    });
    expect(new Set(ledger.items.map((r) => r.status))).toEqual(new Set(['sent']));
    // The marketplace holds exactly the buyer's usage.
    expect(await marketUsage(marketSubId)).toEqual({ chars: EXTRACTS * 250, requests: LOOKUPS });

    // 6. The grace hour passes; the marketplace completes the cancellation (unsubscribe-success),
    //    and the provider's gateway refuses the key.
    const db = new Database(join(marketDir, 'tollgate.db'));
    try {
      db.prepare(
        "UPDATE subscription_events SET at = at - ? WHERE subscription_id = ? AND type = 'cancel_requested'",
      ).run(GRACE_MS + 1_000, marketSubId);
    } finally {
      db.close();
    }
    await until(
      'the marketplace to complete the cancellation',
      async () => {
        const sub = await m.get<{ status: string }>(`/subscriptions/${marketSubId}`);
        return sub.status === 'cancelled';
      },
      40_000,
    );
    const notified = Date.now();
    await until('the key to be refused at the gateway', async () => (await call('/lookup')) === 403, 5_000);
    const refusedAfterMs = Date.now() - notified;
    expect(refusedAfterMs).toBeLessThan(5_000);

    // 7. The marketplace's final invoice for the buyer carries exactly the metered quantities.
    await m.post('/billing/runs', { subscriptionId: marketSubId });
    const invoices = await m.get<{ items: Array<{ id: string }> }>(`/invoices?subscriptionId=${marketSubId}`);
    expect(invoices.items).toHaveLength(1);
    const invoice = await m.get<{
      currency: string;
      lines: Array<{ dimension: string | null; quantity: string; amount: string }>;
    }>(`/invoices/${invoices.items[0]!.id}`);
    const usageLines = invoice.lines
      .filter((l) => l.dimension)
      .map((l) => [l.dimension, l.quantity, l.amount]);
    expect(usageLines).toEqual(
      expect.arrayContaining([
        ['requests', String(LOOKUPS), '0.07'],
        ['chars', String(EXTRACTS * 250), '0.75'],
      ]),
    );
    expect(usageLines).toHaveLength(2);
    const history = await s.get<{ items: Array<{ type: string }> }>(
      `/marketplace/subscriptions/${sellerSubId}/events`,
    );
    expect(history.items.map((e) => e.type)).toEqual([
      'onboarded',
      'cancel_requested',
      'keys_disabled',
      'cancelled',
    ]);
  }, 60_000);

  // Regression (found by this suite): an export of a live subscription used to freeze the
  // current hour, so calls made later in that hour were never sent — AWS takes one record per
  // customer, dimension and hour. Now a live export leaves the hour open and unsubscribe-pending
  // ends access before the final export.
  it('final calls made after an export in the same hour still reach the marketplace on unsubscribe', async () => {
    const { marketSubId, sellerSubId, call } = await subscribeAndOnboard('Late');
    await until('the key to work at the gateway', async () => (await call('/lookup')) === 200, 5_000);
    for (let i = 1; i < 4; i++) expect(await call('/lookup')).toBe(200);
    const hour = Math.floor(Date.now() / HOUR);
    const report = await s.post<{ sent: number }>('/marketplace/exports/flush', {
      subscriptionId: sellerSubId,
    });
    expect(report).toMatchObject({ sent: 0 });
    expect(await marketUsage(marketSubId)).toEqual({});
    for (let i = 0; i < 2; i++) expect(await call('/lookup')).toBe(200); // the buyer's final calls
    await m.post(`/marketplace/subscriptions/${marketSubId}/cancel`);
    // Across an hour boundary the final calls would fall in a fresh hour: not the case under test.
    if (Math.floor(Date.now() / HOUR) !== hour) throw new Error('crossed an hour: the case did not run');
    expect(await marketUsage(marketSubId)).toEqual({ requests: 6 });
  }, 20_000);

  async function marketUsage(subscriptionId: string): Promise<Record<string, number>> {
    const from = new Date(Date.now() - 2 * HOUR).toISOString();
    const r = await m.get<{ items: UsageItem[] }>(
      `/usage?subscriptionId=${subscriptionId}&groupBy=dimension&granularity=hour&from=${encodeURIComponent(from)}`,
    );
    return sums(r.items);
  }
});

function sums(items: UsageItem[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of items) if (i.units) out[i.dimension] = (out[i.dimension] ?? 0) + Number(i.units);
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

/** PUT through the admin API (the shared client has no PUT). */
async function put(consoleUrl: string, token: string, path: string, body: unknown): Promise<void> {
  const res = await fetch(`${consoleUrl}/admin/v1${path}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  if (!res.ok) throw new Error(`PUT ${path} → ${res.status}: ${await res.text()}`);
  await res.arrayBuffer();
}
