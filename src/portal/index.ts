/**
 * The developer portal (buyers) and provider console (sellers): server-rendered HTML pages
 * on the console port, built with hono/jsx (text escaped by default), one stylesheet and a
 * few optional scripts; every form POSTs and works without JavaScript. See docs/portal.md.
 *
 * Mount with `consoleApp.route('/', createPortalApp(deps))`. The portal answers only its own
 * paths (GET /, /login, /signup, /logout, /reset, /products, /account, /console,
 * /assets/portal); it never claims POST / (the marketplace's AWS endpoint) or /admin/v1.
 * Install `portalNotFound` as the console app's notFound handler for a human 404 page.
 */
import { type Context, Hono } from 'hono';
import { assetRoutes } from './assets/index.js';
import { createAccounts } from './auth/accounts.js';
import { authPages } from './auth/pages.js';
import { createSessions } from './auth/sessions.js';
import { accountPages } from './buyer/account.js';
import { billingPages } from './buyer/billing.js';
import { cataloguePages } from './buyer/catalogue.js';
import { buyerInvoiceList, invoiceDocuments } from './buyer/invoices.js';
import { buyerQueries } from './buyer/queries.js';
import { usagePages } from './buyer/usage.js';
import { apiPages } from './console/apis.js';
import { businessPages } from './console/business.js';
import { consoleInvoicePages } from './console/invoices.js';
import { paymentPages } from './console/payments.js';
import { planPages } from './console/plans.js';
import { productPages } from './console/products.js';
import type { PortalDeps } from './deps.js';
import type { PortalContext, PortalEnv } from './http/env.js';
import { errorHandler, errorPage, notFoundPage, requireRole } from './http/render.js';
import { isPortalPath, portalGuard } from './http/security.js';

export type { Accounts, LogInResult, Role, User } from './auth/accounts.js';
export { createAccounts } from './auth/accounts.js';
export type {
  BillingPort,
  MailMessage,
  MarketplacePort,
  PaymentsPort,
  PortalConfig,
  PortalDeps,
  ProductLike,
  WebhooksPort,
} from './deps.js';
export { renderMarkdown } from './markdown.js';
export { importOpenApi } from './openapi-import.js';

export const DEFAULT_SESSION_TTL_MS = 12 * 3600_000;

export function createPortalApp(deps: PortalDeps): Hono<PortalEnv> {
  const ttlMs = deps.config.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS;
  const accounts = createAccounts(deps);
  const sessions = createSessions({ store: deps.store, clock: deps.clock, ttlMs });
  const buyer = buyerQueries(deps.store);
  const app = new Hono<PortalEnv>();

  app.use(
    '*',
    portalGuard({
      config: deps.config,
      sessions,
      accounts,
      refuse: (c, status, message) => errorPage(c, status, message),
    }),
  );
  app.onError(errorHandler(deps.log));

  assetRoutes(app);
  authPages(app, { ...deps, accounts, sessions, ttlMs });
  cataloguePages(app, { ...deps, buyer });
  buyerInvoiceList(app, { ...deps, buyer }, requireRole('buyer'));
  invoiceDocuments(app, deps, '/account/invoices', requireRole('buyer'), (c) => ({
    consumerId: c.get('user')!.consumerId!,
  }));
  accountPages(app, { ...deps, buyer });
  billingPages(app, { ...deps, buyer });
  usagePages(app, { ...deps, buyer });
  apiPages(app, deps);
  planPages(app, deps);
  productPages(app, deps);
  businessPages(app, deps);
  paymentPages(app, deps);
  consoleInvoicePages(app, deps);

  // A human 404 for the portal's own paths (other paths fall through to the host app).
  app.all('*', async (c, next) => {
    if (isPortalPath(c.req.path, c.req.method)) return notFoundPage(c);
    await next();
  });
  return app;
}

/** A human 404 page, for the console app's notFound handler. */
export const portalNotFound = (c: Context): Response | Promise<Response> =>
  notFoundPage(c as unknown as PortalContext);
