/**
 * Who is calling the API Gateway API. Two ways in, both resolving to a Tollgate admin token
 * (operator- or provider-scoped, with the admin API's scoping rules):
 *
 * 1. `Authorization: Bearer tga_…` — the admin API's own scheme. The token is hashed and
 *    looked up; the store never holds it. With the AWS SDK this takes a three-line
 *    middleware (`bearerMiddleware` below; see docs/apigw.md).
 * 2. AWS Signature Version 4, as the stock SDK sends it, with
 *    `accessKeyId` = the admin token's id (`tok_…`) and `secretAccessKey` = the hex SHA-256 of
 *    the token (`sigv4Credentials`). SigV4 is an HMAC: the server must hold the signing
 *    secret, and the only thing Tollgate holds of a token is that hash, so the hash IS the
 *    signing secret. Trade-off (documented): someone who can read the database can sign as
 *    any live token through this API. `sigv4: false` turns this way off.
 *    Verified like AWS (SigV4 spec, "Authenticating requests"): the canonical request is
 *    rebuilt from the signed headers only and re-signed with @smithy/signature-v4; the body's
 *    SHA-256 must equal `x-amz-content-sha256`; `x-amz-date` within 15 minutes of the clock;
 *    signing service `apigateway`; any region. Signatures are compared in constant time.
 */
import { createHash } from 'node:crypto';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { MiddlewareHandler } from 'hono';
import type { Actor, Catalog } from '../catalog/index.js';
import { safeEqual } from '../keys/index.js';
import type { Clock } from '../shared/index.js';
import type { Store } from '../store/index.js';
import { AwsError, badRequest, unauthorized } from './errors.js';

export interface ApigwEnv {
  Variables: {
    actor: Actor;
    /** The request body as text (read once, size-checked). */
    body: string;
  };
}

const SIGV4 =
  /^AWS4-HMAC-SHA256 Credential=([^/\s,]+)\/(\d{8})\/([^/\s,]+)\/([^/\s,]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;
const SKEW_MS = 15 * 60_000;

/** SDK credentials for SigV4: the token's id and the SHA-256 of its value. */
export function sigv4Credentials(token: { id: string; value: string }): {
  accessKeyId: string;
  secretAccessKey: string;
} {
  return { accessKeyId: token.id, secretAccessKey: createHash('sha256').update(token.value).digest('hex') };
}

/**
 * An AWS SDK v3 middleware that replaces the SigV4 header with `Bearer <token>`:
 * `client.middlewareStack.add(bearerMiddleware(token), { step: 'finalizeRequest', priority: 'low', name: 'tollgateBearer' })`.
 * Typed loosely so that src/ does not depend on the SDK (a dev dependency).
 */
export function bearerMiddleware(token: string) {
  return (next: (args: unknown) => Promise<unknown>) => async (args: unknown) => {
    const req = (args as { request?: { headers?: Record<string, string> } }).request;
    if (req?.headers) {
      for (const h of Object.keys(req.headers)) {
        if (h.toLowerCase() === 'authorization') delete req.headers[h];
      }
      req.headers.authorization = `Bearer ${token}`;
    }
    return next(args);
  };
}

function parseAmzDate(s: string | undefined): number | null {
  const m = s ? /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s) : null;
  if (!m) return null;
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
}

