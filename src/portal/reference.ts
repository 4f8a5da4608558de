/**
 * The API reference as a buyer needs it: the provider's OpenAPI document rewritten to
 * describe what the gateway serves, not the private upstream behind it.
 *
 * - `servers` is the public gateway URL + the API's prefix (the upstream's address never
 *   leaves the console);
 * - an operation stays only if a route of the API would carry it, matched with the
 *   gateway's own template rules; operations marked `x-internal: true` go too;
 * - an `x-api-key` header scheme is required on every operation whose route is keyed, and
 *   lifted from public ones (`security: []`), so Swagger UI's try-it sends the key.
 *
 * Pure functions over a copy: the stored document is never changed.
 */
import type { ApiView, RouteView } from '../catalog/index.js';
import { compilePath, matchPath, specificity } from '../gateway/paths.js';

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch'] as const;
export const KEY_SCHEME = 'apiKey';

type Doc = Record<string, unknown>;
type Operation = Record<string, unknown>;

/** The API's base URL on the gateway: the public gateway URL (host-routed APIs: their host) + prefix. */
export function gatewayBase(api: Pick<ApiView, 'host' | 'pathPrefix'>, gatewayUrl: string): string {
  const u = new URL(gatewayUrl);
  if (api.host) u.hostname = api.host;
  return `${u.origin}${u.pathname.replace(/\/$/, '')}${api.pathPrefix ?? ''}`;
}

/** The route a call to `method path` (an OpenAPI path, relative to the API) would take, or null. */
export function routeFor(api: ApiView, method: string, path: string): RouteView | 'catch-all' | null {
  if (api.routes.length === 0) return 'catch-all';
  const full = api.stripPrefix ? path : `${api.pathPrefix ?? ''}${path}`;
  // A concrete path: every `{param}` becomes one segment, as a request would have it.
  const concrete = full.replace(/\{[^}]+\}/g, 'x');
  const m = method.toUpperCase();
  const candidates = api.routes
    .map((r) => ({ r, t: compilePath(r.path) }))
    .sort((a, b) => specificity(b.t) - specificity(a.t));
  for (const { r, t } of candidates) {
    const methodOk = r.method === m || r.method === '*' || (r.method === 'GET' && m === 'HEAD');
    if (methodOk && matchPath(t, concrete)) return r;
  }
  return null;
}

export interface BuyerOperation {
  method: string;
  path: string;
  operation: Operation;
  public: boolean;
}

/** The operations a buyer can call, in document order. */
export function buyerOperations(api: ApiView): BuyerOperation[] {
  const paths = api.openapi?.paths;
  if (!paths || typeof paths !== 'object') return [];
  const out: BuyerOperation[] = [];
  for (const [path, item] of Object.entries(paths as Record<string, unknown>)) {
    if (!item || typeof item !== 'object') continue;
    for (const method of HTTP_METHODS) {
      const op = (item as Record<string, unknown>)[method];
      if (!op || typeof op !== 'object' || (op as Operation)['x-internal'] === true) continue;
      const route = routeFor(api, method, path);
      if (!route) continue;
      out.push({ method, path, operation: op as Operation, public: route !== 'catch-all' && route.public });
    }
  }
  return out;
}

/** The document served to buyers (see the header). `null` when the API has no document. */
export function buyerDocument(api: ApiView, gatewayUrl: string | null): Doc | null {
  if (!api.openapi) return null;
  const doc = structuredClone(api.openapi) as Doc;
  const paths: Record<string, Record<string, unknown>> = {};
  const original = (api.openapi.paths ?? {}) as Record<string, Record<string, unknown>>;
  for (const op of buyerOperations(api)) {
    paths[op.path] ??= pathLevel(original[op.path] ?? {});
    const item = paths[op.path]!;
    const copy = structuredClone(op.operation);
    if (op.public) copy.security = [];
    else delete copy.security;
    item[op.method] = copy;
  }
  doc.paths = paths;
  doc.servers = gatewayUrl
    ? [{ url: gatewayBase(api, gatewayUrl), description: 'Tollgate gateway' }]
    : [{ url: api.pathPrefix ?? '/', description: 'The gateway (its public URL is not configured)' }];
  const components = (doc.components && typeof doc.components === 'object' ? doc.components : {}) as Doc;
  components.securitySchemes = {
    [KEY_SCHEME]: {
      type: 'apiKey',
      in: 'header',
      name: 'x-api-key',
      description: 'Your API key, from your account page in this portal',
    },
  };
  doc.components = components;
  doc.security = [{ [KEY_SCHEME]: [] }];
  return doc;
}

/** The path item's shared fields (parameters, summary…) without its operations. */
function pathLevel(item: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(item))
    if (!(HTTP_METHODS as readonly string[]).includes(k)) out[k] = structuredClone(v);
  return out;
}
