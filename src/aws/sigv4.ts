/**
 * SigV4 verification for Tollgate's AWS-compatible endpoints, as AWS verifies it, so that
 * every AWS client signs in (JS SDK v3, botocore/AWS CLI, the Go SDK under Terraform):
 *
 * - the canonical request is rebuilt from exactly the headers the client lists in
 *   SignedHeaders — nothing added (botocore signs only `host;x-amz-date` and sends no
 *   `x-amz-content-sha256`), nothing dropped;
 * - over the path and query exactly as sent (still percent-encoded: the signer encodes the
 *   path once more, as the client did; decoding first breaks any encoded character);
 * - re-signed with @smithy/signature-v4 (the SDK's own signer, so canonicalisation matches)
 *   using the caller's secret, and compared in constant time.
 *
 * Refusals copy AWS: unknown access key → UnrecognizedClientException; wrong signature or
 * an X-Amz-Date more than 5 minutes from the server clock → InvalidSignatureException;
 * no Authorization → MissingAuthenticationTokenException. A declared
 * `x-amz-content-sha256` must match the body. Only header-signed requests (no presigned
 * URLs, no session tokens).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Clock } from '../shared/index.js';
import { AwsError } from './errors.js';

const MAX_SKEW_MS = 5 * 60_000;
const AUTH_RE =
  /^AWS4-HMAC-SHA256\s+Credential=([^/\s,]+)\/(\d{8})\/([^/\s,]+)\/([^/\s,]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;_.-]+),\s*Signature=([0-9a-f]{64})$/;

export interface IncomingRequest {
  method: string;
  /** As sent: still percent-encoded. */
  path: string;
  /** Decoded names and values (a name given twice keeps every value). */
  query: Record<string, string | string[]>;
  /** Lower-case names. */
  headers: Record<string, string>;
  body: string;
}

export interface SigV4Options<C extends { secretAccessKey: string }> {
  /** The signing service the credential scope must name (`apigateway`, `aws-marketplace`). */
  service: string;
  clock: Clock;
  /** The credentials of an access key id; null when unknown or revoked. */
  resolve: (accessKeyId: string) => Promise<C | null>;
}

const decode = (s: string): string => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

/** A fetch Request as SigV4 sees it: the raw path and query, lower-case headers, the body read. */
export function incomingRequest(req: Request, body: string): IncomingRequest {
  const raw = req.url.replace(/^[a-z]+:\/\/[^/]*/i, '');
  const q = raw.indexOf('?');
  const path = (q < 0 ? raw : raw.slice(0, q)).replace(/#.*$/, '') || '/';
  const query: Record<string, string | string[]> = {};
  // Not URLSearchParams: AWS clients encode a space as %20, and '+' is a literal plus.
  for (const part of q < 0 ? [] : raw.slice(q + 1).split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const k = decode(eq < 0 ? part : part.slice(0, eq));
    const v = eq < 0 ? '' : decode(part.slice(eq + 1));
    const prev = query[k];
    query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  const headers: Record<string, string> = {};
  req.headers.forEach((v, k) => {
    headers[k.toLowerCase()] = v;
  });
  return { method: req.method, path, query, headers, body };
}

export function parseAmzDate(s: string): number | null {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return null;
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
}

const fmt = (ms: number): string =>
  new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');

const invalidSignature = (message: string) => new AwsError('InvalidSignatureException', message);

function checkDate(amzDate: string, shortDate: string, now: number): number {
  const signedAt = parseAmzDate(amzDate);
  if (signedAt === null)
    throw new AwsError('IncompleteSignatureException', 'X-Amz-Date header is missing or malformed.');
  if (amzDate.slice(0, 8) !== shortDate)
    throw invalidSignature('Date in Credential scope does not match YYYYMMDD from X-Amz-Date.');
  if (signedAt < now - MAX_SKEW_MS) {
    throw invalidSignature(
      `Signature expired: ${amzDate} is now earlier than ${fmt(now - MAX_SKEW_MS)} (${fmt(now)} - 5 min.)`,
    );
  }
  if (signedAt > now + MAX_SKEW_MS) {
    throw invalidSignature(
      `Signature not yet current: ${amzDate} is still later than ${fmt(now + MAX_SKEW_MS)} (${fmt(now)} + 5 min.)`,
    );
  }
  return signedAt;
}

/** The signed headers, as sent; each must be present, and host and x-amz-date among them. */
function signedHeaders(req: IncomingRequest, list: string): Record<string, string> {
  const signed = list.split(';');
  for (const required of ['host', 'x-amz-date']) {
    if (!signed.includes(required))
      throw invalidSignature(`'${required}' must be a 'SignedHeader' in the AWS Authorization.`);
  }
  const headers: Record<string, string> = {};
  for (const h of signed) {
    const v = req.headers[h];
    if (v === undefined) throw invalidSignature(`Signed header '${h}' is missing from the request.`);
    headers[h] = v;
  }
  return headers;
}

export async function verifySigV4<C extends { secretAccessKey: string }>(
  req: IncomingRequest,
  opts: SigV4Options<C>,
): Promise<C> {
  const auth = req.headers.authorization;
  if (!auth) throw new AwsError('MissingAuthenticationTokenException', 'Missing Authentication Token');
  const m = AUTH_RE.exec(auth.trim());
  if (!m) {
    throw new AwsError(
      'IncompleteSignatureException',
      'Authorization header requires Credential, SignedHeaders and Signature parameters.',
    );
  }
  const [, keyId, shortDate, region, service, signedList, signature] = m as unknown as string[];
  const creds = await opts.resolve(keyId!);
  if (!creds)
    throw new AwsError(
      'UnrecognizedClientException',
      'The security token included in the request is invalid.',
    );
  if (service !== opts.service)
    throw invalidSignature(`Credential should be scoped to correct service: '${opts.service}'.`);
  const signedAt = checkDate(req.headers['x-amz-date'] ?? '', shortDate!, opts.clock.now());
  const headers = signedHeaders(req, signedList!);
  // The signature covers x-amz-content-sha256 when sent, not the body: hold the body to it.
  const declared = req.headers['x-amz-content-sha256'];
  if (
    declared !== undefined &&
    declared !== 'UNSIGNED-PAYLOAD' &&
    declared !== createHash('sha256').update(req.body).digest('hex')
  ) {
    throw invalidSignature('The provided x-amz-content-sha256 header does not match what was computed.');
  }
  const signer = new SignatureV4({
    service: opts.service,
    region: region!,
    credentials: { accessKeyId: keyId!, secretAccessKey: creds.secretAccessKey },
    sha256: Hash.bind(null, 'sha256'),
    applyChecksum: false, // never add x-amz-content-sha256: sign only what the client signed
  });
  const resigned = await signer.sign(
    {
      method: req.method.toUpperCase(),
      protocol: 'http:',
      hostname: (headers.host ?? '').split(':')[0] ?? '',
      path: req.path,
      query: req.query,
      headers,
      body: req.body,
    },
    { signingDate: new Date(signedAt), signableHeaders: new Set(Object.keys(headers)) },
  );
  const expected = /Signature=([0-9a-f]{64})/.exec(String(resigned.headers.authorization))?.[1] ?? '';
  const a = Buffer.from(expected);
  const b = Buffer.from(signature!);
  if (a.length !== b.length || !timingSafeEqual(a, b)) {
    throw invalidSignature(
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
    );
  }
  return creds;
}