async function verifySigV4(
  deps: { store: Store; clock: Clock },
  req: Request,
  header: string,
  body: string,
): Promise<Actor> {
  const m = SIGV4.exec(header);
  if (!m) throw unauthorized('malformed AWS4-HMAC-SHA256 Authorization header');
  const [, keyId, day, region, service, signedList, signature] = m as unknown as string[];
  if (service !== 'apigateway') throw unauthorized(`the signing service must be apigateway, not ${service}`);
  const signed = signedList!.split(';');
  if (!signed.includes('host') || !signed.includes('x-amz-date'))
    throw unauthorized('SignedHeaders must include host and x-amz-date');
  const at = parseAmzDate(req.headers.get('x-amz-date') ?? undefined);
  if (at === null || !req.headers.get('x-amz-date')!.startsWith(day!))
    throw unauthorized('x-amz-date is missing or does not match the credential scope');
  if (Math.abs(at - deps.clock.now()) > SKEW_MS)
    throw new AwsError(
      'UnauthorizedException',
      401,
      'Signature expired: x-amz-date is more than 15 minutes off',
    );
  const claimed = req.headers.get('x-amz-content-sha256');
  const actual = createHash('sha256').update(body).digest('hex');
  if (claimed && claimed !== 'UNSIGNED-PAYLOAD' && claimed !== actual)
    throw badRequest('x-amz-content-sha256 does not match the body');

  const row = await deps.store.db
    .selectFrom('admin_tokens')
    .select(['id', 'hash', 'scope', 'provider_id', 'revoked_at'])
    .where('id', '=', keyId!)
    .executeTakeFirst();
  if (!row || row.revoked_at !== null) throw unauthorized('the access key id is not a live admin token id');

  const url = new URL(req.url);
  const headers: Record<string, string> = {};
  for (const h of signed) headers[h] = req.headers.get(h) ?? '';
  headers['x-amz-content-sha256'] ??= actual;
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of url.searchParams) {
    const prev = query[k];
    query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  const request = new HttpRequest({
    method: req.method,
    protocol: url.protocol,
    hostname: url.hostname,
    path: decodeURIComponent(url.pathname),
    query,
    headers,
    body,
  });
  const signer = new SignatureV4({
    credentials: { accessKeyId: row.id, secretAccessKey: row.hash },
    region: region!,
    service: 'apigateway',
    sha256: Hash.bind(null, 'sha256'),
  });
  const out = await signer.sign(request, {
    signingDate: new Date(at),
    signableHeaders: new Set(signed),
  });
  const expected = /Signature=([0-9a-f]{64})/.exec(String(out.headers.authorization ?? ''))?.[1] ?? '';
  if (!safeEqual(expected, signature!)) {
    throw new AwsError(
      'UnauthorizedException',
      401,
      'The request signature does not match (secretAccessKey must be the SHA-256 hex of the admin token)',
    );
  }
  if (row.scope === 'operator') return { kind: 'operator', id: row.id };
  if (row.scope === 'provider' && row.provider_id)
    return { kind: 'provider', providerId: row.provider_id, id: row.id };
  throw unauthorized('the admin token has no usable scope');
}

/** Reads the body (at most `max` bytes) into c.var.body, then authenticates. */
export function authenticate(
  deps: { catalog: Catalog; store: Store; clock: Clock; sigv4: boolean },
  max: number,
): MiddlewareHandler<ApigwEnv> {
  return async (c, next) => {
    const length = Number(c.req.header('content-length') ?? '0');
    if (length > max) throw new AwsError('BadRequestException', 413, `the body must be at most ${max} bytes`);
    const body = c.req.raw.body ? await readLimited(c.req.raw, max) : '';
    c.set('body', body);
    const header = c.req.header('authorization') ?? '';
    const bearer = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
    let actor: Actor | null = null;
    if (bearer) {
      actor = await deps.catalog.tokens.authenticate(bearer[1]!);
      if (!actor) throw unauthorized('the admin token is unknown or revoked');
    } else if (header.startsWith('AWS4-HMAC-SHA256 ')) {
      if (!deps.sigv4)
        throw unauthorized('SigV4 is turned off here; send Authorization: Bearer <admin token>');
      actor = await verifySigV4(deps, c.req.raw, header, body);
    } else {
      throw unauthorized('send Authorization: Bearer <admin token>, or sign with SigV4 (see docs/apigw.md)');
    }
    c.set('actor', actor);
    return next();
  };
}

async function readLimited(req: Request, max: number): Promise<string> {
  const reader = req.body!.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel().catch(() => {});
      throw new AwsError('BadRequestException', 413, `the body must be at most ${max} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
