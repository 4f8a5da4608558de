/**
 * The admin API (`/admin/v1`): thin handlers over the catalog, on Hono + @hono/zod-openapi.
 * Requests are validated by the same zod schemas that generate the OpenAPI 3.1 document
 * served at GET /admin/v1/openapi.json (public; everything else needs a bearer token).
 *
 * Adding routes from another module (billing, metering, marketplace…): write a function
 * `(app: OpenAPIHono<Env>) => void` that registers them with `app.openapi(createRoute(…))`,
 * exactly like ./routes/namespaces.ts, and pass it in `extraRoutes`. Inside it:
 *   - paths are RELATIVE to /admin/v1 (`path: '/invoices/{id}'`);
 *   - `c.var.actor` is the authenticated Actor (operator, or `{ kind: 'provider', providerId }`):
 *     scope your queries by it and answer NOT_FOUND for what it may not see;
 *   - bodies are already size-checked, JSON-typed and parsed; declare them with
 *     `jsonBody(schema)` and read `c.req.valid('json')`; a failed schema becomes a 400
 *     problem naming each field (strict objects reject unknown fields);
 *   - throw `TollgateError`s (src/shared/errors.ts) for refusals; they render as
 *     application/problem+json; spread `problems` into `responses` to document them;
 *   - reuse `page(itemSchema, 'XPage')` and `schemas.pageQuery` (src/catalog) for
 *     `?limit=&cursor=` lists.
 *
 *   import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
 *   import { type Env, json, jsonBody, problems } from '../control/index.js';
 *   export const billingRoutes = (svc: Billing) => (app: OpenAPIHono<Env>) => {
 *     app.openapi(
 *       createRoute({ method: 'get', path: '/invoices/{id}', tags: ['billing'],
 *         request: { params: z.object({ id: z.string().max(64) }) },
 *         responses: { 200: json(Invoice, 'The invoice'), ...problems } }),
 *       async (c) => c.json(await svc.invoice(c.var.actor, c.req.valid('param').id), 200),
 *     );
 *   };
 *   // main: createControlApp({ catalog, log, clock, extraRoutes: [billingRoutes(billing)] })
 *
 * Mount the returned app at the root of the console server (`console.route('/', app)`) or
 * serve its `fetch` directly: its paths already start with /admin/v1.
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import type { Catalog } from '../catalog/index.js';
import { validationError } from '../catalog/index.js';
import type { Clock, Logger } from '../shared/index.js';
import { TollgateError } from '../shared/index.js';
import type { Env } from './env.js';
import { bearerAuth, jsonBody, requestId } from './middleware.js';
import { errorHandler, problemResponse } from './problem.js';
import { registerAudit } from './routes/audit.js';
import { registerCatalogResources } from './routes/catalog.js';
import { registerKeys } from './routes/keys.js';
import { registerNamespaces } from './routes/namespaces.js';
import { registerSubscriptions } from './routes/subscriptions.js';
import { registerTokens } from './routes/tokens.js';

export type { Env } from './env.js';
export { MAX_BODY_BYTES } from './middleware.js';
export { PROBLEM_TYPE, problemResponse } from './problem.js';
export * from './schemas.js';

export const BASE_PATH = '/admin/v1';
export const OPENAPI_PATH = `${BASE_PATH}/openapi.json`;

/** For a path no route serves with the asked method: the methods that do serve it. */
function allowedMethods(routes: ReadonlyArray<{ method: string; path: string }>): (path: string) => string[] {
  const toRegExp = (path: string) => {
    const escaped = path.replace(/[.*+?^$(){}|[\]\\]/g, '\\$&');
    return new RegExp(`^${escaped.replace(/\/:[A-Za-z]+/g, '/[^/]+')}$`);
  };
  const table = routes
    .filter((r) => r.method !== 'ALL' && r.path.startsWith(`${BASE_PATH}/`))
    .map((r) => ({ method: r.method, re: toRegExp(r.path) }));
  return (path) => [...new Set(table.filter((r) => r.re.test(path)).map((r) => r.method))];
}

export interface ControlDeps {
  catalog: Catalog;
  log: Logger;
  clock: Clock;
  extraRoutes?: Array<(app: OpenAPIHono<Env>) => void>;
}

export function createControlApp(deps: ControlDeps): OpenAPIHono<Env> {
  const { catalog, log } = deps;
  const api = new OpenAPIHono<Env>({
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.error);
    },
  });
  registerCatalogResources(api, catalog);
  registerSubscriptions(api, catalog);
  registerKeys(api, catalog);
  registerTokens(api, catalog);
  registerNamespaces(api, catalog);
  registerAudit(api, catalog);
  for (const register of deps.extraRoutes ?? []) register(api);

  const app = new OpenAPIHono<Env>();
  app.onError(errorHandler(log));
  app.use(`${BASE_PATH}/*`, requestId(log), bearerAuth(catalog, new Set([OPENAPI_PATH])), jsonBody());
  app.route(BASE_PATH, api);
  app.openAPIRegistry.registerComponent('securitySchemes', 'adminToken', {
    type: 'http',
    scheme: 'bearer',
    description: 'An admin token (`tga_…`), operator- or provider-scoped',
  });
  app.doc31(OPENAPI_PATH, {
    openapi: '3.1.0',
    info: {
      title: 'Tollgate admin API',
      version: '1',
      description: 'Manage providers, APIs, plans, consumers, subscriptions, keys and admin tokens.',
    },
    security: [{ adminToken: [] }],
  });
  const allowed = allowedMethods(app.routes);
  app.all(`${BASE_PATH}/*`, (c) => {
    const allow = allowed(c.req.path);
    if (allow.length === 0) {
      return problemResponse(c, new TollgateError('NOT_FOUND', `no route ${c.req.method} ${c.req.path}`));
    }
    const res = problemResponse(
      c,
      new TollgateError('METHOD_NOT_ALLOWED', `${c.req.method} is not allowed here; use ${allow.join(', ')}`),
    );
    res.headers.set('allow', allow.join(', '));
    return res;
  });
  return app;
}
