/**
 * Portal security, over plain HTTP against a real server: CSRF, session fixation, IDOR
 * between buyers, XSS in product text, log-in throttling, password reset, role separation,
 * security headers and human error pages. Runs on SQLite and PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testStores } from '../helpers/stores.js';
import { Browserless, type PortalHarness, seedProduct, startPortal } from './harness.js';

const PASSWORD = 'correct horse battery';

for (const kind of await testStores()) {
  describe(`portal security (${kind.name})`, () => {
    let h: PortalHarness;
    let seed: Awaited<ReturnType<typeof seedProduct>>;
    let aliceInvoice = '';

    beforeAll(async () => {
      h = await startPortal(kind, { trustProxy: true });
      seed = await seedProduct(h);
    });
    afterAll(async () => {
      await h?.close();
    });

    let n = 0;
    async function buyer(): Promise<{ b: Browserless; email: string }> {
      const b = new Browserless(h.url, { 'x-forwarded-for': `10.0.0.${++n}` });
      const email = `buyer${n}-${Date.now()}@example.com`;
      await b.get('/signup');
      const r = await b.post('/signup', { name: `Buyer ${n}`, email, password: PASSWORD });
      expect(r.status).toBe(303);
      await b.get('/account');
      return { b, email };
    }

    async function subscribe(b: Browserless): Promise<{ subscriptionId: string; key: string }> {
      await b.get(`/products/${seed.productId}`);
      const r = await b.post(`/products/${seed.productId}/subscribe`, { planId: seed.planId });
      expect(r.status).toBe(200);
      const key = /<output id="key-value"[^>]*>([^<]+)<\/output>/.exec(r.text)![1]!.trim();
      const list = await b.get('/account');
      const subscriptionId = /\/account\/subscriptions\/(sub_[0-9A-Z]+)/.exec(list.text)![1]!;
      return { subscriptionId, key };
    }

    it('sends security headers: CSP without inline scripts, no framing, nosniff', async () => {
      const r = await new Browserless(h.url).get('/login');
      expect(r.status).toBe(200);
      const csp = r.res.headers.get('content-security-policy')!;
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain('unsafe-inline');
      expect(csp).toContain("frame-ancestors 'none'");
      expect(r.res.headers.get('x-frame-options')).toBe('DENY');
      expect(r.res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(r.text).not.toMatch(/<script>(?!<\/script>)/);
      const cookie = r.res.headers.getSetCookie().join('\n');
      expect(cookie).toMatch(/HttpOnly/);
      expect(cookie).toMatch(/SameSite=Lax/);
    });

    it('refuses a POST without the CSRF token, with a wrong one, or from another origin', async () => {
      const b = new Browserless(h.url, { 'x-forwarded-for': '10.9.0.1' });
      await b.get('/signup');
      const body = { name: 'X', email: `csrf-${Date.now()}@example.com`, password: PASSWORD };
      expect((await b.post('/signup', body, { csrf: null })).status).toBe(403);
      expect((await b.post('/signup', body, { csrf: 'forged' })).status).toBe(403);
      const cross = await b.post('/signup', body, { headers: { origin: 'https://evil.example' } });
      expect(cross.status).toBe(403);
      expect(cross.text).toContain('another site');

      // Signed in: the token is the session's, so the pre-login token no longer works.
      const { b: a } = await buyer();
      const { subscriptionId } = await subscribe(a);
      const keys = await a.get('/account/keys');
      const keyId = /\/account\/keys\/(key_[0-9A-Z]+)\/revoke/.exec(keys.text)![1]!;
      const refused = await a.post(`/account/keys/${keyId}/revoke`, {}, { csrf: null });
      expect(refused.status).toBe(403);
      expect(refused.text).toContain('expired or did not come from this site');
      const other = new Browserless(h.url);
      await other.get('/login');
      expect((await a.post(`/account/keys/${keyId}/revoke`, {}, { csrf: other.csrf })).status).toBe(403);
      const ok = await a.post(`/account/keys/${keyId}/revoke`, {});
      expect(ok.status).toBe(303);
      expect((await a.get('/account/keys')).text).toContain('s-disabled');
      expect(subscriptionId).toMatch(/^sub_/);
    });

    it('issues a new session id at log-in: a planted id is useless (fixation)', async () => {
      const { email } = await buyer();
      const b = new Browserless(h.url, { 'x-forwarded-for': '10.9.0.2' });
      b.cookies.set('tg_session', 'planted-by-attacker-0123456789');
      await b.get('/login');
      await b.post('/login', { email, password: PASSWORD });
      const first = b.cookies.get('tg_session');
      expect(first).toBeDefined();
      expect(first).not.toBe('planted-by-attacker-0123456789');
      expect((await b.get('/account')).status).toBe(200);

      // Logging in again rotates again, and the old id stops working.
      await b.post('/login', { email, password: PASSWORD });
      const second = b.cookies.get('tg_session');
      expect(second).not.toBe(first);
      const stale = new Browserless(h.url);
      stale.cookies.set('tg_session', first!);
      const r = await stale.get('/account');
      expect(r.status).toBe(303);
      expect(r.res.headers.get('location')).toContain('/login');

      // The planted id never became a session.
      const attacker = new Browserless(h.url);
      attacker.cookies.set('tg_session', 'planted-by-attacker-0123456789');
      expect((await attacker.get('/account')).status).toBe(303);
    });

    it("keeps one buyer out of another's subscriptions, keys, usage and invoices (IDOR → 404)", async () => {
      const { b: alice } = await buyer();
      const { b: mallory } = await buyer();
      const a = await subscribe(alice);
      const keys = await alice.get('/account/keys');
      const aliceKey = /\/account\/keys\/(key_[0-9A-Z]+)\/roll/.exec(keys.text)![1]!;
      // An invoice for Alice: a closed period.
      h.clock.advance(32 * 86_400_000);
      await h.billing.run({ subscriptionId: a.subscriptionId, finalize: true });
      const inv = (await h.billing.listInvoices({ subscriptionId: a.subscriptionId })).items[0]!;
      h.clock.advance(-32 * 86_400_000);
      aliceInvoice = inv.id;
      expect((await alice.get(`/account/invoices/${inv.id}`)).status).toBe(200);

      await mallory.get('/account');
      for (const path of [
        `/account/subscriptions/${a.subscriptionId}`,
        `/account/usage?subscription=${a.subscriptionId}`,
        `/account/invoices/${inv.id}`,
        `/account/invoices/${inv.id}/html`,
        `/account/invoices/${inv.id}/pdf`,
      ]) {
        const r = await mallory.get(path);
        expect(r.status, path).toBe(404);
        expect(r.text).toContain('Page not found');
      }
      for (const path of [
        `/account/keys/${aliceKey}/roll`,
        `/account/keys/${aliceKey}/revoke`,
        `/account/subscriptions/${a.subscriptionId}/cancel`,
        `/account/subscriptions/${a.subscriptionId}/keys`,
      ]) {
        expect((await mallory.post(path, {})).status, path).toBe(404);
      }
      const list = await mallory.get('/account/keys');
      expect(list.text).not.toContain(aliceKey);
      expect((await mallory.get('/account/invoices')).text).not.toContain(inv.number);
      // Alice's key still works: nothing was rolled or revoked.
      const call = await fetch(`${h.gatewayUrl}${seed.pathPrefix}/forecast/oslo`, {
        headers: { 'x-api-key': a.key },
      });
      expect(call.status).toBe(200);
    });

    it('shows product text written as HTML as text (XSS)', async () => {
      const evil = await seedProduct(h, {
        title: '<script>alert("title")</script>Evil',
        summary: '<img src=x onerror=alert(1)>',
        description:
          '<script>alert("desc")</script>\n\n[click](javascript:alert(1)) [ok](https://example.com) <iframe src="https://evil.example"></iframe>',
      });
      const page = await new Browserless(h.url).get(`/products/${evil.productId}`);
      expect(page.status).toBe(200);
      expect(page.text).not.toContain('<script>alert');
      expect(page.text).not.toContain('<img src=x');
      expect(page.text).not.toContain('<iframe');
      expect(page.text).not.toMatch(/href="javascript:/i);
      expect(page.text).toContain('&lt;script&gt;alert(&quot;title&quot;)&lt;/script&gt;Evil');
      expect(page.text).toContain('&lt;script&gt;alert(&quot;desc&quot;)&lt;/script&gt;');
      expect(page.text).toContain('href="https://example.com" rel="nofollow noopener noreferrer"');
      const list = await new Browserless(h.url).get('/?q=evil');
      expect(list.text).toContain('&lt;script&gt;');
      expect(list.text).not.toContain('<script>alert');
    });

    it('pauses log-in after 5 failures for that email and address (429), even with the right password', async () => {
      const { email } = await buyer();
      const b = new Browserless(h.url, { 'x-forwarded-for': '10.7.7.7' });
      await b.get('/login');
      for (let i = 0; i < 5; i++)
        expect((await b.post('/login', { email, password: 'wrong password!' })).status).toBe(401);
      const blocked = await b.post('/login', { email, password: PASSWORD });
      expect(blocked.status).toBe(429);
      expect(blocked.text).toContain('Too many failed attempts');
      expect(Number(blocked.res.headers.get('retry-after'))).toBeGreaterThan(0);
      // Another address is not blocked; after 15 minutes this one is free again.
      const elsewhere = new Browserless(h.url, { 'x-forwarded-for': '10.7.7.8' });
      expect((await elsewhere.login(email, PASSWORD)).status).toBe(303);
      h.clock.advance(15 * 60_000 + 1000);
      expect((await b.post('/login', { email, password: PASSWORD })).status).toBe(303);
      // Unknown emails answer like wrong passwords.
      await b.get('/login');
      expect((await b.post('/login', { email: 'nobody@example.com', password: PASSWORD })).text).toContain(
        'do not match an account',
      );
    });

    it('resets a password with a single-use mailed link and ends old sessions', async () => {
      const { b: old, email } = await buyer();
      const b = new Browserless(h.url, { 'x-forwarded-for': '10.9.0.3' });
      await b.get('/reset');
      const before = h.mails.length;
      expect((await b.post('/reset', { email })).text).toContain('Check your email');
      expect((await b.post('/reset', { email: 'unknown@example.com' })).text).toContain('Check your email');
      expect(h.mails.length).toBe(before + 1);
      const link = /(http:\/\/\S+\/reset\/\S+)/.exec(h.mails.at(-1)!.text)![1]!;
      const path = new URL(link).pathname;
      await b.get(path);
      expect((await b.post(path, { password: 'short' })).status).toBe(400);
      const done = await b.post(path, { password: 'a brand new passphrase' });
      expect(done.status).toBe(303);
      expect((await b.get(path)).text).toContain('not valid any more');
      expect((await b.post(path, { password: 'another new passphrase' })).text).toContain(
        'not valid any more',
      );
      expect((await old.get('/account')).status).toBe(303);
      expect(
        (
          await new Browserless(h.url, { 'x-forwarded-for': '10.9.0.4' }).login(
            email,
            'a brand new passphrase',
          )
        ).status,
      ).toBe(303);
      // Links expire after an hour.
      await b.post('/reset', { email });
      const late = new URL(/(http:\/\/\S+)/.exec(h.mails.at(-1)!.text)![1]!).pathname;
      h.clock.advance(3600_000 + 1);
      expect((await b.get(late)).text).toContain('not valid any more');
    });

    it('keeps buyers out of the console and providers out of the buyer pages', async () => {
      const { b } = await buyer();
      const r = await b.get('/console/apis');
      expect(r.status).toBe(403);
      expect(r.text).toContain('for API providers');
      const email = `prov-${Date.now()}@example.com`;
      await h.accounts.createUser({
        email,
        name: 'P',
        password: PASSWORD,
        role: 'provider',
        providerId: seed.providerId,
      });
      const p = new Browserless(h.url, { 'x-forwarded-for': '10.9.0.5' });
      expect((await p.login(email, PASSWORD)).location).toBe('/console');
      expect((await p.get('/account/keys')).status).toBe(403);
      // A provider sees only its own records.
      const other = await seedProduct(h);
      expect((await p.get(`/console/apis/${other.apiId}`)).status).toBe(404);
      expect((await p.get(`/console/plans/${other.planId}`)).status).toBe(404);
      expect((await p.get(`/console/products/${other.productId}`)).status).toBe(404);
      expect((await p.post(`/console/products/${other.productId}/unpublish`, {})).status).toBe(404);
      expect((await p.get(`/console/apis/${seed.apiId}`)).status).toBe(200);
      expect((await p.get(`/console/invoices/${aliceInvoice}`)).status).toBe(200);
      const otherEmail = `other-${Date.now()}@example.com`;
      await h.accounts.createUser({
        email: otherEmail,
        name: 'O',
        password: PASSWORD,
        role: 'provider',
        providerId: other.providerId,
      });
      const o = new Browserless(h.url, { 'x-forwarded-for': '10.9.0.6' });
      await o.login(otherEmail, PASSWORD);
      expect((await o.get(`/console/invoices/${aliceInvoice}`)).status).toBe(404);
      expect((await o.get(`/console/invoices/${aliceInvoice}/pdf`)).status).toBe(404);
      expect((await o.get('/console/subscribers')).text).not.toContain('Buyer ');
    });

    it('answers unknown pages and bad input with human pages, never a stack trace', async () => {
      const b = new Browserless(h.url);
      const missing = await b.get('/products/prd_NOPE');
      expect(missing.status).toBe(404);
      expect(missing.text).toContain('Page not found');
      expect(missing.text).not.toMatch(/at .*\.ts:\d+/);
      expect((await b.get('/console/nothing-here')).status).toBe(303);
      await b.get('/signup');
      const bad = await b.post('/signup', { name: '', email: 'not-an-email', password: 'x' });
      expect(bad.status).toBe(400);
      expect(bad.text).toContain('must be an email address');
      expect(bad.text).toContain('must be at least 10 characters');
      // Paths that are not the portal's are left to the host app.
      expect((await fetch(`${h.url}/admin/v1/providers`)).status).toBe(404);
      expect((await fetch(`${h.url}/`, { method: 'POST' })).status).toBe(404);
    });
  });
}
