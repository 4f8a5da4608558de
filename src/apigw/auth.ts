/**
 * Who is calling the API Gateway API. Two ways in, both resolving to a Tollgate admin token
 * (operator- or provider-scoped, with the admin API's scoping rules):
 *
 * 1. AWS Signature Version 4, as every AWS client signs (the AWS CLI, boto3, Terraform, the
 *    JS SDK), with credentials issued for an admin token (./credentials.ts: the secret is
 *    sealed under the installation secret, never derivable from the database). Verified by
 *    the shared verifier (src/aws: exactly the signed headers, the path as sent, signing
 *    service `apigateway`, any region, X-Amz-Date within 5 minutes).
 * 2. `Authorization: Bearer tga_…` — the admin API's own scheme; with the AWS SDK this takes
 *    a three-line middleware (`bearerMiddleware` below; see docs/apigw.md).
 *
 * Every refusal is an UnauthorizedException (401) carrying the verifier's reason.
 */
import type { MiddlewareHandler } from 'hono';
import { AwsError, incomingRequest, verifySigV4 } from '../aws/index.js';
import type { Actor, Catalog } from '../catalog/index.js';
import type { Clock } from '../shared/index.js';
import type { ApigwCredentialService } from './credentials.js';
import { awsError, unauthorized } from './errors.js';

export interface ApigwEnv {
  Variables: {
    actor: Actor;
    /** The request body as text (read once, size-checked). */
    body: string;
  };
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

async function sigv4Actor(
  deps: { clock: Clock; credentials: ApigwCredentialService },
  req: Request,
  body: string,
): Promise<Actor> {
  try {
    const creds = await verifySigV4(incomingRequest(req, body), {
      service: 'apigateway',
      clock: deps.clock,
      resolve: deps.credentials.resolve,
    });
    return creds.actor;
  } catch (e) {
    if (e instanceof AwsError) throw unauthorized(`${e.type}: ${e.message}`);
    throw e;
  }
}

/** Reads the body (at most `max` bytes) into c.var.body, then authenticates. */
export function authenticate(
  deps: { catalog: Catalog; clock: Clock; credentials: ApigwCredentialService },
  max: number,
): MiddlewareHandler<ApigwEnv> {
  return async (c, next) => {
    const length = Number(c.req.header('content-length') ?? '0');
    if (length > max) throw awsError('BadRequestException', 413, `the body must be at most ${max} bytes`);
    const body = c.req.raw.body ? await readLimited(c.req.raw, max) : '';
    c.set('body', body);
    const header = c.req.header('authorization') ?? '';
    const bearer = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
    let actor: Actor | null = null;
    if (bearer) {
      actor = await deps.catalog.tokens.authenticate(bearer[1]!);
      if (!actor) throw unauthorized('the admin token is unknown or revoked');
    } else if (header.startsWith('AWS4-HMAC-SHA256 ')) {
      actor = await sigv4Actor(deps, c.req.raw, body);
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
      throw awsError('BadRequestException', 413, `the body must be at most ${max} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
