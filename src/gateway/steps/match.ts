/**
 * Step 1 — which API and route does a request belong to? APIs are tried host-bound first,
 * then by longest path prefix; inside an API, the most specific route template wins. An
 * API without routes accepts every method and path, keyed, metered as `requests`.
 * The path was judged safe before (`checkPath`): no dot segments or other tricks here.
 */
import { CONTINUE, DENIED, type Denial, type Verdict } from '../denial.js';
import { isSafePath, matchPath } from '../paths.js';
import type { CompiledApi, CompiledRoute, Snapshot } from '../snapshot.js';

export interface Match {
  api: CompiledApi;
  route: CompiledRoute;
  /** The path to send upstream (API base path + remainder), with the query string. */
  upstreamPath: string;
}

const CATCH_ALL_CACHE = new WeakMap<CompiledApi, CompiledRoute>();

function catchAll(api: CompiledApi): CompiledRoute {
  let r = CATCH_ALL_CACHE.get(api);
  if (!r) {
    r = {
      id: `${api.id}:*`,
      method: '*',
      template: { source: '/{proxy+}', segments: [], greedy: true },
      dimension: 'requests',
      units: 1,
      public: false,
      throttle: null,
    };
    CATCH_ALL_CACHE.set(api, r);
  }
  return r;
}

/** Step: a path the gateway will not interpret is refused (400) before anything is matched. */
export function checkPath(url: string): Verdict {
  return isSafePath(url) ? CONTINUE : DENIED.badPath;
}

/** Step: the call's API and route, or 404 `{"message":"Not Found"}`. */
export function route(
  snapshot: Snapshot,
  host: string | undefined,
  method: string,
  url: string,
): Match | Denial {
  return matchRequest(snapshot, host, method, url) ?? DENIED.noRoute;
}

export function matchRequest(
  snapshot: Snapshot,
  host: string | undefined,
  method: string,
  url: string,
): Match | null {
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const query = q === -1 ? '' : url.slice(q);
  const hostname = host ? stripPort(host).toLowerCase() : '';

  for (const api of snapshot.apis) {
    if (api.host !== null && api.host !== hostname) continue;
    const prefix = api.pathPrefix;
    if (prefix !== '' && !(path === prefix || path.startsWith(`${prefix}/`))) continue;
    const rest = api.stripPrefix ? path.slice(prefix.length) || '/' : path;
    const route = api.routes.length === 0 ? catchAll(api) : findRoute(api.routes, method, rest);
    if (!route) return null;
    return { api, route, upstreamPath: api.basePath + rest + query };
  }
  return null;
}

function findRoute(routes: CompiledRoute[], method: string, path: string): CompiledRoute | null {
  for (const r of routes) {
    if (
      (r.method === method || r.method === '*' || (r.method === 'GET' && method === 'HEAD')) &&
      matchPath(r.template, path)
    ) {
      return r;
    }
  }
  return null;
}

function stripPort(host: string): string {
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  const i = host.lastIndexOf(':');
  return i === -1 ? host : host.slice(0, i);
}
