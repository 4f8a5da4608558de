/**
 * Tables owned by the licences module (wholesale). Times are integer ms; JSON as text.
 * See src/licences/service.ts for how they are used.
 */

/** Ed25519 signing keys of a provider. Exactly one `active` key per provider signs new licences. */
export interface LicenceSigningKeyTable {
  /** RFC 7638 JWK thumbprint of the public key. */
  kid: string;
  provider_id: string;
  /** Public JWK, JSON text. */
  public_jwk: string;
  /** Private JWK sealed with AES-256-GCM under TOLLGATE_SECRET (`v1.<iv>.<tag>.<ct>`). */
  private_jwk: string;
  /** `active` (signs and verifies) | `previous` (verifies only) | `retired` (neither). */
  status: string;
  created_at: number;
  retired_at: number | null;
}

export interface LicenceTable {
  id: string;
  provider_id: string;
  product_id: string;
  consumer_id: string;
  licensee_name: string;
  subscription_id: string | null;
  /** Key that signed the current token. */
  kid: string;
  deployments: number;
  /** JSON array of strings. */
  features: string;
  /** JSON object `{ rateLimit, burstLimit? }`. */
  limits: string;
  valid_from: number;
  valid_until: number;
  revoked_at: number | null;
  /** The current signed licence (compact JWS); re-signed on renewal and deployment changes. */
  token: string;
  created_at: number;
  updated_at: number;
}

/** A running deployment (instance) holding a seat of a licence. */
export interface LicenceActivationTable {
  licence_id: string;
  instance_id: string;
  first_seen: number;
  last_seen: number;
  released_at: number | null;
}

/** History of the licensed deployment count: the basis of per-deployment billing. */
export interface LicenceDeploymentChangeTable {
  id: string;
  licence_id: string;
  /** From this instant the licence allows `deployments`. */
  effective_at: number;
  deployments: number;
  created_at: number;
}

export interface LicencesTables {
  licence_signing_keys: LicenceSigningKeyTable;
  licences: LicenceTable;
  licence_activations: LicenceActivationTable;
  licence_deployment_changes: LicenceDeploymentChangeTable;
}
