/**
 * HTTP surface of billing on the admin API (`/admin/v1`), plugged in through
 * `createControlApp({ extraRoutes: [billingAdminRoutes({ billing, store, catalog })] })`:
 *
 *   PUT/GET /plans/{id}/price, GET /plans/{id}/price/history, POST /plans/{id}/preview,
 *   POST /billing/runs, GET /invoices, GET /invoices/{id}, GET /invoices/{id}/html,
 *   GET /invoices/{id}/pdf, POST /invoices/{id}/finalize|pay|void|reissue,
 *   POST /subscriptions/{id}/plan-change.
 *
 * Scoped by `c.var.actor`: a provider token sees its own plans' prices and its own
 * invoices (NOT_FOUND for anything else, as for a missing id). Bodies are billing's zod
 * schemas, so they appear in /admin/v1/openapi.json. Also exports the wholesale adapter
 * `deploymentSourceFromLicences` for `billing.setDeploymentSource`.
 *
 * This folder is an adapter at the admin API's level (it imports src/control's helpers and
 * src/licences' types); the rest of src/billing never imports it.
 */
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Catalog, Change } from '../../catalog/index.js';
import type { Env } from '../../control/index.js';
import { type Clock, systemClock } from '../../shared/index.js';
import type { Store } from '../../store/index.js';
import type { Billing } from '../index.js';
import { registerInvoices } from './invoices.js';
import { registerPlanChange } from './plan-change.js';
import { registerPrices } from './prices.js';

export { deploymentSourceFromLicences, sumSpans } from './deployments.js';

export interface BillingAdminDeps {
  billing: Billing;
  /** Plan-change writes (subscription + audit in one transaction). */
  store: Store;
  /** Visibility of plans and subscriptions to the acting token. */
  catalog: Catalog;
  /** "Now" for plan changes. Default: the system clock. */
  clock?: Clock;
  /** Called after a committed plan change (wire it like the catalog's onChange: gateway reload). */
  onChange?: (change: Change) => void;
}

export type ResolvedBillingAdminDeps = BillingAdminDeps & { clock: Clock };

export function billingAdminRoutes(deps: BillingAdminDeps): (app: OpenAPIHono<Env>) => void {
  const full: ResolvedBillingAdminDeps = { ...deps, clock: deps.clock ?? systemClock };
  return (app) => {
    registerPrices(app, full);
    registerInvoices(app, full);
    registerPlanChange(app, full);
  };
}
