// biome-ignore-all lint/performance/useDomNodeTextContent: Playwright locators, not DOM nodes: innerText is the rendered text a user reads
/**
 * The console's guard rails in real headless Chromium: an OpenAPI import says which paths
 * it could not route and why; an API's settings and routes are edited in the console; a
 * refused form speaks in plain words, names fields as their labels read, in form order.
 */
import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buyerDocument } from '../../src/portal/reference.js';
import { sqliteStore } from '../helpers/stores.js';
import { type PortalHarness, startPortal } from './harness.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium && process.env.CI === 'true') throw new Error('the console tests need /usr/bin/chromium');
const PASSWORD = 'correct horse battery';
const OPENAPI = JSON.stringify({
  openapi: '3.1.0',
  info: { title: 'Files', version: '1' },
  paths: {
    '/files': { get: { summary: 'List files' } },
    '/files/{name}.json': { get: { summary: 'A file as JSON' } },
    '/files/{name}': { delete: { summary: 'Delete a file' } },
  },
});
/** Validator words and internal field names a person should never read on a form. */
const JARGON =
  /Too small|Too big|expected (string|number)|received|planIds|apiIds|upstreamUrl|pathPrefix|routes\[/;

describe.skipIf(!hasChromium)('console guard rails in a browser', () => {
  let h: PortalHarness;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    h = await startPortal(sqliteStore);
    const p = await h.catalog.providers.create({ kind: 'operator', id: 'test' }, { name: 'Files Ltd' });
    await h.accounts.createUser({
      email: 'ops@files.example',
      name: 'Files Ops',
      password: PASSWORD,
      role: 'provider',
      providerId: p.id,
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
    page = await (await browser.newContext({ viewport: { width: 1100, height: 800 } })).newPage();
    await page.goto(`${h.url}/login`);
    await page.getByLabel('Email').fill('ops@files.example');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(`${h.url}/console`);
  });

  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  const summary = () => page.locator('.error-summary li').allInnerTexts();

  it('an import lists the paths it could not route, with the reason', async () => {
    await page.goto(`${h.url}/console/apis`);
    await page.getByLabel('Name', { exact: true }).fill('Files');
    await page.getByLabel('Upstream URL').fill(h.upstreamUrl);
    await page.getByLabel('Path prefix').fill('/files-api');
    await page.getByLabel('…or paste the document').fill(OPENAPI);
    await page.getByRole('button', { name: 'Create API' }).click();
    await page.waitForURL(/\/console\/apis\/api_/);
    const notice = await page.getByRole('status').filter({ hasText: 'Not routed' }).innerText();
    expect(notice).toContain('/files/{name}.json');
    expect(notice).toContain('only part of a segment');
    const api = (await h.catalog.apis.list({ kind: 'operator', id: 'test' }, { limit: 10 })).items[0]!;
    expect(api.routes.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /files', 'DELETE /files/{name}']);
    // The buyers' reference shows what the gateway routes, never the dropped path.
    const reference = buyerDocument(api, 'https://gateway.example') as { paths: Record<string, unknown> };
    expect(Object.keys(reference.paths)).toEqual(['/files', '/files/{name}']);
  });

  it('a refused save names each field as its label reads, in plain words and form order', async () => {
    await page.getByLabel('Name', { exact: true }).fill('');
    await page.getByLabel('Path prefix').fill('no-slash');
    await page.getByLabel('Route 2, units per call').fill('lots');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.waitForSelector('.error-summary');
    const items = await summary();
    expect(items.map((i) => i.split(':')[0])).toEqual(['Name', 'Path prefix', 'Route 2, units per call']);
    expect(items[0]).toBe('Name: enter a value');
    expect(items[2]).toBe('Route 2, units per call: enter a number');
    expect(items.join('\n')).not.toMatch(JARGON);
    // What was typed stays in the form, and nothing was saved.
    await expect(page.getByLabel('Path prefix').inputValue()).resolves.toBe('no-slash');
    const api = (await h.catalog.apis.list({ kind: 'operator', id: 'test' }, { limit: 10 })).items[0]!;
    expect(api.pathPrefix).toBe('/files-api');
  });

  it('settings and routes are saved from the console', async () => {
    await page.getByLabel('Name', { exact: true }).fill('Files v2');
    await page.getByLabel('Path prefix').fill('/files2');
    await page.getByLabel('Route 2, units per call').fill('3');
    await page.getByLabel('Route 2, dimension').fill('deletions');
    await page.getByLabel('Route 1, public').check();
    await page.getByLabel('Route 3, method').selectOption('POST');
    await page.getByLabel('Route 3, path').fill('/files/{name}/copy');
    await page.getByLabel('Browser origins (CORS)').fill('https://app.files.example');
    await page.getByLabel(/Send RateLimit headers/).uncheck();
    await page.getByRole('button', { name: 'Save' }).click();
    await page.waitForURL(/saved=1/);
    const api = (await h.catalog.apis.list({ kind: 'operator', id: 'test' }, { limit: 10 })).items[0]!;
    expect({ name: api.name, pathPrefix: api.pathPrefix, rateLimitHeaders: api.rateLimitHeaders }).toEqual({
      name: 'Files v2',
      pathPrefix: '/files2',
      rateLimitHeaders: false,
    });
    expect(api.cors?.allowOrigins).toEqual(['https://app.files.example']);
    expect(api.routes.map((r) => `${r.method} ${r.path} ${r.dimension} ${r.units} ${r.public}`)).toEqual([
      'GET /files requests 1 true',
      'DELETE /files/{name} deletions 3 false',
      'POST /files/{name}/copy requests 1 false',
    ]);

    // Removing a route.
    await page.getByLabel('Route 3, remove').check();
    await page.getByRole('button', { name: 'Save' }).click();
    await page.waitForURL(/saved=1/);
    const after = (await h.catalog.apis.list({ kind: 'operator', id: 'test' }, { limit: 10 })).items[0]!;
    expect(after.routes.map((r) => r.path)).toEqual(['/files', '/files/{name}']);
  });

  it('a refused publish names the plan and the API, under the form label', async () => {
    const op = { kind: 'operator', id: 'test' } as const;
    const api = (await h.catalog.apis.list(op, { limit: 10 })).items[0]!;
    const plan = await h.catalog.plans.create(op, { providerId: api.providerId, name: 'Closed', apiIds: [] });
    const product = await h.marketplace.products.create(op, {
      providerId: api.providerId,
      title: 'Mismatched',
      apiIds: [api.id],
      planIds: [plan.id],
    });
    await page.goto(`${h.url}/console/products/${product.id}`);
    await page.getByRole('button', { name: 'Publish' }).click();
    await page.waitForSelector('.error-summary');
    expect(await summary()).toEqual([
      `Plans on offer: plan "Closed" does not give access to the API "${api.name}": add the API to the plan, or take it off the product, before publishing`,
    ]);
    expect((await h.marketplace.products.get(op, product.id)).status).toBe('draft');
  });

  it("the product form's errors read as its labels, never as field names", async () => {
    await page.goto(`${h.url}/console/products/new`);
    await page.getByRole('button', { name: 'Create draft' }).click();
    await page.waitForSelector('.error-summary');
    const items = await summary();
    expect(items.length).toBeGreaterThan(0);
    expect(items[0]).toMatch(/^Title: /);
    expect(items.join('\n')).not.toMatch(JARGON);
  });
});
