// biome-ignore-all lint/performance/useDomNodeTextContent: Playwright locators, not DOM nodes: innerText is the rendered text a user reads
/**
 * A provider edits an API's gateway settings in the console, in real headless Chromium, and
 * the real gateway in front of two loopback upstreams uses them on keyed calls: the upstream
 * URL, the host name, whether the prefix is stripped, the upstream timeout and a route's
 * throttle. A refused save names each field as its label reads, in plain words and in the
 * form's order. The API page fits a 390 px phone (nothing scrolls sideways but the routes
 * table inside its own box).
 */
import { existsSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM } from '../../src/catalog/index.js';
import { sqliteStore } from '../helpers/stores.js';
import { type PortalHarness, startPortal } from './harness.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium && process.env.CI === 'true') throw new Error('the console tests need /usr/bin/chromium');
const PASSWORD = 'correct horse battery';
/** How long the upstreams take to answer `/slow`: well over the timeout the provider sets. */
const SLOW_MS = 1_500;
/** Validator words and internal field names a person should never read on a form. */
const JARGON =
  /Too small|Too big|expected (string|number)|received|timeoutMs|stripPrefix|throttle\.|routes\[/;

interface Upstream {
  url: string;
  seen: string[];
  server: Server;
}

/** A loopback upstream that answers with the path it was asked for; `/slow` paths after SLOW_MS. */
async function upstream(name: string): Promise<Upstream> {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(req.url ?? '');
    const answer = () => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ upstream: name, path: req.url }));
    };
    if (req.url?.endsWith('/slow')) setTimeout(answer, SLOW_MS);
    else answer();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
}

