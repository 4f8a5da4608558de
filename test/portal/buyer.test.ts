/**
 * The buyer's and provider's everyday actions without a browser (forms posted as a browser
 * without JavaScript would): roll a key (old one valid during the grace), revoke, a second
 * key, change plan, cancel; the provider's webhook endpoints with a secret shown once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqliteStore } from '../helpers/stores.js';
import { Browserless, type PortalHarness, seedProduct, startPortal } from './harness.js';

const PASSWORD = 'correct horse battery';
const OP = { kind: 'operator' as const, id: 'test' };

describe('portal actions without JavaScript', () => {
  let h: PortalHarness;
  let seed: Awaited<ReturnType<typeof seedProduct>>;
  let b: Browserless;
  let subscriptionId = '';
  let firstKey = '';
  const email = `grace-${Date.now()}@example.com`;

  const call = (key: string) =>
    fetch(`${h.gatewayUrl}${seed.pathPrefix}/forecast/rome`, { headers: { 'x-api-key': key } });
  const keyIn = (html: string) => /<output id="key-value"[^>]*>([^<]+)<\/output>/.exec(html)![1]!.trim();

  beforeAll(async () => {
    h = await startPortal(sqliteStore);
    seed = await seedProduct(h);
    b = new Browserless(h.url);
    await b.get('/signup');
    await b.post('/signup', { name: 'Grace', email, password: PASSWORD });
    await b.get(`/products/${seed.productId}`);
    const r = await b.post(`/products/${seed.productId}/subscribe`, { planId: seed.planId });
    firstKey = keyIn(r.text);
    subscriptionId = /\/account\/subscriptions\/(sub_[0-9A-Z]+)/.exec((await b.get('/account')).text)![1]!;
  });
  afterAll(async () => {
    await h?.close();
  });

  it('refuses a second subscription to the same product', async () => {
    await b.get(`/products/${seed.productId}`);
    const again = await b.post(`/products/${seed.productId}/subscribe`, { planId: seed.planId });
    expect(again.status).toBe(409);
    expect(again.text).toContain('already subscribe');
  });

  it('rolls a key: the new one works at once, the old one for the grace period', async () => {
    expect((await call(firstKey)).status).toBe(200);
    const page = await b.get('/account/keys');
    const id = /\/account\/keys\/(key_[0-9A-Z]+)\/roll/.exec(page.text)![1]!;
    const rolled = await b.post(`/account/keys/${id}/roll`, {});
    expect(rolled.status).toBe(200);
    expect(rolled.res.headers.get('cache-control')).toBe('no-store');
    const second = keyIn(rolled.text);
    expect(second).not.toBe(firstKey);
    expect((await call(second)).status).toBe(200);
    expect((await call(firstKey)).status).toBe(200);
    h.clock.advance(24 * 3600_000 + 1000);
    expect((await call(firstKey)).status).toBe(403);
    expect((await call(second)).status).toBe(200);

    await b.login(email, PASSWORD); // a day later: the 12-hour session has ended
    const revokeId = /\/account\/keys\/(key_[0-9A-Z]+)\/revoke/.exec(
      (await b.get('/account/keys')).text,
    )![1]!;
    await b.post(`/account/keys/${revokeId}/revoke`, {});
    expect((await call(second)).status).toBe(403);

    await b.get(`/account/subscriptions/${subscriptionId}`);
    const extra = keyIn((await b.post(`/account/subscriptions/${subscriptionId}/keys`, {})).text);
    expect((await call(extra)).status).toBe(200);
  });

  it('changes plan among the plans on offer, then cancels', async () => {
    const pro = await h.catalog.plans.create(OP, {
      providerId: seed.providerId,
      name: 'Pro',
      apiIds: [seed.apiId],
    });
    await h.billing.setPrice(pro.id, { currency: 'USD', recurringFee: '50' }, 'test');
    await h.marketplace.products.update(OP, seed.productId, { planIds: [seed.planId, pro.id] });
    const page = await b.get(`/account/subscriptions/${subscriptionId}`);
    expect(page.text).toContain('Change plan');
    const moved = await b.post(`/account/subscriptions/${subscriptionId}/plan`, { planId: pro.id });
    expect(moved.status).toBe(303);
    expect((await h.catalog.subscriptions.get(OP, subscriptionId)).planId).toBe(pro.id);
    expect(
      (await b.post(`/account/subscriptions/${subscriptionId}/plan`, { planId: 'pln_NOTOFFERED' })).status,
    ).toBe(400);

    const cancelled = await b.post(`/account/subscriptions/${subscriptionId}/cancel`, {});
    expect(cancelled.status).toBe(303);
    expect((await b.get(`/account/subscriptions/${subscriptionId}`)).text).toContain('s-cancelled');
    const keys = await b.get('/account/keys');
    expect(keys.text).not.toContain('/roll"');
    expect(keys.text).not.toContain('s-enabled');
  });

  it('lets a provider add a webhook endpoint, shows its secret once, and refuses bad URLs by field', async () => {
    const email = `hooks-${Date.now()}@example.com`;
    await h.accounts.createUser({
      email,
      name: 'Hooks',
      password: PASSWORD,
      role: 'provider',
      providerId: seed.providerId,
    });
    const p = new Browserless(h.url);
    await p.login(email, PASSWORD);
    await p.get('/console/webhooks');
    const bad = await p.post('/console/webhooks', { url: 'ftp://nope' });
    expect(bad.status).toBe(400);
    const added = await p.post('/console/webhooks', { url: 'https://hooks.example/tollgate' });
    expect(added.status).toBe(200);
    expect(added.text).toMatch(/<output id="webhook-secret">[^<]{16,}<\/output>/);
    const list = await p.get('/console/webhooks');
    expect(list.text).toContain('https://hooks.example/tollgate');
    expect(list.text).not.toContain('webhook-secret');
    const id = /\/console\/webhooks\/(whk_[0-9A-Z]+)\/delete/.exec(list.text)![1]!;
    expect((await p.post(`/console/webhooks/${id}/delete`, {})).status).toBe(303);
    expect((await p.get('/console/webhooks')).text).not.toContain('https://hooks.example/tollgate');
  });
});

describe('portal mounted on the console app', () => {
  let h: PortalHarness;
  beforeAll(async () => {
    h = await startPortal(sqliteStore);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('answers only its own paths, leaving POST / and /admin to the others', async () => {
    const { Hono } = await import('hono');
    const { createPortalApp, portalNotFound } = await import('../../src/portal/index.js');
    const { silentLogger } = await import('../../src/shared/index.js');
    const consoleApp = new Hono();
    consoleApp.get('/admin/v1/ping', (c) => c.json({ pong: true }));
    consoleApp.route(
      '/',
      createPortalApp({
        store: h.store,
        clock: h.clock,
        log: silentLogger,
        catalog: h.catalog,
        marketplace: h.marketplace,
        billing: h.billing,
        config: { secureCookies: true, providerSignup: true },
        mail: () => undefined,
      }),
    );
    consoleApp.post('/', (c) => c.json({ aws: c.req.header('x-amz-target') ?? null }));
    consoleApp.notFound(portalNotFound);

    expect(await (await consoleApp.request('/admin/v1/ping')).json()).toEqual({ pong: true });
    const aws = await consoleApp.request('/', {
      method: 'POST',
      headers: { 'x-amz-target': 'AWSMPMeteringService.MeterUsage' },
    });
    expect(await aws.json()).toEqual({ aws: 'AWSMPMeteringService.MeterUsage' });
    expect(aws.headers.get('content-security-policy')).toBeNull();
    const home = await consoleApp.request('/');
    expect(home.status).toBe(200);
    expect(await home.text()).toContain('API marketplace');
    const css = await consoleApp.request('/assets/portal/portal.css');
    expect(css.headers.get('set-cookie')).toBeNull();
    expect(css.headers.get('content-type')).toContain('text/css');
    expect((await consoleApp.request('/assets/portal/swagger/swagger-ui-bundle.js')).status).toBe(200);
    const missing = await consoleApp.request('/no/such/page');
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain('Page not found');

    // Secure cookies carry the __Host- prefix; provider sign-up, when allowed, creates the organisation.
    const signup = await consoleApp.request('/signup');
    const cookie = signup.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^__Host-tg_csrf=/);
    expect(cookie).toContain('Secure');
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await signup.text())![1]!;
    const body = new URLSearchParams({
      _csrf: csrf,
      name: 'Sam Seller',
      email: `seller-${Date.now()}@example.com`,
      password: PASSWORD,
      role: 'provider',
      organisation: 'Sam Data Co',
    });
    const made = await consoleApp.request('/signup', {
      method: 'POST',
      body,
      headers: { cookie: cookie.split(';')[0]!, 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(made.status).toBe(303);
    expect(made.headers.get('location')).toBe('/console');
    const providers = await h.catalog.providers.list(OP, { limit: 200 });
    expect(providers.items.map((p) => p.name)).toContain('Sam Data Co');
  });
});
