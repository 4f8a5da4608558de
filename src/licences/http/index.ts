/**
 * HTTP surface of wholesale licences, on the console port. Two pieces:
 *
 * - `licenceAdminRoutes(licences, { catalog, store })` plugs into the admin API
 *   (`createControlApp({ extraRoutes: [...] })`): /admin/v1/licences… and
 *   /admin/v1/licence-keys…, bearer-authenticated, provider-scoped, problem+json errors,
 *   described in GET /admin/v1/openapi.json.
 * - `licencePublicApp(licences)` is a plain Hono app whose paths start with /licences/v1:
 *   the unauthenticated activate / release / public-keys endpoints that deployments call.
 *   Mount it at the console root: `console.route('/', licencePublicApp(licences))`.
 *
 * This folder is an adapter at the admin API's level (it imports src/control's helpers);
 * the rest of src/licences never imports it, except `handlers.ts`: the framework-free
 * activate/release/keys handlers, which import nothing from src/control and which the
 * licences front door re-exports.
 */
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Catalog } from '../../catalog/index.js';
import type { Env } from '../../control/index.js';
import { type Clock, systemClock } from '../../shared/index.js';
import type { Store } from '../../store/index.js';
import type { Licences } from '../service.js';
import { registerLicences } from './admin.js';
import { registerLicenceKeys } from './keys.js';

export type { LicencePublicOptions } from './public.js';
export { licencePublicApp, PUBLIC_MAX_BODY_BYTES, PUBLIC_PREFIX } from './public.js';
export { LICENCE_STATUSES, type LicenceStatus, type LicenceView } from './schemas.js';

export interface LicenceAdminDeps {
  licences: Licences;
  /** Checks that the licensee (and subscription) are visible to the licensing provider. */
  catalog: Catalog;
  /** Reads the licence list (paged) and activations from the licences tables. */
  store: Store;
  /** For a licence's `status` (scheduled/active/expired) and live seats. Default: system. */
  clock?: Clock;
}

export function licenceAdminRoutes(
  licences: Licences,
  deps: Omit<LicenceAdminDeps, 'licences'>,
): (app: OpenAPIHono<Env>) => void {
  const full: Required<LicenceAdminDeps> = { clock: systemClock, ...deps, licences };
  return (app) => {
    registerLicences(app, full);
    registerLicenceKeys(app, licences);
  };
}
