/**
 * Signing and offline verification of licence tokens.
 *
 * Verification order (first failure wins, so the message names the real problem):
 * shape → header (`alg: EdDSA`, `typ`, `kid`) → key by kid (UNKNOWN_KEY) → Ed25519 signature
 * (TAMPERED) → claims shape (MALFORMED) → revocation list (REVOKED) → product
 * (WRONG_PRODUCT) → `nbf` (NOT_YET_VALID) → `exp` (EXPIRED). Nothing here touches the
 * network: the buyer's deployment verifies against the public keys file it was given.
 * Times come from the caller (an injected clock), never from `Date.now()`.
 */
import { compactVerify, decodeProtectedHeader, importJWK, type JWK, SignJWT } from 'jose';
import { z } from 'zod';
import {
  LICENCE_TYP,
  type Licence,
  type LicenceClaims,
  type LicenceDenialCode,
  type LicenceTerms,
  type PublicKeySet,
  type VerifyResult,
} from './types.js';

const iso = (ms: number): string => new Date(ms).toISOString();

/** Signs licence terms with a private Ed25519 JWK; returns the compact JWS (the licence file's text). */
export async function signLicence(
  terms: LicenceTerms,
  key: { kid: string; privateJwk: JWK },
  nowMs: number,
): Promise<string> {
  const claims: Omit<LicenceClaims, 'iss' | 'sub' | 'jti' | 'iat' | 'nbf' | 'exp'> = {
    licensee: { id: terms.licensee.id, name: terms.licensee.name },
    product: terms.productId,
    ...(terms.subscriptionId ? { subscription: terms.subscriptionId } : {}),
    deployments: terms.deployments,
    features: [...terms.features],
    limits: { ...terms.limits },
  };
  const privateKey = await importJWK({ ...key.privateJwk, alg: 'EdDSA' }, 'EdDSA');
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: LICENCE_TYP })
    .setJti(terms.id)
    .setIssuer(terms.providerId)
    .setSubject(terms.licensee.id)
    .setIssuedAt(Math.floor(nowMs / 1000))
    .setNotBefore(Math.floor(terms.validFrom / 1000))
    .setExpirationTime(Math.floor(terms.validUntil / 1000))
    .sign(privateKey);
}

const claimsSchema = z.object({
  jti: z.string().min(1),
  iss: z.string().min(1),
  sub: z.string().min(1),
  iat: z.number().int(),
  nbf: z.number().int(),
  exp: z.number().int(),
  licensee: z.object({ id: z.string().min(1), name: z.string() }),
  product: z.string().min(1),
  subscription: z.string().optional(),
  deployments: z.number().int().positive(),
  features: z.array(z.string()),
  limits: z.object({ rateLimit: z.number().positive(), burstLimit: z.number().int().positive().optional() }),
});

const deny = (code: LicenceDenialCode, message: string, licence?: Licence): VerifyResult =>
  licence ? { ok: false, code, message, licence } : { ok: false, code, message };

export interface VerifyOptions {
  /** The product this deployment runs; omit to accept any product (provider-side checks). */
  productId?: string;
  nowMs: number;
  /** Extra revoked licence ids, added to `keys.revoked`. */
  revoked?: Iterable<string>;
}

