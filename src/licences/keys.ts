/**
 * Signing keys: Ed25519 pairs (RFC 8037) generated through WebCrypto via jose, named by
 * their RFC 7638 JWK thumbprint, and sealed at rest with AES-256-GCM.
 *
 * At-rest envelope: `v1.<iv>.<tag>.<ciphertext>` (base64url). The AES key is
 * HKDF-SHA256(TOLLGATE_SECRET, info "tollgate/licences/signing-key"); the key id is the
 * GCM additional data, so a sealed key copied onto another row fails to open. Losing the
 * secret loses the keys (issue new ones and rotate); a wrong secret is a clear error.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import {
  base64url,
  calculateJwkThumbprint,
  exportJWK,
  exportPKCS8,
  exportSPKI,
  generateKeyPair,
  type JWK,
} from 'jose';
import { z } from 'zod';
import type { PublicJwk, PublicKeySet, SigningKeyPair } from './types.js';

export const MIN_SECRET_LENGTH = 32;

export async function generateSigningKey(): Promise<SigningKeyPair> {
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const pub = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(pub, 'sha256');
  const priv = await exportJWK(privateKey);
  return {
    kid,
    publicJwk: { ...pub, kid, alg: 'EdDSA', use: 'sig' },
    privateJwk: { ...priv, kid, alg: 'EdDSA' },
    publicPem: await exportSPKI(publicKey),
    privatePem: await exportPKCS8(privateKey),
  };
}

function aesKey(secret: string): Buffer {
  if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH) {
    throw new Error(
      `TOLLGATE_SECRET must be set to at least ${MIN_SECRET_LENGTH} characters to store licence signing keys`,
    );
  }
  return Buffer.from(hkdfSync('sha256', secret, 'tollgate', 'tollgate/licences/signing-key', 32));
}

/** Encrypts a private JWK for storage. */
export function sealPrivateJwk(jwk: JWK, secret: string, kid: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', aesKey(secret), iv);
  cipher.setAAD(Buffer.from(kid));
  const body = Buffer.concat([cipher.update(JSON.stringify(jwk), 'utf8'), cipher.final()]);
  const parts = [iv, cipher.getAuthTag(), body].map((b) => base64url.encode(b));
  return `v1.${parts.join('.')}`;
}

/** Decrypts what `sealPrivateJwk` stored; throws a clear error on a wrong secret or a moved row. */
export function openPrivateJwk(sealed: string, secret: string, kid: string): JWK {
  const [version, iv, tag, body] = sealed.split('.');
  if (version !== 'v1' || !iv || !tag || !body) {
    throw new Error(`signing key ${kid}: stored private key is not a v1 envelope`);
  }
  const decipher = createDecipheriv('aes-256-gcm', aesKey(secret), base64url.decode(iv));
  decipher.setAAD(Buffer.from(kid));
  decipher.setAuthTag(base64url.decode(tag));
  try {
    const text = Buffer.concat([decipher.update(base64url.decode(body)), decipher.final()]).toString('utf8');
    return JSON.parse(text) as JWK;
  } catch {
    throw new Error(
      `signing key ${kid}: cannot decrypt the private key: TOLLGATE_SECRET differs from the one it was stored with`,
    );
  }
}

const publicJwkSchema = z
  .object({
    kty: z.literal('OKP'),
    crv: z.literal('Ed25519'),
    x: z.string().min(1),
    kid: z.string().min(1),
  })
  .loose();

const publicKeySetSchema = z.object({
  keys: z.array(publicJwkSchema),
  revoked: z.array(z.string()).optional(),
});

/**
 * Parses a public-keys file (JWKS + optional `revoked`). Throws an Error naming the problem:
 * this runs at start-up, where a bad file must stop the process. Private members (`d`) are
 * refused so a leaked private key file is noticed rather than silently deployed.
 */
export function parsePublicKeySet(text: string, source = 'public keys'): PublicKeySet {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source}: not valid JSON (${(e as Error).message})`);
  }
  const parsed = publicKeySetSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(
      `${source}: not a JWKS of Ed25519 keys with kid: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
    );
  }
  if (parsed.data.keys.some((k) => 'd' in k)) {
    throw new Error(`${source}: contains a PRIVATE key (member "d"); publish only public keys`);
  }
  if (parsed.data.keys.length === 0) throw new Error(`${source}: the key set is empty`);
  return { keys: parsed.data.keys as PublicJwk[], revoked: parsed.data.revoked ?? [] };
}
