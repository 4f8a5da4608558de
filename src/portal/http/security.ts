/**
 * The portal's HTTP guard, run on every portal path (and only those: the console port also
 * carries the admin API and the marketplace's POST /):
 *
 * - security headers: a CSP without inline scripts (`script-src 'self'`), no framing
 *   (X-Frame-Options DENY + frame-ancestors 'none'), nosniff, no referrer leaks, no caching
 *   of signed-in pages;
 * - the session from its cookie (HttpOnly, SameSite=Lax, Secure + `__Host-` prefix when
 *   configured);
 * - CSRF on every POST (OWASP synchronizer token pattern): the form's `_csrf` (or the
 *   X-CSRF-Token header for the editor's JSON preview) must equal the session's token; before
 *   log-in it must equal a random pre-session cookie (double submit). A cross-site Origin
 *   is refused outright. The comparison is constant-time.
 */
import { timingSafeEqual } from 'node:crypto';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { getCookie, setCookie } from 'hono/cookie';
import { randomSecret } from '../../keys/index.js';
import type { Accounts } from '../auth/accounts.js';
import type { Sessions } from '../auth/sessions.js';
import type { PortalConfig } from '../deps.js';
import type { Form, PortalContext, PortalEnv } from './env.js';

export const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; " +
  "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** Where the portal lives; everything else on the console port is left untouched. */
const PREFIXES = [
  '/login',
  '/logout',
  '/signup',
  '/reset',
  '/products',
  '/account',
  '/console',
  '/assets/portal',
];

export function isPortalPath(path: string, method: string): boolean {
  if (path === '/') return method === 'GET' || method === 'HEAD';
  return PREFIXES.some((p) => path === p || path.startsWith(`${p}/`));
}

export function cookieNames(config: PortalConfig) {
  const pre = config.secureCookies ? '__Host-' : '';
  return { session: `${pre}tg_session`, csrf: `${pre}tg_csrf` };
}

export function cookieOptions(config: PortalConfig, maxAgeSec?: number) {
  return {
    path: '/',
    httpOnly: true,
    sameSite: 'Lax' as const,
    secure: config.secureCookies,
    ...(maxAgeSec !== undefined ? { maxAge: maxAgeSec } : {}),
  };
}

export function safeEqualText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

export function clientIp(c: PortalContext, trustProxy: boolean): string {
  if (trustProxy) {
    const fwd = c.req.header('x-forwarded-for')?.split(',')[0]?.trim();
    if (fwd) return fwd.slice(0, 64);
  }
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function sameOrigin(c: PortalContext, config: PortalConfig): boolean {
  const origin = c.req.header('origin');
  if (!origin || origin === 'null') return origin !== 'null';
  try {
    const o = new URL(origin);
    if (config.publicUrl) return o.origin === new URL(config.publicUrl).origin;
    return o.host === (c.req.header('host') ?? new URL(c.req.url).host);
  } catch {
    return false;
  }
}

export interface GuardDeps {
  config: PortalConfig;
  sessions: Sessions;
  accounts: Accounts;
  /** Renders the refusal page (403/413) for a failed check. */
  refuse: (c: PortalContext, status: 403 | 413, message: string) => Response | Promise<Response>;
}

const MAX_BODY = 2 * 1024 * 1024;

export function portalGuard(deps: GuardDeps): MiddlewareHandler<PortalEnv> {
  const names = cookieNames(deps.config);
  const cap = bodyLimit({
    maxSize: MAX_BODY,
    onError: async (c) => {
      const res = await deps.refuse(c as PortalContext, 413, 'That upload is too large (2 MB at most).');
      res.headers.set('connection', 'close'); // the rest of the body is not read
      return res;
    },
  });
  return async (c, next) => {
    if (!isPortalPath(c.req.path, c.req.method)) return next();
    for (const [k, v] of Object.entries(headersFor(c.req.path))) c.header(k, v);
    if (c.req.path.startsWith('/assets/')) return next(); // static: no session, no cookie

    const sessionId = getCookie(c, names.session);
    const session = await deps.sessions.get(sessionId);
    const user = session ? await deps.accounts.get(session.userId) : null;
    c.set('sessionId', sessionId);
    c.set('session', user ? session : null);
    c.set('user', user);
    c.set('form', {});

    let csrf = user && session ? session.csrfToken : getCookie(c, names.csrf);
    if (!csrf || csrf.length > 100) {
      csrf = randomSecret(32);
      setCookie(c, names.csrf, csrf, cookieOptions(deps.config));
    }
    c.set('csrf', csrf);

    if (c.req.method === 'POST') {
      if (!sameOrigin(c, deps.config)) return deps.refuse(c, 403, 'This form was sent from another site.');
      // Past the cap (declared, or counted while a chunked body streams in) the rest is never read.
      const tooLarge = await cap(c, async () => {});
      if (tooLarge) return tooLarge;
      const type = c.req.header('content-type') ?? '';
      let form: Form = {};
      let token = c.req.header('x-csrf-token') ?? '';
      if (type.startsWith('application/x-www-form-urlencoded') || type.startsWith('multipart/form-data')) {
        form = (await c.req.parseBody({ all: true })) as Form;
        const t = form._csrf;
        if (!token && typeof t === 'string') token = t;
      } else if (type.startsWith('application/json')) {
        const text = await c.req.text();
        if (text.length > MAX_BODY) return deps.refuse(c, 413, 'That request is too large.');
        try {
          const parsed = JSON.parse(text) as unknown;
          if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) form = parsed as Form;
        } catch {
          form = {};
        }
      }
      if (!safeEqualText(token, csrf)) {
        return deps.refuse(
          c,
          403,
          'This form has expired or did not come from this site. Go back, reload the page and try again.',
        );
      }
      c.set('form', form);
    }

    await next();
    for (const [k, v] of Object.entries(headersFor(c.req.path)))
      if (!c.res.headers.has(k)) c.res.headers.set(k, v);
  };
}

function headersFor(path: string): Record<string, string> {
  return {
    'Content-Security-Policy': CSP,
    'X-Frame-Options': 'DENY',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'same-origin',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cache-Control': path.startsWith('/assets/') ? 'public, max-age=3600' : 'no-store',
  };
}
