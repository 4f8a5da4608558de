/**
 * Webhook signatures, in Stripe's scheme: header
 *   Tollgate-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, `${t}.${body}`)>
 * The timestamp is signed with the body, so a receiver that rejects old timestamps
 * (default tolerance 5 minutes) is safe from replays; comparison is constant-time.
 * Several v1= entries may appear (during a secret rotation); any match verifies.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'Tollgate-Signature';

export function sign(secret: string, timestampSec: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestampSec}.${body}`).digest('hex');
}

export function signatureHeader(secret: string, timestampSec: number, body: string): string {
  return `t=${timestampSec},v1=${sign(secret, timestampSec, body)}`;
}

export type VerifyResult =
  | { ok: true; timestamp: number }
  | { ok: false; reason: 'MALFORMED' | 'TOO_OLD' | 'MISMATCH' };

/** Verifies a `Tollgate-Signature` header against the raw body (a value, never throws). */
export function verifySignature(
  header: string | null | undefined,
  body: string,
  secret: string,
  options: { nowSec?: number; toleranceSec?: number } = {},
): VerifyResult {
  if (!header) return { ok: false, reason: 'MALFORMED' };
  let t: number | undefined;
  const v1: string[] = [];
  for (const part of header.split(',')) {
    const [k, v] = part.trim().split('=', 2);
    if (k === 't' && v && /^\d+$/.test(v)) t = Number(v);
    else if (k === 'v1' && v && /^[0-9a-f]{64}$/.test(v)) v1.push(v);
  }
  if (t === undefined || v1.length === 0) return { ok: false, reason: 'MALFORMED' };
  const now = options.nowSec ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - t) > (options.toleranceSec ?? 300)) return { ok: false, reason: 'TOO_OLD' };
  const expected = Buffer.from(sign(secret, t, body), 'hex');
  const match = v1.some((s) => timingSafeEqual(Buffer.from(s, 'hex'), expected));
  return match ? { ok: true, timestamp: t } : { ok: false, reason: 'MISMATCH' };
}
