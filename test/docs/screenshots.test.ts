// biome-ignore-all lint/performance/useDomNodeTextContent: Playwright locators, not DOM nodes: innerText is the rendered text a user reads
/**
 * The README's pictures are of the demo itself: `tollgate serve --demo` on free ports, a
 * few calls with the key it printed (so usage has something to show), then the pages a
 * newcomer opens first, in real headless Chromium, as the demo's buyer and provider.
 *
 * The same demo checks the first call the portal tells a new buyer to make: it signs up,
 * subscribes to Proper-noun search, and runs the curl, JavaScript and Python examples of the
 * key page (and the product page's, with the key in TOLLGATE_KEY) exactly as shown; each must
 * answer 200 through the demo's gateway (Python only where `requests` is installed).
 *
 * `TOLLGATE_SCREENSHOTS=1 npx vitest run test/docs/screenshots.test.ts` refreshes
 * docs/screenshots/demo/; ordinary runs take them into a temporary folder, so the tree stays
 * clean and the pages are still checked to render.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServeProcess, START_TIMEOUT_MS, startServe } from '../helpers/process.js';

const SHOTS =
  process.env.TOLLGATE_SCREENSHOTS === '1'
    ? join(import.meta.dirname, '../../docs/screenshots/demo')
    : mkdtempSync(join(tmpdir(), 'tollgate-demo-shots-'));
const CHROMIUM = '/usr/bin/chromium';
const PASSWORD = 'tollgate-demo'; // the demo prints it; README.md names it
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium && process.env.CI === 'true') throw new Error('the demo screenshots need /usr/bin/chromium');
if (!hasChromium) console.warn('skipping the demo screenshots: /usr/bin/chromium is not installed');
const hasRequests = spawnSync('python3', ['-c', 'import requests']).status === 0;
if (!hasRequests)
  console.warn("the Python first-call example is not run: python3's requests is not installed");

/** Runs an example as a reader would paste it; what it printed, to match a 200 against. */
function runExample(lang: string, code: string, env: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-first-call-'));
  try {
    const file = join(dir, lang === 'js' ? 'call.mjs' : lang === 'python' ? 'call.py' : 'call.sh');
    writeFileSync(file, code);
    const cmd = lang === 'js' ? process.execPath : lang === 'python' ? 'python3' : 'bash';
    const r = spawnSync(cmd, [file], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, NO_PROXY: '127.0.0.1', no_proxy: '127.0.0.1', ...env },
    });
    return `${r.stdout}${r.stderr}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe.skipIf(!hasChromium)('the demo, as the README shows it', () => {
  let serve: ServeProcess;
  let dir: string;
  let browser: Browser;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'tollgate-demo-'));
    serve = await startServe(['--demo', '--gateway-port', '0', '--console-port', '0', '--data-dir', dir], {
      TOLLGATE_DATABASE_URL: `sqlite:${join(dir, 'tollgate.db')}`,
      TOLLGATE_OUTBOUND_ALLOW: '',
    });
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!serve.output().includes('Without a key:')) {
      if (Date.now() > deadline) throw new Error(`the demo did not finish starting:\n${serve.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-sync',
      ],
    });
  }, START_TIMEOUT_MS + 60_000);

  afterAll(async () => {
    await browser?.close();
    await serve?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const shot = (page: Page, name: string) =>
    page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

  async function logIn(email: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    const page = await context.newPage();
    await page.goto(`${serve.consoleUrl}/login`);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL((u) => !u.pathname.startsWith('/login'));
    return page;
  }

  it('listens on 127.0.0.1 only (the demo prints its admin token and passwords)', () => {
    // The kernel's table of listening TCP sockets (state 0A): local address:port in hex.
    const listening = ['/proc/net/tcp', '/proc/net/tcp6']
      .filter(existsSync)
      .flatMap((f) => readFileSync(f, 'utf8').trim().split('\n').slice(1))
      .map((l) => l.trim().split(/\s+/))
      .filter((c) => c[3] === '0A')
      .map((c) => c[1]!.split(':'));
    for (const url of [serve.gatewayUrl!, serve.consoleUrl!]) {
      const port = Number(new URL(url).port).toString(16).toUpperCase().padStart(4, '0');
      const addresses = listening.filter(([, p]) => p === port).map(([a]) => a);
      expect(addresses, url).toEqual(['0100007F']);
    }
  });

  it('has usage to show after the calls the README makes', async () => {
    const key = /x-api-key: (tg_[^'\s]+)/.exec(serve.output())?.[1] ?? '';
    const call = (path: string, init: RequestInit = {}) =>
      fetch(`${serve.gatewayUrl}${path}`, { ...init, headers: { 'x-api-key': key, ...init.headers } });
    const statuses = [];
    for (let i = 0; i < 12; i++) statuses.push((await call('/hello/world')).status);
    for (const text of ['Ada Lovelace met Charles Babbage in London.', 'Grace Hopper worked at Harvard.'])
      statuses.push(
        (
          await call('/nouns/nouns', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ text }),
          })
        ).status,
      );
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(5);
  });

  it("shows the buyer's pages: marketplace, product, keys, usage", async () => {
    const page = await logIn('buyer@example.com');
    await page.goto(`${serve.consoleUrl}/`);
    await expect(page.getByRole('link', { name: 'Proper-noun search' }).first().isVisible()).resolves.toBe(
      true,
    );
    await shot(page, 'catalogue');
    await page.getByRole('link', { name: 'Proper-noun search' }).first().click();
    await page.waitForURL(/\/products\/prd_/);
    await shot(page, 'product');
    await page.goto(`${serve.consoleUrl}/account/keys`);
    await expect(page.getByText('demo key').first().isVisible()).resolves.toBe(true);
    await shot(page, 'keys');
    await page.goto(`${serve.consoleUrl}/account/usage`);
    await shot(page, 'usage');
    await page.context().close();
  }, 120_000);

  it("a new buyer's first call runs as the key page and product page show it", async () => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    await page.goto(`${serve.consoleUrl}/`);
    await page.getByRole('link', { name: 'Proper-noun search' }).first().click();
    await page.waitForURL(/\/products\/prd_/);
    const productUrl = page.url();
    const onProduct = await Promise.all(
      [0, 1, 2].map(async (i) => {
        const block = page.locator(`#example-${i}`);
        return [(await block.getAttribute('data-lang')) ?? '', await block.innerText()] as const;
      }),
    );
    await page.getByRole('link', { name: 'create an account' }).click();
    await page.getByLabel('Your name').fill('First Buyer');
    await page.getByLabel('Email').fill('first-call@example.com');
    await page.getByLabel('Password').fill('correct horse battery');
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.waitForURL(productUrl);
    await page.getByRole('button', { name: 'Subscribe' }).click();
    const key = (await page.locator('#key-value').innerText()).trim();
    expect(key).toMatch(/^tg_/);
    const onKeyPage = await Promise.all(
      [0, 1, 2].map(async (i) => {
        const block = page.locator(`#first-call-${i}`);
        return [(await block.getAttribute('data-lang')) ?? '', await block.innerText()] as const;
      }),
    );
    await context.close();
    // The call is a real operation of the API, not its bare prefix.
    expect(onKeyPage[0]![1]).toContain(`${serve.gatewayUrl}/nouns/`);
    for (const [where, blocks, env] of [
      ['key page', onKeyPage, {}],
      ['product page', onProduct, { TOLLGATE_KEY: key }],
    ] as const) {
      for (const [lang, code] of blocks) {
        if (lang === 'python' && !hasRequests) continue;
        const out = runExample(lang, code, env);
        const status = lang === 'shell' ? /^HTTP\/[\d.]+ (\d{3})/.exec(out)?.[1] : /^(\d{3}) /.exec(out)?.[1];
        expect(status, `${where}, ${lang}:\n${code}\n---\n${out}`).toBe('200');
      }
    }
  }, 180_000);

  it("shows the provider's pages: plan editor and revenue", async () => {
    const page = await logIn('provider@example.com');
    await page.goto(`${serve.consoleUrl}/console/plans`);
    await page.getByRole('link', { name: 'Starter' }).first().click();
    await page.waitForURL(/\/console\/plans\/pln_/);
    await shot(page, 'plan-editor');
    await page.goto(`${serve.consoleUrl}/console/revenue`);
    await shot(page, 'revenue');
    await page.context().close();
  }, 120_000);
});