/** Offline verification: a denial is a value with a message a person can act on. */
export async function verifyLicence(
  token: string,
  keys: PublicKeySet,
  options: VerifyOptions,
): Promise<VerifyResult> {
  const text = typeof token === 'string' ? token.trim() : '';
  if (!/^[\w-]+\.[\w-]+\.[\w-]+$/.test(text)) {
    return deny(
      'MALFORMED',
      'The licence is not a licence token (expected three base64url parts: header.payload.signature).',
    );
  }
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(text);
  } catch {
    return deny('MALFORMED', 'The licence header cannot be read: the file is damaged or is not a licence.');
  }
  if (header.alg !== 'EdDSA' || header.typ !== LICENCE_TYP || typeof header.kid !== 'string') {
    return deny(
      'MALFORMED',
      `The licence header must say alg "EdDSA", typ "${LICENCE_TYP}" and name a key id (kid); it says alg ${JSON.stringify(header.alg)}, typ ${JSON.stringify(header.typ)}.`,
    );
  }
  const jwk = keys.keys.find((k) => k.kid === header.kid);
  if (!jwk) {
    const known = keys.keys.map((k) => k.kid).join(', ') || 'none';
    return deny(
      'UNKNOWN_KEY',
      `The licence was signed with key ${header.kid}, which is not in the provider's public keys (${known}). Install the provider's current public keys file, or ask the provider for a licence signed with a current key.`,
    );
  }
  let payload: Uint8Array;
  try {
    const publicKey = await importJWK({ ...jwk, alg: 'EdDSA' }, 'EdDSA');
    ({ payload } = await compactVerify(text, publicKey, { algorithms: ['EdDSA'] }));
  } catch {
    return deny(
      'TAMPERED',
      `The licence signature does not match its contents for key ${header.kid}: the licence file was altered, or was not signed by this provider. Download the licence again from the provider's portal.`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(payload));
  } catch {
    return deny('MALFORMED', 'The licence is signed but its contents are not JSON.');
  }
  const parsed = claimsSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return deny(
      'MALFORMED',
      `The licence is signed but a claim is missing or wrong: ${issue?.path.join('.') || '(root)'}: ${issue?.message}.`,
    );
  }
  const licence = toLicence(parsed.data, header.kid);
  const revoked = new Set([...(keys.revoked ?? []), ...(options.revoked ?? [])]);
  if (revoked.has(licence.id)) {
    return deny(
      'REVOKED',
      `The licence ${licence.id} for ${licence.licensee.name} was revoked by the provider. Contact the provider for a new licence.`,
      licence,
    );
  }
  if (options.productId !== undefined && licence.productId !== options.productId) {
    return deny(
      'WRONG_PRODUCT',
      `The licence ${licence.id} is for product ${licence.productId}, but this deployment runs product ${options.productId}.`,
      licence,
    );
  }
  if (options.nowMs < licence.validFrom) {
    return deny(
      'NOT_YET_VALID',
      `The licence ${licence.id} is valid from ${iso(licence.validFrom)}; it is now ${iso(options.nowMs)}. Check the clock of this machine, or wait for the licence to start.`,
      licence,
    );
  }
  if (options.nowMs >= licence.validUntil) {
    return deny(
      'EXPIRED',
      `The licence ${licence.id} for ${licence.licensee.name} expired on ${iso(licence.validUntil)}. Renew it with the provider and install the new licence file.`,
      licence,
    );
  }
  return { ok: true, licence };
}

function toLicence(c: z.infer<typeof claimsSchema>, kid: string): Licence {
  return {
    id: c.jti,
    providerId: c.iss,
    licensee: { id: c.licensee.id, name: c.licensee.name },
    productId: c.product,
    subscriptionId: c.subscription ?? null,
    deployments: c.deployments,
    features: c.features,
    limits: c.limits.burstLimit === undefined ? { rateLimit: c.limits.rateLimit } : c.limits,
    validFrom: c.nbf * 1000,
    validUntil: c.exp * 1000,
    kid,
    issuedAt: c.iat * 1000,
  };
}

/** Reads the `iss` and `jti` of a token without verifying it (to pick the provider's keys). */
export function peekLicence(token: string): { providerId: string; licenceId: string } | null {
  const part = typeof token === 'string' ? token.trim().split('.')[1] : undefined;
  if (!part) return null;
  try {
    const c = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
    return typeof c.iss === 'string' && typeof c.jti === 'string'
      ? { providerId: c.iss, licenceId: c.jti }
      : null;
  } catch {
    return null;
  }
}
