/**
 * The licence as a value. A licence is a compact JWS (RFC 7515) whose payload is a JWT claim
 * set (RFC 7519), signed with the provider's Ed25519 key (`alg: EdDSA`, RFC 8037) and
 * naming that key in the header `kid`. JWT times (`nbf`, `exp`, `iat`) are seconds; the
 * `Licence` value below turns them into milliseconds like every other time in Tollgate.
 */
import type { JWK } from 'jose';

/** The header `typ` of every licence: keeps a licence apart from other JWTs a key might sign. */
export const LICENCE_TYP = 'tollgate-licence+jwt';

export interface LicenceLimits {
  /** Ceiling on requests per second the licensed deployment may serve (token-bucket rate). */
  rateLimit: number;
  /** Bucket size; defaults to `rateLimit` when absent. */
  burstLimit?: number;
}

/** What the provider decides when issuing; everything in the signed claims. */
export interface LicenceTerms {
  id: string;
  providerId: string;
  licensee: { id: string; name: string };
  productId: string;
  subscriptionId?: string | null;
  deployments: number;
  features: string[];
  limits: LicenceLimits;
  /** ms since the epoch; rounded down to the second in the token. */
  validFrom: number;
  /** ms since the epoch; rounded down to the second in the token. */
  validUntil: number;
}

/** A verified licence, as read back from its token. */
export interface Licence extends LicenceTerms {
  /** The signing key's id. */
  kid: string;
  /** When the token was signed, ms. */
  issuedAt: number;
}

/** The JWT claims as they sit in the token. */
export interface LicenceClaims {
  jti: string;
  iss: string;
  sub: string;
  iat: number;
  nbf: number;
  exp: number;
  licensee: { id: string; name: string };
  product: string;
  subscription?: string;
  deployments: number;
  features: string[];
  limits: LicenceLimits;
}

export type LicenceDenialCode =
  | 'TAMPERED'
  | 'UNKNOWN_KEY'
  | 'WRONG_PRODUCT'
  | 'NOT_YET_VALID'
  | 'EXPIRED'
  | 'REVOKED'
  | 'MALFORMED';

/**
 * Outcome of an offline verification. A denial is a value. When the signature itself
 * checked out (WRONG_PRODUCT, NOT_YET_VALID, EXPIRED, REVOKED) the licence is attached, so
 * a caller can apply grace rules or show the licensee what it holds.
 */
export type VerifyResult =
  | { ok: true; licence: Licence }
  | { ok: false; code: LicenceDenialCode; message: string; licence?: Licence };

/** An Ed25519 public JWK as published, with its `kid`. */
export type PublicJwk = JWK & { kid: string };

/**
 * The public-keys file a buyer deploys next to the licence (TOLLGATE_LICENCE_PUBLIC_KEYS):
 * a JWKS (RFC 7517 §5) plus one extra member, `revoked`, the ids of licences the provider
 * has revoked. RFC 7517 lets a JWK Set carry members a reader does not understand.
 */
export interface PublicKeySet {
  keys: PublicJwk[];
  revoked?: string[];
}

/** A freshly generated signing key. The private parts are secrets: never log them. */
export interface SigningKeyPair {
  kid: string;
  publicJwk: PublicJwk;
  privateJwk: JWK & { kid: string };
  publicPem: string;
  privatePem: string;
}

/** A segment of the licensed deployment count: [from, to) ms with `quantity` deployments. */
export interface DeploymentSegment {
  from: number;
  to: number;
  quantity: number;
}

export type ActivationDenialCode =
  | 'MALFORMED'
  | 'TAMPERED'
  | 'UNKNOWN_KEY'
  | 'UNKNOWN_LICENCE'
  | 'REVOKED'
  | 'SEATS_EXHAUSTED';

/** The provider's answer to an activation (seat check + heartbeat). A denial is a value. */
export type ActivationResult =
  | {
      ok: true;
      licenceId: string;
      instanceId: string;
      /** Deployments the licence allows now. */
      deployments: number;
      /** Live activations, this one included. */
      inUse: number;
      /** Re-activate (heartbeat) well within this, or the seat lapses. */
      heartbeatTtlMs: number;
      validUntil: number;
      /** The licence's current token: newer than the caller's after a renewal. */
      token: string;
    }
  | { ok: false; code: ActivationDenialCode; message: string };
