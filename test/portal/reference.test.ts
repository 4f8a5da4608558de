// biome-ignore-all lint/performance/useDomNodeTextContent: Playwright locators, not DOM nodes: innerText is the rendered text a user reads
/**
 * The buyer's first call, in real headless Chromium against a real portal, gateway and
 * upstream: a new buyer signs up, subscribes, opens the API reference, types the key into
 * Swagger UI's Authorize dialog and calls the API through the gateway with try-it — on a
 * desktop window and on a 390 px phone. Also: the document served to buyers names the
 * gateway, not the upstream, and drops internal and unrouted operations.
 */
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM } from '../../src/catalog/index.js';
import { sqliteStore } from '../helpers/stores.js';
import { type PortalHarness, startPortal } from './harness.js';

const PASSWORD = 'correct horse battery';
const DOC = {
  openapi: '3.1.0',
  info: { title: 'Nimbus Weather', version: '1.0.0' },
  servers: [{ url: 'https://weather.internal.example' }],
  security: [{ upstreamToken: [] }],
  paths: {
    '/forecast/{city}': {
      get: {
        summary: 'Forecast for a city',
        parameters: [
          { name: 'city', in: 'path', required: true, schema: { type: 'string', example: 'oslo' } },
        ],
        responses: { '200': { description: 'The forecast' } },
      },
    },
    '/health': {
      get: { summary: 'Liveness', 'x-internal': true, responses: { '200': { description: 'Up' } } },
    },
    '/admin/reindex': { post: { summary: 'Not routed', responses: { '204': { description: 'Done' } } } },
  },
  components: { securitySchemes: { upstreamToken: { type: 'http', scheme: 'bearer' } } },
};

describe('the API reference works through the gateway', () => {
  let h: PortalHarness;
  let browser: Browser;
  let productId = '';
  let apiId = '';

  beforeAll(async () => {
    h = await startPortal(sqliteStore);
    const provider = await h.catalog.providers.create(SYSTEM, { name: 'Nimbus Weather Ltd' });
    const api = await h.catalog.apis.create(SYSTEM, {
      providerId: provider.id,
      name: 'Nimbus Weather',
      upstreamUrl: h.upstreamUrl,
      pathPrefix: '/weather',
      openapi: DOC,
      routes: [
        { method: 'GET', path: '/forecast/{city}' },
        { method: 'GET', path: '/health', public: true, units: 0 },
      ],
      cors: { allowOrigins: [h.url], allowMethods: ['GET'], allowHeaders: ['x-api-key'], maxAgeSeconds: 60 },
    });
    apiId = api.id;
    const plan = await h.catalog.plans.create(SYSTEM, {
      providerId: provider.id,
      name: 'Starter',
      apiIds: [api.id],
      quota: { limit: 1000, period: 'DAY' },
    });
    await h.billing.setPrice(plan.id, { currency: 'USD', recurringFee: '5.00' }, 'test');
    const product = await h.marketplace.products.create(SYSTEM, {
      providerId: provider.id,
      title: 'Nimbus forecasts',
      apiIds: [api.id],
      planIds: [plan.id],
    });
    await h.marketplace.products.publish(SYSTEM, product.id);
    productId = product.id;
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  it('serves buyers a document about the gateway: its URL, its paths, an x-api-key scheme', async () => {
    const r = await fetch(`${h.url}/products/${productId}/openapi/${apiId}.json`);
    const doc = (await r.json()) as {
      servers: unknown;
      paths: Record<string, unknown>;
      components: { securitySchemes: unknown };
      security: unknown;
    };
    expect(doc.servers).toEqual([{ url: `${h.gatewayUrl}/weather`, description: 'Tollgate gateway' }]);
    expect(Object.keys(doc.paths)).toEqual(['/forecast/{city}']);
    expect(doc.components.securitySchemes).toEqual({
      apiKey: expect.objectContaining({ type: 'apiKey', in: 'header', name: 'x-api-key' }),
    });
    expect(doc.security).toEqual([{ apiKey: [] }]);
    expect(JSON.stringify(doc)).not.toContain('weather.internal.example');
  });

  it('refuses to publish a product whose plan does not open its API, naming both', async () => {
    const api = await h.catalog.apis.get(SYSTEM, apiId);
    const closed = await h.catalog.plans.create(SYSTEM, {
      providerId: api.providerId,
      name: 'Closed',
      apiIds: [],
    });
    const product = await h.marketplace.products.create(SYSTEM, {
      providerId: api.providerId,
      title: 'Mismatched',
      apiIds: [apiId],
      planIds: [closed.id],
    });
    await expect(h.marketplace.products.publish(SYSTEM, product.id)).rejects.toThrow(
      /plan "Closed" does not give access to the API "Nimbus Weather"/,
    );
    expect((await h.marketplace.products.get(SYSTEM, product.id)).status).toBe('draft');
  });

  async function firstCall(page: Page, email: string) {
    page.setDefaultTimeout(30_000);
    await page.goto(`${h.url}/products/${productId}`);
    await page.getByRole('link', { name: 'create an account' }).click();
    await page.getByLabel('Your name').fill('New Buyer');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.waitForURL(/\/products\/prd_/);
    await page.getByRole('button', { name: 'Subscribe' }).click();
    const key = (await page.locator('#key-value').innerText()).trim();
    expect(key).toMatch(/^tg_/);
    // The first call shown with the key is a real operation on the gateway.
    expect(await page.locator('#first-call-0').innerText()).toBe(
      `curl -i -H 'x-api-key: ${key}' '${h.gatewayUrl}/weather/forecast/oslo'`,
    );

    await page.goto(`${h.url}/products/${productId}/docs/${apiId}`);
    await page.locator('.swagger-ui .btn.authorize').first().click();
    await page.locator('.auth-container input').fill(key);
    await page.locator('.auth-btn-wrapper .btn.authorize').click();
    await page.locator('.auth-btn-wrapper .btn-done').click();
    await page.locator('.opblock-summary', { hasText: '/forecast/{city}' }).first().click();
    await page.locator('.try-out__btn').click();
    await page.locator('input[placeholder="city"]').fill('lima');
    await page.locator('.btn.execute').click();
    const status = page.locator('.live-responses-table .response .response-col_status').first();
    await expect.poll(() => status.innerText(), { timeout: 15_000 }).toBe('200');
    expect(await page.locator('.live-responses-table .microlight').first().innerText()).toContain('"lima"');
    expect(h.upstreamCalls).toContain('GET /forecast/lima');
    // Nothing about the key reached the portal's storage: not a cookie, not localStorage.
    expect(await page.evaluate('JSON.stringify(localStorage)')).not.toContain(key);
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(0);
  }

  it('a new buyer subscribes and calls the API from the reference with try-it', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    await firstCall(await ctx.newPage(), 'first@example.com');
    await ctx.close();
  }, 180_000);

  it('the same on a 390 px phone', async () => {
    const ctx = await browser.newContext({
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
    });
    await firstCall(await ctx.newPage(), 'phone@example.com');
    await ctx.close();
  }, 180_000);
});
