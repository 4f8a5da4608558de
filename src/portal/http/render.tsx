/** Rendering helpers: a page in the layout, the human error pages, and the role guards. */

import type { MiddlewareHandler } from 'hono';
import type { Child } from 'hono/jsx';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { isTollgateError, type Logger } from '../../shared/index.js';
import { Layout, type PageProps } from '../views/layout.js';
import type { PortalContext, PortalEnv } from './env.js';

export type RenderOptions = Omit<PageProps, 'title' | 'user' | 'csrf' | 'children'> & {
  status?: ContentfulStatusCode;
};

export function render(c: PortalContext, title: string, body: Child, opts: RenderOptions = {}) {
  const { status, ...rest } = opts;
  return c.html(
    <Layout title={title} user={c.get('user') ?? null} csrf={c.get('csrf') ?? ''} path={c.req.path} {...rest}>
      {body}
    </Layout>,
    status ?? 200,
  );
}

const TITLES: Record<number, string> = {
  400: 'That did not work',
  403: 'Not allowed',
  404: 'Page not found',
  409: 'That cannot be done right now',
  413: 'Too large',
  429: 'Too many attempts',
  500: 'Something went wrong',
  503: 'Not available',
};

export function errorPage(c: PortalContext, status: ContentfulStatusCode, message: string, title?: string) {
  return render(
    c,
    title ?? TITLES[status] ?? 'Error',
    <section class="error-page">
      <h1>{title ?? TITLES[status] ?? 'Error'}</h1>
      <p>{message}</p>
      <p>
        <a href={c.get('user')?.role === 'provider' ? '/console' : '/'}>Back to the start page</a>
      </p>
    </section>,
    { status },
  );
}

export function notFoundPage(c: PortalContext) {
  return errorPage(c, 404, 'There is nothing at this address, or you do not have access to it.');
}

/**
 * A read whose record may be missing: NOT_FOUND becomes null, anything else (a database
 * fault) propagates to the error handler — a 500 page, logged — instead of rendering as
 * "no price" or "no plan".
 */
export async function unlessMissing<T>(read: Promise<T> | undefined): Promise<T | null> {
  try {
    return (await read) ?? null;
  } catch (err) {
    if (isTollgateError(err) && err.code === 'NOT_FOUND') return null;
    throw err;
  }
}

/** Turns any error into a human page: refusals keep their status and message, faults become a 500 without details. */
export function errorHandler(log: Logger) {
  return (err: Error, c: PortalContext) => {
    if (isTollgateError(err)) {
      if (err.code === 'NOT_FOUND') return notFoundPage(c);
      const status = err.status as ContentfulStatusCode;
      const message = err.issues.length
        ? err.issues.map((i) => `${i.field}: ${i.message}`).join('; ')
        : err.message;
      return errorPage(c, status, message);
    }
    log.error({ err, path: c.req.path }, 'portal page failed');
    return errorPage(
      c,
      500,
      'The page could not be shown. The error was logged; please try again in a moment.',
    );
  };
}

export function requireRole(role: 'buyer' | 'provider'): MiddlewareHandler<PortalEnv> {
  return async (c, next) => {
    const user = c.get('user');
    if (!user) {
      if (c.req.method === 'GET') return c.redirect(`/login?next=${encodeURIComponent(c.req.path)}`, 303);
      return errorPage(c, 403, 'Please log in first.');
    }
    if (user.role !== role) {
      return errorPage(
        c,
        403,
        role === 'provider'
          ? 'This page is for API providers. Your account is a buyer account.'
          : 'This page is for buyers. Provider accounts manage their APIs in the console.',
      );
    }
    await next();
  };
}

const PLACEHOLDER_ORIGIN = 'http://portal.invalid';

/**
 * A same-site path to return to after log-in (never another host). Control characters are
 * removed first (browsers drop tabs and newlines from a Location, so `/\t/evil.example`
 * would become `//evil.example`); what is left must be a path (`/…`, not `//…` or `/\…`)
 * that resolves on this origin. The answer is re-serialised from the parsed URL, so it is
 * percent-encoded and safe in a header.
 */
export function safeNext(raw: string | undefined | null, fallback: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
  const path = String(raw ?? '').replace(/[\u0000-\u001f\u007f]/g, '');
  if (!path.startsWith('/') || path.startsWith('//') || path.includes('\\') || path.length > 500)
    return fallback;
  let url: URL;
  try {
    url = new URL(path, PLACEHOLDER_ORIGIN);
  } catch {
    return fallback; // not a URL path at all
  }
  if (url.origin !== PLACEHOLDER_ORIGIN) return fallback;
  return `${url.pathname}${url.search}${url.hash}`;
}