describe.skipIf(!hasChromium)('API settings edited in the console reach the gateway', () => {
  let h: PortalHarness;
  let a: Upstream;
  let b: Upstream;
  let browser: Browser;
  let ctx: BrowserContext;
  let page: Page;
  let apiId = '';
  let key = '';

  /** A keyed call through the real gateway, with the Host header a client would send. */
  function call(path: string, host?: string): Promise<{ status: number; body: string }> {
    const gw = new URL(h.gatewayUrl);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: gw.hostname,
          port: gw.port,
          path,
          headers: { 'x-api-key': key, ...(host ? { host } : {}) },
          agent: false,
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => {
            body += d;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  /** Saves the settings form and waits for the page that says so. */
  async function save() {
    await page.getByRole('button', { name: 'Save' }).click();
    await page.waitForURL(/saved=1/);
  }

  const summary = () => page.locator('.error-summary li').allInnerTexts();

  beforeAll(async () => {
    h = await startPortal(sqliteStore);
    [a, b] = await Promise.all([upstream('a'), upstream('b')]);
    const p = await h.catalog.providers.create(SYSTEM, { name: 'Files Ltd' });
    await h.catalog.namespaces.assignHost(SYSTEM, p.id, { host: 'files.example' });
    const api = await h.catalog.apis.create(SYSTEM, {
      providerId: p.id,
      name: 'Files',
      upstreamUrl: a.url,
      pathPrefix: '/files',
      routes: [
        { method: 'GET', path: '/things/{id}' },
        { method: 'GET', path: '/slow' },
      ],
    });
    apiId = api.id;
    const plan = await h.catalog.plans.create(SYSTEM, { providerId: p.id, name: 'Open', apiIds: [api.id] });
    const consumer = await h.catalog.consumers.create(SYSTEM, { providerId: p.id, name: 'Buyer' });
    const sub = await h.catalog.subscriptions.create(SYSTEM, { consumerId: consumer.id, planId: plan.id });
    key = (await h.catalog.keys.create(SYSTEM, { subscriptionId: sub.id })).value;
    await h.accounts.createUser({
      email: 'ops@files.example',
      name: 'Files Ops',
      password: PASSWORD,
      role: 'provider',
      providerId: p.id,
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
    ctx = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    page = await ctx.newPage();
    page.setDefaultTimeout(30_000);
    await page.goto(`${h.url}/login`);
    await page.getByLabel('Email').fill('ops@files.example');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(`${h.url}/console`);
    await page.goto(`${h.url}/console/apis/${apiId}`);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await h?.close();
    for (const u of [a, b]) if (u) await new Promise<void>((r) => u.server.close(() => r()));
  });

  it('the form shows the settings the gateway uses', async () => {
    await expect(page.getByLabel('Upstream URL').inputValue()).resolves.toBe(a.url);
    await expect(page.getByLabel('Host name').inputValue()).resolves.toBe('');
    await expect(page.getByLabel(/Forward without the prefix/).isChecked()).resolves.toBe(true);
    await expect(page.getByLabel('Upstream timeout (ms)').inputValue()).resolves.toBe('30000');
    await expect(page.getByLabel('Route 1, throttle rate').inputValue()).resolves.toBe('');
    // Before any edit: upstream a, prefix stripped, the slow path within the default timeout.
    expect(await call('/files/things/1')).toMatchObject({ status: 200 });
    expect(a.seen.at(-1)).toBe('/things/1');
    expect((await call('/files/slow')).status).toBe(200);
  });

  it('a new upstream URL and an unstripped prefix take effect on the next keyed call', async () => {
    await page.getByLabel('Upstream URL').fill(b.url);
    // Unstripped, the upstream sees the whole path, and the routes are written as it sees them.
    await page.getByLabel(/Forward without the prefix/).uncheck();
    await page.getByLabel('Route 1, path').fill('/files/things/{id}');
    await page.getByLabel('Route 2, path').fill('/files/slow');
    await save();
    await expect
      .poll(async () => JSON.parse((await call('/files/things/2')).body) as unknown, { timeout: 15_000 })
      .toEqual({ upstream: 'b', path: '/files/things/2' });
    const api = await h.catalog.apis.get(SYSTEM, apiId);
    expect({ upstreamUrl: api.upstreamUrl, stripPrefix: api.stripPrefix }).toEqual({
      upstreamUrl: b.url,
      stripPrefix: false,
    });
  });

  it('a host name: only calls for that host reach the API', async () => {
    await page.getByLabel('Host name').fill('files.example');
    await save();
    await expect.poll(async () => (await call('/files/things/3')).status, { timeout: 15_000 }).toBe(404);
    expect(await call('/files/things/3', 'files.example')).toMatchObject({ status: 200 });
    expect(b.seen.at(-1)).toBe('/files/things/3');
  });

  it('a shorter upstream timeout answers 504 where the upstream is slower', async () => {
    await page.getByLabel('Upstream timeout (ms)').fill('250');
    await save();
    await expect
      .poll(async () => (await call('/files/slow', 'files.example')).status, { timeout: 20_000 })
      .toBe(504);
    expect((await h.catalog.apis.get(SYSTEM, apiId)).timeoutMs).toBe(250);
    // The other route is fast and unaffected.
    expect((await call('/files/things/4', 'files.example')).status).toBe(200);
  });

  it("a route's throttle holds back that route only", async () => {
    await page.getByLabel('Route 1, throttle rate').fill('0');
    await page.getByLabel('Route 1, throttle burst').fill('1');
    await save();
    await expect
      .poll(async () => (await call('/files/things/5', 'files.example')).status, { timeout: 15_000 })
      .toBe(429);
    const api = await h.catalog.apis.get(SYSTEM, apiId);
    expect(api.routes.map((r) => [r.path, r.throttle])).toEqual([
      ['/files/things/{id}', { rateLimit: 0, burstLimit: 1 }],
      ['/files/slow', null],
    ]);
    // The slow route is not held back: it still reaches the upstream (and times out there).
    expect((await call('/files/slow', 'files.example')).status).toBe(504);
    // The form shows what was saved, and saving again keeps the throttle.
    await expect(page.getByLabel('Route 1, throttle burst').inputValue()).resolves.toBe('1');
    await save();
    expect((await h.catalog.apis.get(SYSTEM, apiId)).routes[0]!.throttle).toEqual({
      rateLimit: 0,
      burstLimit: 1,
    });
  });

  it('a refused save names the fields as labelled, in plain words and form order, and saves nothing', async () => {
    const before = await h.catalog.apis.get(SYSTEM, apiId);
    await page.getByLabel('Host name').fill('not a host!');
    await page.getByLabel('Upstream timeout (ms)').fill('999999');
    await page.getByLabel('Route 2, throttle rate').fill('fast');
    await page.getByLabel('Route 1, throttle burst').fill('1.5');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.waitForSelector('.error-summary');
    const items = await summary();
    expect(items).toEqual([
      'Host name: must be a valid host name',
      'Upstream timeout (ms): enter 300000 or less',
      'Route 1, throttle burst: enter a whole number',
      'Route 2, throttle rate: enter a number',
      'Route 2, throttle burst: give a burst with the rate',
    ]);
    expect(items.join('\n')).not.toMatch(JARGON);
    // Each message also sits next to its input, and what was typed stays.
    await expect(page.locator('#f-timeoutMs-err').innerText()).resolves.toBe('enter 300000 or less');
    await expect(page.locator('#f-routes-1-throttle-rateLimit-err').innerText()).resolves.toBe(
      'enter a number',
    );
    await expect(page.getByLabel('Route 2, throttle rate').inputValue()).resolves.toBe('fast');
    expect(await h.catalog.apis.get(SYSTEM, apiId)).toEqual(before);

    // A host the operator did not assign is refused by the catalog, under the same label.
    await page.goto(`${h.url}/console/apis/${apiId}`);
    await page.getByLabel('Host name').fill('other.example');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.waitForSelector('.error-summary');
    expect(await summary()).toEqual([
      'Host name: is not assigned to this provider; the operator assigns hosts',
    ]);
    expect((await h.catalog.apis.get(SYSTEM, apiId)).host).toBe('files.example');
  });

  it('the API page and its routes fit a 390 px phone, refused save included', async () => {
    const phone = await browser.newContext({
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
      storageState: await ctx.storageState(),
    });
    try {
      const p = await phone.newPage();
      p.setDefaultTimeout(30_000);
      await p.goto(`${h.url}/console/apis/${apiId}`);
      const width = () => p.evaluate<number>('document.scrollingElement.scrollWidth');
      expect(await width()).toBeLessThanOrEqual(390);
      // The routes table is wider than the phone; it scrolls inside its own box, not the page.
      const table = await p.evaluate<number>("document.querySelector('.table-wrap table').scrollWidth");
      expect(table).toBeGreaterThan(390);
      // Every route input can be reached: the table scrolls inside its own box.
      await p.getByLabel('Route 2, throttle burst').fill('x');
      await p.getByRole('button', { name: 'Save' }).click();
      await p.waitForSelector('.error-summary');
      expect(await width()).toBeLessThanOrEqual(390);
      await p.goto(`${h.url}/console/apis`);
      expect(await width()).toBeLessThanOrEqual(390);
    } finally {
      await phone.close();
    }
  });
});
