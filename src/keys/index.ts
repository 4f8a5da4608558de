/**
 * API key material. A key is `tg_` + 40 base62 characters (~238 bits from the CSPRNG).
 * At rest only its SHA-256 (hex) and a short visible prefix are kept; the value is shown
 * once. High entropy makes a fast hash safe here (no dictionary to attack), and lets the
 * gateway look a key up by hash in O(1) without a per-request KDF. Imported values (the
 * API Gateway rule: 20–128 characters) are hashed the same way.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
export const KEY_PREFIX = 'tg_';
const BODY_LENGTH = 40;
const VISIBLE = 8;

export const IMPORT_MIN_LENGTH = 20;
export const IMPORT_MAX_LENGTH = 128;
/** Printable ASCII without spaces: what a header value can carry unchanged. */
const IMPORTABLE = /^[\x21-\x7e]+$/;

export interface KeyMaterial {
  /** The whole key: give it to the caller once, never store it. */
  value: string;
  hash: string;
  prefix: string;
}

export function generateKey(): KeyMaterial {
  // Rejection sampling keeps every character uniform over the 62 symbols.
  let body = '';
  while (body.length < BODY_LENGTH) {
    for (const b of randomBytes(64)) {
      if (b < 248 && body.length < BODY_LENGTH) body += BASE62[b % 62];
    }
  }
  return fromValue(KEY_PREFIX + body);
}

export function fromValue(value: string): KeyMaterial {
  return { value, hash: hashKey(value), prefix: value.slice(0, Math.min(VISIBLE, value.length - 4)) };
}

/** Validates an imported key value; returns a message naming the fault, or null. */
export function importProblem(value: unknown): string | null {
  if (typeof value !== 'string') return 'must be a string';
  if (value.length < IMPORT_MIN_LENGTH || value.length > IMPORT_MAX_LENGTH) {
    return `must be ${IMPORT_MIN_LENGTH}–${IMPORT_MAX_LENGTH} characters`;
  }
  if (!IMPORTABLE.test(value)) return 'must be printable ASCII without spaces';
  return null;
}

export function hashKey(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/** Constant-time comparison of two hex digests (or any equal-length secrets). */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A random opaque secret (admin tokens, session ids, CSRF tokens): base64url, 32 bytes. */
export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}
