/**
 * Tables owned by the portal module (developer portal + provider console accounts).
 * Times are integer ms. Secrets (session ids, reset tokens) are stored only as SHA-256 hex.
 */

/** A person who logs in to the portal: a buyer (linked to a consumer) or a provider's member. */
export interface PortalUserTable {
  id: string;
  /** Lower-cased, unique. */
  email: string;
  name: string;
  /** `scrypt$<N>$<r>$<p>$<salt b64>$<hash b64>` (node:crypto scrypt, 16-byte per-user salt). */
  password_hash: string;
  /** `buyer` | `provider` */
  role: string;
  consumer_id: string | null;
  provider_id: string | null;
  created_at: number;
  updated_at: number;
}

export interface PortalSessionTable {
  /** SHA-256 hex of the session id (the cookie carries the id; a stolen table row is useless). */
  id_hash: string;
  user_id: string;
  /** Synchronizer CSRF token of this session (random, not secret from its owner). */
  csrf_token: string;
  created_at: number;
  expires_at: number;
}

/** One failed log-in; throttling counts these per (email, ip) over a window. */
export interface PortalLoginFailureTable {
  id: string;
  email: string;
  ip: string;
  at: number;
}

export interface PortalPasswordResetTable {
  /** SHA-256 hex of the token mailed to the user. */
  token_hash: string;
  user_id: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

export interface PortalTables {
  portal_users: PortalUserTable;
  portal_sessions: PortalSessionTable;
  portal_login_failures: PortalLoginFailureTable;
  portal_password_resets: PortalPasswordResetTable;
}
