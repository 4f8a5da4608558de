/**
 * SigV4 verification for Tollgate's AWS-compatible endpoints (service `aws-marketplace`).
 *
 * The request is rebuilt with exactly the headers the client signed, signed again with
 * @smithy/signature-v4 (the SDK's own signer, so canonicalisation matches) using the
 * caller's secret, and the two signatures are compared in constant time.
 * Refusals copy AWS: unknown access key → UnrecognizedClientException ("The security token
 * included in the request is invalid."); wrong signature or an X-Amz-Date more than 5
 * minutes from the server clock → InvalidSignatureException; no Authorization →
 * MissingAuthenticationTokenException. Only header-signed requests (no presigned URLs,
 * no session tokens).
 * Ref: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Clock } from '../../shared/index.js';
import type { ResolvedCredentials } from '../credentials.js';
import { AwsError } from './errors.js';

export const SIGNING_SERVICE = 'aws-marketplace';
const MAX_SKEW_MS = 5 * 60_000;
const AUTH_RE =
  /^AWS4-HMAC-SHA256\s+Credential=([^/\s,]+)\/(\d{8})\/([^/\s,]+)\/([^/\s,]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;_.-]+),\s*Signature=([0-9a-f]{64})$/;

export interface IncomingRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** Lower-case names. */
  headers: Record<string, string>;
  body: string;
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

export async function verifySigV4(
  req: IncomingRequest,
  clock: Clock,
  resolve: (accessKeyId: string) => Promise<ResolvedCredentials | null>,
): Promise<ResolvedCredentials> {
  const auth = req.headers.authorization;
  if (!auth) throw new AwsError('MissingAuthenticationTokenException', 'Missing Authentication Token', 400);
  const m = AUTH_RE.exec(auth.trim());
  if (!m) {
    throw new AwsError(
      'IncompleteSignatureException',
      'Authorization header requires Credential, SignedHeaders and Signature parameters.',
    );
  }
  const [, keyId, shortDate, region, service, signedList, signature] = m as unknown as string[];
  const amzDate = req.headers['x-amz-date'] ?? '';
  const signedAt = parseAmzDate(amzDate);
  if (signedAt === null) {
    throw new AwsError('IncompleteSignatureException', 'X-Amz-Date header is missing or malformed.');
  }
  const creds = await resolve(keyId!);
  if (!creds)
    throw new AwsError(
      'UnrecognizedClientException',
      'The security token included in the request is invalid.',
    );
  if (service !== SIGNING_SERVICE) {
    throw new AwsError(
      'InvalidSignatureException',
      `Credential should be scoped to correct service: '${SIGNING_SERVICE}'.`,
    );
  }
  if (amzDate.slice(0, 8) !== shortDate) {
    throw new AwsError(
      'InvalidSignatureException',
      'Date in Credential scope does not match YYYYMMDD from X-Amz-Date.',
    );
  }
  const now = clock.now();
  if (signedAt < now - MAX_SKEW_MS) {
    throw new AwsError(
      'InvalidSignatureException',
      `Signature expired: ${amzDate} is now earlier than ${fmt(now - MAX_SKEW_MS)} (${fmt(now)} - 5 min.)`,
    );
  }
  if (signedAt > now + MAX_SKEW_MS) {
    throw new AwsError(
      'InvalidSignatureException',
      `Signature not yet current: ${amzDate} is still later than ${fmt(now + MAX_SKEW_MS)} (${fmt(now)} + 5 min.)`,
    );
  }
  const signed = signedList!.split(';');
  if (!signed.includes('host')) {
    throw new AwsError(
      'InvalidSignatureException',
      "'Host' must be a 'SignedHeader' in the AWS Authorization.",
    );
  }
  const headers: Record<string, string> = {};
  for (const h of signed) {
    const v = req.headers[h];
    if (v === undefined) {
      throw new AwsError('InvalidSignatureException', `Signed header '${h}' is missing from the request.`);
    }
    headers[h] = v;
  }
  // The signature covers x-amz-content-sha256 when sent, not the body: hold the body to it.
  const declared = req.headers['x-amz-content-sha256'];
  if (declared !== undefined && declared !== createHash('sha256').update(req.body).digest('hex')) {
    throw new AwsError(
      'InvalidSignatureException',
      'The provided x-amz-content-sha256 header does not match what was computed.',
    );
  }
  const signer = new SignatureV4({
    service: SIGNING_SERVICE,
    region: region!,
    credentials: { accessKeyId: keyId!, secretAccessKey: creds.secretAccessKey },
    sha256: Hash.bind(null, 'sha256'),
    applyChecksum: false,
  });
  const hostHeader = headers.host ?? '';
  const resigned = await signer.sign(
    {
      method: req.method.toUpperCase(),
      protocol: 'http:',
      hostname: hostHeader.split(':')[0] ?? '',
      path: req.path,
      query: req.query,
      headers,
      body: req.body,
    },
    { signingDate: new Date(signedAt), signableHeaders: new Set(signed) },
  );
  const expected = /Signature=([0-9a-f]{64})/.exec(String(resigned.headers.authorization))?.[1] ?? '';
  const a = Buffer.from(expected);
  const b = Buffer.from(signature!);
  if (a.length !== b.length || !timingSafeEqual(a, b)) {
    throw new AwsError(
      'InvalidSignatureException',
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
    );
  }
  return creds;
}
