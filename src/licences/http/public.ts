/**
 * The provider's unauthenticated licence endpoints, called by licensed deployments
 * (src/licences/client.ts) and by buyers fetching the public keys file:
 *   POST /licences/v1/activate        { token, instanceId } → seat check + heartbeat
 *   POST /licences/v1/release         { token, instanceId } → give the seat back
 *   GET  /licences/v1/keys/{providerId}                    → JWKS (RFC 7517 §5) + `revoked`
 *
 * No admin token: the licence token authenticates the caller (its Ed25519 signature is
 * checked by the service). Bodies are capped (Content-Length first, then while reading),
 * must be application/json, and are validated; unknown extra fields are ignored so that a
 * newer deployment can talk to an older provider. No rate limit here, by design: a refusal
 * costs one signature check and one indexed read.
 *
 * Every answer is JSON. Refusals are 4xx `{ ok: false, code, message }` — a deployment treats
 * any 4xx as final — and faults are 500 with the same shape, which a deployment treats as
 * "provider unreachable" and rides out on its offline grace (see client.ts).
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { fieldPath } from '../../catalog/index.js';
import { type Logger, silentLogger } from '../../shared/index.js';
import type { Licences } from '../service.js';
import { activationHandler, type JsonHandler, publicKeysHandler, releaseHandler } from './handlers.js';

export const PUBLIC_PREFIX = '/licences/v1';
/** A licence token is a few KiB (features and limits included); this leaves ample room. */
export const PUBLIC_MAX_BODY_BYTES = 64 * 1024;

export interface LicencePublicOptions {
  log?: Logger;
  /** Default PUBLIC_MAX_BODY_BYTES. */
  maxBodyBytes?: number;
}

const JSON_TYPE = /^application\/([\w.-]+\+)?json\s*(;.*)?$/i;
const PROVIDER_ID = /^[A-Za-z0-9_-]{1,64}$/;

const ActivationBody = z.object({
  token: z
    .string({ error: 'the licence text is required' })
    .trim()
    .min(1, 'the licence text is required')
    .max(32 * 1024, 'longer than any licence (32 KiB)'),
  instanceId: z
    .string({ error: 'required: a stable id of this deployment (e.g. host:node)' })
    .regex(/^[\x21-\x7e]{1,200}$/, '1 to 200 printable characters without spaces'),
});

class Refusal extends Error {
  constructor(
    readonly status: 400 | 404 | 405 | 413 | 415,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const refusal = (status: number, code: string, message: string) =>
  Response.json({ ok: false, code, message }, { status });

async function readLimited(req: Request, max: number): Promise<string> {
  const length = Number(req.headers.get('content-length') ?? '0');
  if (length > max) throw tooLarge(max);
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
  new Refusal(413, 'PAYLOAD_TOO_LARGE', `the body must be at most ${max} bytes`);

/** The request's `{ token, instanceId }`, or a Refusal naming what is wrong. */
async function readActivation(req: Request, max: number): Promise<{ token: string; instanceId: string }> {
  const type = req.headers.get('content-type') ?? '';
  if (!JSON_TYPE.test(type)) {
    throw new Refusal(
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      `send Content-Type: application/json (got ${type || 'none'})`,
    );
  }
  const text = await readLimited(req, max);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (e) {
    throw new Refusal(400, 'MALFORMED', `the body is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new Refusal(400, 'MALFORMED', 'send a JSON object { "token": "<licence>", "instanceId": "<id>" }');
  }
  const parsed = ActivationBody.safeParse(body);
  if (!parsed.success) {
    const message = parsed.error.issues
      .map((i) => `${fieldPath(i.path) || '(body)'}: ${i.message}`)
      .join('; ');
    throw new Refusal(400, 'MALFORMED', message);
  }
  return parsed.data;
}

export function licencePublicApp(licences: Licences, options: LicencePublicOptions = {}): Hono {
  const log = options.log ?? silentLogger;
  const max = options.maxBodyBytes ?? PUBLIC_MAX_BODY_BYTES;
  const app = new Hono();

  app.onError((err, c) => {
    if (err instanceof Refusal) return refusal(err.status, err.code, err.message);
    log.error({ err, path: c.req.path }, 'licence endpoint fault');
    return refusal(500, 'INTERNAL', 'internal error at the licence provider; try again later');
  });

  const post = (path: string, handler: JsonHandler) =>
    app.post(`${PUBLIC_PREFIX}${path}`, async (c) => {
      const input = await readActivation(c.req.raw, max);
      const answer = await handler(input);
      return c.json(answer.json as object, answer.status as 200);
    });
  post('/activate', activationHandler(licences));
  post('/release', releaseHandler(licences));

  const keys = publicKeysHandler(licences);
  app.get(`${PUBLIC_PREFIX}/keys/:providerId`, async (c) => {
    const providerId = c.req.param('providerId');
    if (!PROVIDER_ID.test(providerId)) {
      throw new Refusal(400, 'MALFORMED', 'providerId: letters, digits, _ and - only (1 to 64)');
    }
    const answer = await keys(providerId);
    const set = answer.json as { keys: unknown[] };
    if (set.keys.length === 0) {
      throw new Refusal(404, 'UNKNOWN_PROVIDER', `provider ${providerId} publishes no licence signing keys`);
    }
    return c.body(JSON.stringify(set), 200, {
      'content-type': 'application/jwk-set+json',
      'cache-control': 'public, max-age=60',
    });
  });

  const routes: Array<[string, RegExp]> = [
    ['POST', /^\/licences\/v1\/(activate|release)$/],
    ['GET', /^\/licences\/v1\/keys\/[^/]+$/],
  ];
  app.all(`${PUBLIC_PREFIX}/*`, (c) => {
    const allow = routes.filter(([, re]) => re.test(c.req.path)).map(([m]) => m);
    if (allow.length === 0) {
      return refusal(404, 'NOT_FOUND', `no licence endpoint ${c.req.method} ${c.req.path}`);
    }
    const res = refusal(
      405,
      'METHOD_NOT_ALLOWED',
      `${c.req.method} is not allowed here; use ${allow.join(', ')}`,
    );
    res.headers.set('allow', allow.join(', '));
    return res;
  });
  return app;
}
