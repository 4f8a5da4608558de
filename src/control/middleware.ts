/**
 * The admin API's front gate, in order: request id → bearer token → body.
 *
 * - Request id: a sane incoming `x-request-id` is kept, otherwise a new UUID; echoed on
 *   every response (errors included) and put in every problem document. Every answer is
 *   `Cache-Control: no-store` (some carry a key or token value).
 * - Bearer token (`Authorization: Bearer tga_…`): hashed (SHA-256) and looked up by hash,
 *   so the comparison is on a digest, never on the secret. Unknown/revoked → 401.
 * - Body (POST/PUT/PATCH): at most 1 MiB (413, checked on Content-Length first and again
 *   while reading a chunked body); a non-empty body must be JSON (415); it must parse
 *   (400 BAD_JSON). The text is left in Hono's body cache, so the zod validator that runs
 *   next reads it without touching the stream again.
 */
import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { Catalog } from '../catalog/index.js';
import { type Logger, TollgateError } from '../shared/index.js';
import type { Env } from './env.js';

export const MAX_BODY_BYTES = 1024 * 1024;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const JSON_TYPE = /^application\/([\w.-]+\+)?json\s*(;.*)?$/i;

/** Sets the request id, echoes it, and logs one line per request (debug level). */
export function requestId(log: Logger): MiddlewareHandler<Env> {
  return async (c, next) => {
    const started = performance.now();
    const given = c.req.header('x-request-id');
    const id = given && REQUEST_ID.test(given) ? given : randomUUID();
    c.set('requestId', id);
    await next();
    c.res.headers.set('x-request-id', id);
    // Answers may carry a key or token value: never cache them anywhere.
    if (!c.res.headers.has('cache-control')) c.res.headers.set('cache-control', 'no-store');
    log.debug(
      {
        requestId: id,
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round((performance.now() - started) * 10) / 10,
        actor: c.get('actor')?.id,
      },
      'admin request',
    );
  };
}

export function bearerAuth(catalog: Catalog, publicPaths: Set<string>): MiddlewareHandler<Env> {
  return async (c, next) => {
    if (c.req.method === 'GET' && publicPaths.has(c.req.path)) return next();
    const header = c.req.header('authorization') ?? '';
    const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
    if (!m) throw new TollgateError('UNAUTHENTICATED', 'send Authorization: Bearer <admin token>');
    const actor = await catalog.tokens.authenticate(m[1]!);
    if (!actor) throw new TollgateError('UNAUTHENTICATED', 'the admin token is unknown or revoked');
    c.set('actor', actor);
    return next();
  };
}

async function readLimited(req: Request, max: number): Promise<string> {
  if (!req.body) return '';
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel().catch(() => {});
      throw tooLarge(max);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const tooLarge = (max: number) =>
  new TollgateError('PAYLOAD_TOO_LARGE', `the body must be at most ${max} bytes`);

export function jsonBody(max = MAX_BODY_BYTES): MiddlewareHandler<Env> {
  return async (c, next) => {
    const method = c.req.method;
    if (method !== 'POST' && method !== 'PUT' && method !== 'PATCH') return next();
    const length = Number(c.req.header('content-length') ?? '0');
    if (length > max) throw tooLarge(max);
    const text = await readLimited(c.req.raw, max);
    // Hono keeps body promises in bodyCache (its type says values); json() parses the text.
    const cache = c.req.bodyCache as Record<string, Promise<unknown>>;
    cache.arrayBuffer = Promise.resolve(new TextEncoder().encode(text).buffer);
    // An empty body reads as {} so that a required one fails on its fields, not on syntax.
    cache.text = Promise.resolve(text.trim() === '' ? '{}' : text);
    if (text.trim() === '') return next();
    const type = c.req.header('content-type') ?? '';
    if (!JSON_TYPE.test(type)) {
      throw new TollgateError(
        'UNSUPPORTED_MEDIA_TYPE',
        `send Content-Type: application/json (got ${type || 'none'})`,
      );
    }
    try {
      JSON.parse(text);
    } catch (e) {
      throw new TollgateError('BAD_JSON', `the body is not valid JSON: ${(e as Error).message}`);
    }
    return next();
  };
}
