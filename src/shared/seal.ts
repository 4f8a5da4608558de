/**
 * Sealing: what must be stored but never readable from the database alone (SigV4 secrets,
 * webhook signing secrets, payment keys). AES-256-GCM under a 32-byte key derived from the
 * installation secret, which only configuration holds; a sealed value is
 * `v1.<iv>.<tag>.<ciphertext>` (base64url). The GCM tag makes a changed value fail to open.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/** Derives the 32-byte sealing key from any configured secret string (≥16 chars advised). */
export function sealingKey(secret: string | Buffer): Buffer {
  // The label predates this module (marketplace credentials sealed first): changing it
  // would make every stored secret unreadable.
  return createHash('sha256').update('tollgate-marketplace-credentials:').update(secret).digest();
}

export function seal(key: Buffer, plain: string): string {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  const ct = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
  return `v1.${iv.toString('base64url')}.${c.getAuthTag().toString('base64url')}.${ct.toString('base64url')}`;
}

export function unseal(key: Buffer, sealed: string): string {
  const [v, iv, tag, ct] = sealed.split('.');
  if (v !== 'v1' || !iv || !tag || ct === undefined) throw new Error('unknown sealed secret format');
  const d = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
  d.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([d.update(Buffer.from(ct, 'base64url')), d.final()]).toString('utf8');
}
