/**
 * Step 2 — who is calling? The key comes from `x-api-key` (API Gateway's HEADER key
 * source), is hashed once (SHA-256) and looked up in the snapshot; a key in several usage
 * plans answers with the entry of the plan that grants the called API. Every failure — missing,
 * unknown, disabled, expired, subscription not callable, plan not granting this API — is
 * the same `403 {"message":"Forbidden"}`, as API Gateway answers: no oracle for attackers.
 */
import { hashKey } from '../../keys/index.js';
import { DENIED, type Denial } from '../denial.js';
import { entryForApi, type KeyEntry, type Snapshot } from '../snapshot.js';

export type AuthOutcome =
  | { ok: true; key: KeyEntry }
  | { ok: false; reason: 'missing' | 'unknown' | 'disabled' | 'expired' | 'inactive' | 'not_in_plan' };

/**
 * SHA-256 of recently seen key values, so a busy key is hashed once, not on every call.
 * Bounded: cleared whole when full (an attacker cycling random keys only costs hashing).
 */
const recent = new Map<string, string>();
const RECENT_MAX = 10_000;

function hashOf(value: string): string {
  let h = recent.get(value);
  if (h === undefined) {
    h = hashKey(value);
    if (recent.size >= RECENT_MAX) recent.clear();
    recent.set(value, h);
  }
  return h;
}

export function authenticate(
  snapshot: Snapshot,
  header: string | string[] | undefined,
  apiId: string,
  now: number,
): AuthOutcome {
  if (typeof header !== 'string' || header.length === 0 || header.length > 256)
    return { ok: false, reason: 'missing' };
  const found = snapshot.keys.get(hashOf(header));
  if (!found) return { ok: false, reason: 'unknown' };
  // A key in several plans: the subscription whose plan grants this API (one Set lookup
  // for a key in one plan; see entryForApi).
  const key = found.others.length === 0 ? found : entryForApi(found, apiId);
  if (!key.enabled) return { ok: false, reason: 'disabled' };
  if (key.expiresAt !== null && key.expiresAt <= now) return { ok: false, reason: 'expired' };
  if (!key.active) return { ok: false, reason: 'inactive' };
  if (!key.plan.apiIds.has(apiId)) return { ok: false, reason: 'not_in_plan' };
  return { ok: true, key };
}

/** Step: the caller's key entry, or the one 403 for every reason. */
export function identify(
  snapshot: Snapshot,
  header: string | string[] | undefined,
  apiId: string,
  now: number,
): KeyEntry | Denial {
  const auth = authenticate(snapshot, header, apiId, now);
  return auth.ok ? auth.key : DENIED.forbidden;
}
