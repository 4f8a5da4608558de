// biome-ignore-all lint/performance/useDomNodeTextContent: Playwright locators, not DOM nodes: innerText is the rendered text a user reads
/**
 * The portal's two stories in real headless Chromium (Debian's /usr/bin/chromium driven by
 * playwright-core), against a real server, store, gateway and meter:
 *  - a provider imports an OpenAPI file as an API, prices a plan in the editor (server-side
 *    field errors, live preview), and publishes a product;
 *  - a buyer finds it, signs up, subscribes, copies the key, calls the gateway with it, sees
 *    the calls in the usage chart, and a month later the invoice (HTML and PDF);
 *  - the provider sees the buyer and the revenue.
 * Screenshots of the main pages go to docs/screenshots/.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqliteStore } from '../helpers/stores.js';
import { type PortalHarness, startPortal } from './harness.js';

// `TOLLGATE_SCREENSHOTS=1 npx vitest run test/portal/flows.test.ts` refreshes the checked-in
// pictures; ordinary runs still take them, into a temporary folder, so the tree stays clean.
const SHOTS =
  process.env.TOLLGATE_SCREENSHOTS === '1'
    ? join(import.meta.dirname, '../../docs/screenshots')
    : mkdtempSync(join(tmpdir(), 'tollgate-shots-'));
const PASSWORD = 'correct horse battery';
const OPENAPI = `openapi: 3.1.0
info:
  title: Nimbus Weather
  version: 1.0.0
servers:
  - url: https://weather.internal.example
paths:
  /forecast/{city}:
    get:
      summary: Forecast for a city
      parameters:
        - { name: city, in: path, required: true, schema: { type: string } }
      responses:
        '200': { description: The forecast }
  /cities:
    get:
      summary: Known cities
      responses:
        '200': { description: A list }
    post:
      summary: Suggest a city
      responses:
        '201': { description: Thanks }
`;

describe('portal in a browser', () => {
  let h: PortalHarness;
  let browser: Browser;
  let provider: BrowserContext;
  let buyer: BrowserContext;
  let key = '';
  const buyerEmail = 'ada@example.com';
  const providerEmail = 'ops@nimbus.example';

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    // A fixed date keeps the screenshots stable from run to run (the store is fresh each time).
    h = await startPortal(sqliteStore, { start: Date.UTC(2026, 10, 2, 9, 30) });
    const p = await h.catalog.providers.create(
      { kind: 'operator', id: 'test' },
      { name: 'Nimbus Weather Ltd' },
    );
    await h.accounts.createUser({
      email: providerEmail,
      name: 'Nimbus Ops',
      password: PASSWORD,
      role: 'provider',
      providerId: p.id,
    });
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    provider = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    buyer = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    await buyer.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: h.url });
  });

  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  /** Form controls a screen reader could not name (no <label>, no aria-label). */
  const unlabelled = (page: Page) =>
    page.evaluate<string[]>(
      `[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
        .filter((e) => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
        .map((e) => e.name || e.id)`,
    );

  const shot = (page: Page, name: string) =>
    page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

  async function logIn(page: Page, email: string) {
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
  }

  it('a provider creates an API from an OpenAPI file, prices a plan and publishes a product', async () => {
    const page = await provider.newPage();
    await page.goto(`${h.url}/login`);
    await logIn(page, providerEmail);
    await expect.poll(() => page.url()).toBe(`${h.url}/console`);

    await page.goto(`${h.url}/console/apis`);
    expect(await unlabelled(page)).toEqual([]);
    await page.getByLabel('Name', { exact: true }).fill('Nimbus Weather');
    await page.getByLabel('Upstream URL').fill(h.upstreamUrl);
    await page.getByLabel('Path prefix').fill('/weather');
    await page.setInputFiles('#f-openapiFile', {
      name: 'weather.yaml',
      mimeType: 'application/yaml',
      buffer: Buffer.from(OPENAPI),
    });
    await page.getByRole('button', { name: 'Create API' }).click();
    await page.waitForURL(/\/console\/apis\/api_/);
    // The routes are an editable table: method, path, dimension, units, then a throttle (rate,
    // burst) left empty by an import (and an empty row to add one).
    const routes = await page.evaluate<string[]>(
      `[...document.querySelectorAll('table tbody tr')].map((tr) =>
        [...tr.querySelectorAll('select, input[type=text], input:not([type])')].map((e) => e.value).join(' '))`,
    );
    expect(routes.map((r) => r.trim()).filter((r) => r)).toEqual([
      'GET /forecast/{city} requests 1',
      'GET /cities requests 1',
      'POST /cities requests 1',
    ]);
    await shot(page, 'provider-apis');

    // The plan editor: a bad price is refused on the server with the message at its field.
    await page.goto(`${h.url}/console/plans/new`);
    expect(await unlabelled(page)).toEqual([]);
    await page.getByLabel('Name', { exact: true }).fill('Starter');
    await page.getByLabel('Nimbus Weather').check();
    await page.getByLabel('Quota (requests per period)').fill('10000');
    await page.getByLabel('Recurring fee').fill('10');
    await page.locator('[name="charges[0].dimension"]').fill('requests');
    await page.locator('[name="charges[0].unitPrice"]').fill('five cents');
    await page.getByRole('button', { name: 'Create plan' }).click();
    await expect
      .poll(() => page.locator('[data-field="charges[0].unitPrice"] .error').innerText())
      .toContain('decimal');
    expect(await page.locator('.error-summary').innerText()).toContain('Charge 1, unit price');
    // As you type: the error clears and the preview prices 1k / 100k / 10M calls.
    await page.locator('[name="charges[0].unitPrice"]').fill('0.05');
    await expect.poll(() => page.locator('[data-field="charges[0].unitPrice"] .error').innerText()).toBe('');
    await expect.poll(() => page.locator('#price-preview').innerText()).toContain('USD 60.00');
    expect(await page.locator('#price-preview').innerText()).toContain('USD 500,010.00');
    await shot(page, 'plan-editor');
    await page.getByRole('button', { name: 'Create plan' }).click();
    await page.waitForURL(/\/console\/plans\/pln_.*saved=1/);
    expect(await page.locator('.notice').innerText()).toContain('Saved');

    await page.goto(`${h.url}/console/products/new`);
    expect(await unlabelled(page)).toEqual([]);
    await page.getByLabel('Title').fill('Nimbus Weather');
    await page.getByLabel('Summary (one line)').fill('Hyper-local forecasts for any city, by the call.');
    await page
      .getByLabel('Description (Markdown)')
      .fill(
        '## Forecasts\n\nCall `GET /forecast/{city}` and get **sunny**, usually.\n\n- 3 routes\n- metered per request\n\nSee [our site](https://nimbus.example).',
      );
    await page.getByRole('checkbox', { name: 'Nimbus Weather' }).check();
    await page.getByRole('checkbox', { name: 'Starter' }).check();
    await page.getByRole('button', { name: 'Create draft' }).click();
    await page.waitForURL(/\/console\/products\/prd_/);
    await page.getByRole('button', { name: 'Publish' }).click();
    await expect.poll(() => page.locator('h1 .badge').innerText()).toBe('published');
    await page.close();
  }, 120_000); // a browser story: far beyond 30 s when the machine is shared

  it('a buyer finds it, signs up, subscribes, copies the key, calls the gateway and sees the calls', async () => {
    const page = await buyer.newPage();
    await page.goto(`${h.url}/`);
    expect(await unlabelled(page)).toEqual([]);
    await shot(page, 'catalogue');
    await page.getByRole('searchbox').fill('nimbus');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('link', { name: 'Nimbus Weather' }).click();
    await page.waitForURL(/\/products\/prd_/);
    const pricing = (await page.locator('#pricing + .table-wrap tbody tr').innerText()).replace(/\s+/g, ' ');
    expect(pricing).toContain('Starter');
    expect(pricing).toContain('USD 60.00'); // 1k calls: 10 + 1000 × 0.05
    expect(pricing).toContain('over quota'); // 10M calls on a 10k quota that blocks
    expect(await page.locator('#description h2').innerText()).toBe('Forecasts');
    await shot(page, 'product');

    // The API reference renders with the locally served Swagger UI.
    await page.getByRole('link', { name: /API reference/ }).click();
    await expect
      .poll(() => page.locator('.swagger-ui .opblock-summary-path').allInnerTexts(), { timeout: 10_000 })
      .toContain('/forecast/{city}');
    await page.goBack();

    await page.getByRole('link', { name: 'create an account' }).click();
    expect(await unlabelled(page)).toEqual([]);
    await page.getByLabel('Your name').fill('Ada Lovelace');
    await page.getByLabel('Email').fill(buyerEmail);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.waitForURL(/\/products\/prd_/);
    await page.getByRole('button', { name: 'Subscribe' }).click();
    await expect.poll(() => page.locator('h1').innerText()).toContain('You are subscribed');
    const shown = (await page.locator('#key-value').innerText()).trim();
    expect(shown).toMatch(/^tg_[0-9A-Za-z]{40}$/);
    expect(await page.locator('#first-call-0').innerText()).toContain(
      `${h.gatewayUrl}/weather/forecast/example`,
    );
    await page.locator('[data-copy="key-value"]').click();
    await expect.poll(() => page.getByRole('button', { name: 'Copied' }).count()).toBe(1);
    key = await page.evaluate<string>('navigator.clipboard.readText()');
    expect(key).toBe(shown);

    await page.getByRole('link', { name: 'I have saved it' }).click();
    expect(await page.locator('table tbody').innerText()).toContain(key.slice(0, 8));
    expect(await page.content()).not.toContain(key);
    await shot(page, 'keys');

    for (const city of ['paris', 'oslo', 'lima']) {
      const r = await fetch(`${h.gatewayUrl}/weather/forecast/${city}`, { headers: { 'x-api-key': key } });
      expect(r.status).toBe(200);
      expect(await r.json()).toEqual({ city, forecast: 'sunny' });
    }
    expect(h.upstreamCalls).toContain('GET /forecast/lima');
    await h.meter.flush();

    await page.getByRole('link', { name: 'Usage' }).first().click();
    const today = new Date(h.clock.now()).toISOString().slice(0, 10);
    expect(await page.locator(`#chart-requests rect[data-label="${today}"]`).getAttribute('data-value')).toBe(
      '3',
    );
    expect(await page.locator('#quota').innerText()).toContain('9,997 of 10,000 calls left');
    expect(await page.locator('#spend').innerText()).toContain('USD 10.15');
    await shot(page, 'usage');

    // Keyboard: the first Tab reaches the skip link; on a phone nothing overflows sideways.
    await page.keyboard.press('Tab');
    expect(await page.evaluate<string>('document.activeElement.textContent')).toBe('Skip to content');
    await page.setViewportSize({ width: 390, height: 800 });
    for (const path of ['/', '/account/usage', '/account/keys']) {
      await page.goto(h.url + path);
      expect(await page.evaluate<number>('document.documentElement.scrollWidth'), path).toBeLessThanOrEqual(
        390,
      );
      if (path === '/account/usage') await shot(page, 'phone-usage');
    }
    await page.close();
  }, 120_000);

  it('a month later the buyer has an invoice and the provider sees the buyer and the revenue', async () => {
    h.clock.advance(32 * 86_400_000);
    const run = await h.billing.run({ finalize: true });
    expect(run).toBeDefined();

    const page = await buyer.newPage();
    await page.goto(`${h.url}/account/invoices`);
    await page.waitForURL(/\/login/); // the session expired meanwhile
    await logIn(page, buyerEmail);
    await page.waitForURL(/\/account\/invoices$/);
    const row = await page.locator('tr[data-invoice]').first().innerText();
    expect(row).toContain('USD 10.15');
    await shot(page, 'invoices');
    await page.locator('tr[data-invoice] a').first().click();
    expect(await page.locator('table').innerText()).toContain('0.15');
    const pdfHref = await page.getByRole('link', { name: 'Download PDF' }).getAttribute('href');
    const pdf = await buyer.request.get(h.url + pdfHref!);
    expect(pdf.status()).toBe(200);
    expect(pdf.headers()['content-type']).toBe('application/pdf');
    expect((await pdf.body()).subarray(0, 5).toString()).toBe('%PDF-');
    await page.close();

    const console = await provider.newPage();
    await console.goto(`${h.url}/console/subscribers`);
    await logIn(console, providerEmail);
    await console.waitForURL(/\/console\/subscribers$/);
    expect(await console.locator('table').innerText()).toContain(buyerEmail);
    await console.goto(`${h.url}/console/invoices`);
    expect(await console.locator('table').innerText()).toContain('USD 10.15');
    await console.goto(`${h.url}/console/revenue`);
    const revenue = await console.locator('table').innerText();
    expect(revenue).toContain('USD 10.15');
    expect(await console.locator('svg rect.bar:not([data-value="0"])').count()).toBe(1);
    await shot(console, 'revenue');
    await console.close();
  }, 120_000);
});
