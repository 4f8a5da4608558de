/**
 * The usage-plan / API-key / usage subset of the Amazon API Gateway REST API (restJson1),
 * so that `@aws-sdk/client-api-gateway` can manage Tollgate's plans and keys:
 *
 *   POST/GET /usageplans, GET/PATCH/DELETE /usageplans/{id}
 *   POST/GET /usageplans/{id}/keys, GET/DELETE /usageplans/{id}/keys/{keyId}
 *   GET /usageplans/{id}/usage, PATCH /usageplans/{id}/keys/{keyId}/usage
 *   POST/GET /apikeys (POST ?mode=import&format=csv imports), GET/PATCH/DELETE /apikeys/{id}
 *   GET/PUT/DELETE /tags/{resource_arn} (usage plans and API keys)
 *
 * Status codes, wire names (`item`, `values`, `position`), epoch-second dates and errors
 * (`x-amzn-errortype` + `{"message"}`) follow the API Gateway model; see docs/apigw.md for
 * what differs and why. Authentication: ./auth.ts (SigV4 credentials: ./credentials.ts,
 * issued through the admin API: ./admin-routes.ts). Mounting:
 *
 *   const credentials = createApigwCredentials({ db: store.db, clock, secret });
 *   console.route('/apigateway', createApiGatewayApp({ catalog, store, clock, log, credentials }));
 *   // SDK: new APIGatewayClient({ endpoint: 'http://127.0.0.1:8081/apigateway', region: 'us-east-1',
 *   //        credentials: { accessKeyId: 'TGAG…', secretAccessKey: '…' } })
 */
import { Hono } from 'hono';
import type { Catalog } from '../catalog/index.js';
import type { PlanProductLink } from '../marketplace/index.js';
import type { Clock, Logger } from '../shared/index.js';
import type { Store } from '../store/index.js';
import type { AttachDeps } from './attach.js';
import { type ApigwEnv, authenticate } from './auth.js';
import type { ApigwCredentialService } from './credentials.js';
import { errorHandler, notFoundAws } from './errors.js';
import type { KeyValueVault } from './key-values.js';
import { registerKeys } from './keys.js';
import { registerPlans } from './plans.js';
import { registerTags } from './tags.js';
import { registerUsage } from './usage.js';

export { apigwAdminRoutes } from './admin-routes.js';
export { bearerMiddleware } from './auth.js';
export { type ApigwCredentialService, createApigwCredentials } from './credentials.js';
export { createKeyValueVault, type KeyValueVault } from './key-values.js';
export { HOLDING_PLAN } from './model.js';

/** JSON bodies are small; an imported key file may hold thousands of lines. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface ApiGatewayDeps {
  catalog: Catalog;
  store: Store;
  clock: Clock;
  log: Logger;
  /** SigV4 credentials (createApigwCredentials, sealed under the installation secret). */
  credentials: ApigwCredentialService;
  /** Key values kept sealed for includeValue(s) (createKeyValueVault); absent = not kept. */
  keyValues?: KeyValueVault | null;
  /** productCode ↔ marketplace product (planProductLink); absent = productCode refused. */
  products?: PlanProductLink | null;
}

export function createApiGatewayApp(deps: ApiGatewayDeps): Hono<ApigwEnv> {
  const app = new Hono<ApigwEnv>();
  app.onError(errorHandler(deps.log));
  app.use('*', async (c, next) => {
    await next();
    c.res.headers.set('cache-control', 'no-store');
  });
  app.use('*', authenticate(deps, MAX_BODY_BYTES));
  const attach: AttachDeps = {
    catalog: deps.catalog,
    store: deps.store,
    clock: deps.clock,
    log: deps.log,
    keyValues: deps.keyValues ?? null,
    products: deps.products ?? null,
  };
  registerPlans(app, attach);
  registerKeys(app, attach);
  registerUsage(app, attach);
  registerTags(app, attach);
  // A catch-all route, not notFound(): a mounted sub-app's notFound is not consulted.
  app.all('*', (c) => {
    throw notFoundAws(`no operation ${c.req.method} ${c.req.path} in Tollgate's API Gateway subset`);
  });
  return app;
}
