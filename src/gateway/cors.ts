/**
 * CORS per API (the Fetch standard's CORS protocol). Everything a response needs is built
 * once per snapshot; per request the gateway only looks the Origin up in a set.
 *
 * - A preflight (`OPTIONS` with `Access-Control-Request-Method`) to an API with CORS is
 *   answered here, before any key check: browsers never send credentials or custom headers
 *   on a preflight. Allowed origin → 204 with the allowed methods and headers; any other
 *   origin → 403, so the browser refuses the real call. Neither reaches the upstream, spends
 *   quota or is metered.
 * - Any other request from an allowed origin gets `Access-Control-Allow-Origin` (the origin
 *   echoed, with `Vary: Origin`) and the limit headers exposed to scripts, on the upstream's
 *   answer and on the gateway's own 403/429 alike, so a page can read why it was refused.
 */
export interface CorsSettings {
  allowOrigins: string[];
  allowMethods: string[];
  allowHeaders: string[];
  maxAgeSeconds: number;
}

export interface CompiledCors {
  anyOrigin: boolean;
  origins: Set<string>;
  allowMethods: string;
  allowHeaders: string;
  maxAge: string;
}

/** Response headers scripts may read: the limit fields and the gateway's request id. */
const EXPOSE = 'ratelimit, ratelimit-policy, retry-after, x-request-id, x-amzn-errortype';

export function compileCors(s: CorsSettings | null): CompiledCors | null {
  if (!s || s.allowOrigins.length === 0) return null;
  return {
    anyOrigin: s.allowOrigins.includes('*'),
    origins: new Set(s.allowOrigins.map((o) => o.toLowerCase())),
    allowMethods: s.allowMethods.join(', '),
    allowHeaders: s.allowHeaders.join(', '),
    maxAge: String(s.maxAgeSeconds),
  };
}

export function originAllowed(cors: CompiledCors, origin: string): boolean {
  return cors.anyOrigin || cors.origins.has(origin.toLowerCase());
}

/** Headers of the answer to an allowed preflight. */
export function preflightHeaders(cors: CompiledCors, origin: string): Record<string, string> {
  return {
    'access-control-allow-origin': origin,
    'access-control-allow-methods': cors.allowMethods,
    'access-control-allow-headers': cors.allowHeaders,
    'access-control-max-age': cors.maxAge,
    vary: 'Origin',
    'content-length': '0',
  };
}

/** Sets the CORS fields of a normal response (merged into whatever head is written later). */
export function applyCors(res: { setHeader(name: string, value: string): unknown }, origin: string): void {
  res.setHeader('access-control-allow-origin', origin);
  res.setHeader('access-control-expose-headers', EXPOSE);
  res.setHeader('vary', 'Origin');
}
