/**
 * The portal's edges, tried as an anonymous attacker would over real HTTP, on SQLite and
 * PostgreSQL:
 *  - a password-reset request with a forged Host header never mails a link to that host
 *    (links come only from publicUrl; without it, nothing is sent and the refusal is logged);
 *  - sign-up and reset answer the same whether or not the email has an account;
 *  - log-in's `next` is followed only as a same-origin path (control characters removed);
 *  - sign-up writes the user and its consumer together, or neither.
 */
import { request } from 'node:http';
import { sql } from 'kysely';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testStores } from '../helpers/stores.js';
import { Browserless, type PortalHarness, seedProduct, startPortal } from '../portal/harness.js';

const PASSWORD = 'correct horse battery';

/** A form POST with headers fetch would not send (a forged Host). */
function rawPost(
  b: Browserless,
  path: string,
  form: Record<string, string>,
  headers: Record<string, string>,
): Promise<{ status: number; text: string }> {
  const body = new URLSearchParams({ _csrf: b.csrf, ...form }).toString();
  const url = new URL(path, b.base);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: {
          ...headers,
          cookie: [...b.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => {
          text += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The page without what differs on every answer anyway (CSRF tokens). */
const page = (text: string) => text.replace(/value="[A-Za-z0-9_-]{20,}"/g, 'value="…"');

let ip = 0;
const visitor = (h: PortalHarness) => new Browserless(h.url, { 'x-forwarded-for': `10.44.0.${++ip}` });

async function signUp(h: PortalHarness, email: string) {
  const b = visitor(h);
  await b.get('/signup');
  const r = await b.post('/signup', { name: 'Ada', email, password: PASSWORD });
  return { b, r };
}

for (const kind of await testStores()) {
  describe(`portal edges (${kind.name})`, () => {
    let h: PortalHarness;
    let bare: PortalHarness; // no publicUrl configured
    const logs: Array<{ level: number; msg: string }> = [];

    beforeAll(async () => {
      h = await startPortal(kind, { trustProxy: true });
      const log = pino({ level: 'info' }, { write: (s: string) => void logs.push(JSON.parse(s)) });
      bare = await startPortal(kind, { trustProxy: true, publicUrl: false, log });
    });
    afterAll(async () => {
      await h?.close();
      await bare?.close();
    });

    it('never mails a reset link to the host a forged Host header names', async () => {
      const email = `host-${Date.now()}@example.com`;
      expect((await signUp(h, email)).r.status).toBe(303);
      const b = visitor(h);
      await b.get('/reset');
      const before = h.mails.length;
      const r = await rawPost(
        b,
        '/reset',
        { email },
        { host: 'evil.example', 'x-forwarded-host': 'evil.example' },
      );
      expect(r.status).toBe(200);
      expect(r.text).toContain('Check your email');
      expect(h.mails.length).toBe(before + 1);
      const text = h.mails.at(-1)!.text;
      expect(text).not.toContain('evil.example');
      expect(text).toContain(`${h.url}/reset/`);
    });

    it('without publicUrl sends no reset link, logs why, and answers the same', async () => {
      const email = `bare-${Date.now()}@example.com`;
      expect((await signUp(bare, email)).r.status).toBe(303);
      const before = bare.mails.length;
      const b = visitor(bare);
      await b.get('/reset');
      const known = await rawPost(b, '/reset', { email }, { host: 'evil.example' });
      const unknown = await rawPost(b, '/reset', { email: `nobody-${Date.now()}@example.com` }, {});
      expect(known.status).toBe(200);
      expect(page(known.text)).toBe(page(unknown.text));
      expect(bare.mails.length).toBe(before);
      expect(
        logs.some((l) => l.level >= 50 && /reset link not sent: the portal publicUrl is not set/.test(l.msg)),
      ).toBe(true);
    });

    it('answers a reset request the same for a registered and an unknown email', async () => {
      const email = `same-${Date.now()}@example.com`;
      await signUp(h, email);
      const b = visitor(h);
      await b.get('/reset');
      const known = await b.post('/reset', { email });
      const unknown = await b.post('/reset', { email: `ghost-${Date.now()}@example.com` });
      expect(known.status).toBe(unknown.status);
      expect(page(known.text)).toBe(page(unknown.text));
    });

    it('answers a sign-up the same whether or not the email is registered, and mails the owner', async () => {
      const email = `taken-${Date.now()}@example.com`;
      const first = await signUp(h, email);
      const consumers = await h.store.db.selectFrom('consumers').select('id').execute();
      const mails = h.mails.length;

      const again = await signUp(h, email.toUpperCase());
      expect(again.r.status).toBe(first.r.status);
      expect(again.r.location).toBe(first.r.location);
      expect(again.r.text).toBe(first.r.text);
      expect(again.r.text).not.toMatch(/already/i);
      const cookieNames = (r: Response) => r.headers.getSetCookie().map((c) => c.split('=')[0]);
      expect(cookieNames(again.r.res)).toEqual(cookieNames(first.r.res));
      // Nothing was created, the first account is intact, the owner was told.
      expect(await h.store.db.selectFrom('consumers').select('id').execute()).toHaveLength(consumers.length);
      expect(h.mails.length).toBe(mails + 1);
      expect(h.mails.at(-1)!.to).toBe(email);
      expect(h.mails.at(-1)!.subject).toMatch(/already have/);
      expect((await again.b.get('/account')).status).toBe(303); // the attacker is not logged in
      expect((await first.b.get('/account')).status).toBe(200);
    });

    it('follows log-in `next` only to a same-origin path', async () => {
      const email = `next-${Date.now()}@example.com`;
      await signUp(h, email);
      const attempts = [
        '/%09/evil.example',
        '/%0a/evil',
        '//evil',
        '/\\evil',
        'https://evil',
        '/%0d%0a/evil',
        '%2F%2Fevil',
      ];
      for (const next of attempts) {
        const b = visitor(h);
        expect((await b.get(`/login?next=${next}`)).status).toBe(200);
        const r = await b.post(`/login?next=${next}`, { email, password: PASSWORD });
        expect(r.status, next).toBe(303);
        expect(r.location, next).toBe('/account');
      }
      const b = visitor(h);
      await b.get('/login');
      const ok = await b.post(`/login?next=${encodeURIComponent('/account/keys?tab=all')}`, {
        email,
        password: PASSWORD,
      });
      expect(ok.location).toBe('/account/keys?tab=all');
    });

    it('creates the user and its consumer together, or neither', async () => {
      // A real database fault on the second write: the user insert is refused by a trigger.
      if (h.store.dialect === 'sqlite') {
        await sql`CREATE TRIGGER refuse_users BEFORE INSERT ON portal_users BEGIN SELECT RAISE(ABORT, 'disk on fire'); END`.execute(
          h.store.db,
        );
      } else {
        await sql`CREATE FUNCTION refuse_users() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'disk on fire'; END $$ LANGUAGE plpgsql`.execute(
          h.store.db,
        );
        await sql`CREATE TRIGGER refuse_users BEFORE INSERT ON portal_users FOR EACH ROW EXECUTE FUNCTION refuse_users()`.execute(
          h.store.db,
        );
      }
      try {
        const count = async () =>
          Number(
            (
              await h.store.db
                .selectFrom('consumers')
                .select((e) => e.fn.countAll().as('n'))
                .executeTakeFirstOrThrow()
            ).n,
          );
        const before = await count();
        const email = `fault-${Date.now()}@example.com`;
        const { r } = await signUp(h, email);
        expect(r.status).toBe(500);
        expect(await count()).toBe(before);
        const audit = await h.store.db
          .selectFrom('audit_log')
          .select('id')
          .where('entity', '=', 'consumer')
          .where('after', 'like', `%${email}%`)
          .execute();
        expect(audit).toHaveLength(0);
      } finally {
        await sql`DROP TRIGGER refuse_users${sql.raw(h.store.dialect === 'postgres' ? ' ON portal_users' : '')}`.execute(
          h.store.db,
        );
      }
      const { r } = await signUp(h, `after-${Date.now()}@example.com`);
      expect(r.status).toBe(303);
    });

    it('a database fault behind a product page is a logged 500, not a page without prices', async () => {
      const product = await seedProduct(bare);
      const page = await visitor(bare).get(`/products/${product.productId}`);
      expect(page.status).toBe(200);
      expect(page.text).toContain('USD');
      await sql`ALTER TABLE prices RENAME TO prices_away`.execute(bare.store.db);
      try {
        const broken = await visitor(bare).get(`/products/${product.productId}`);
        expect(broken.status).toBe(500);
        expect(broken.text).toContain('The page could not be shown');
        expect(logs.some((l) => l.level >= 50 && l.msg === 'portal page failed')).toBe(true);
      } finally {
        await sql`ALTER TABLE prices_away RENAME TO prices`.execute(bare.store.db);
      }
    });
  });
}
