import { describe, expect, it } from 'vitest';
import {
  generateSigningKey,
  openPrivateJwk,
  parsePublicKeySet,
  peekLicence,
  type SigningKeyPair,
  sealPrivateJwk,
  signLicence,
  verifyLicence,
} from '../../src/licences/index.js';
import { DAY, keySet, T0, terms } from './helpers.js';

const provider: SigningKeyPair = await generateSigningKey();
const stranger: SigningKeyPair = await generateSigningKey();
const keys = keySet(provider);
const now = T0 + DAY;

/** Replaces one claim in the payload without re-signing: what an editor of the file would do. */
function editPayload(token: string, edit: (claims: Record<string, unknown>) => void): string {
  const [h, p, s] = token.split('.');
  const claims = JSON.parse(Buffer.from(p!, 'base64url').toString('utf8'));
  edit(claims);
  return [h, Buffer.from(JSON.stringify(claims)).toString('base64url'), s].join('.');
}

describe('licence tokens: signing and offline verification', () => {
  it('a valid licence verifies and reads back every term, in ms', async () => {
    const token = await signLicence(terms(), provider, T0);
    const header = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString());
    expect(header).toEqual({ alg: 'EdDSA', kid: provider.kid, typ: 'tollgate-licence+jwt' });
    const r = await verifyLicence(token, keys, { productId: 'prd_nouns', nowMs: now });
    expect(r).toEqual({
      ok: true,
      licence: {
        ...terms(),
        kid: provider.kid,
        issuedAt: T0,
      },
    });
    expect(peekLicence(token)).toEqual({ providerId: 'prv_acme', licenceId: 'lic_01TEST' });
  });

  it('a payload edited after signing (more deployments) is TAMPERED', async () => {
    const token = editPayload(await signLicence(terms(), provider, T0), (c) => {
      c.deployments = 500;
    });
    const r = await verifyLicence(token, keys, { productId: 'prd_nouns', nowMs: now });
    expect(r).toMatchObject({ ok: false, code: 'TAMPERED' });
    if (!r.ok) expect(r.message).toMatch(/signature does not match its contents.*altered/);
  });

  it('a licence signed by another key that claims the provider kid is TAMPERED', async () => {
    const forged = await signLicence(terms(), { kid: provider.kid, privateJwk: stranger.privateJwk }, T0);
    const r = await verifyLicence(forged, keys, { productId: 'prd_nouns', nowMs: now });
    expect(r).toMatchObject({ ok: false, code: 'TAMPERED' });
  });

  it('a licence signed by a key not in the public keys is UNKNOWN_KEY and names both', async () => {
    const token = await signLicence(terms(), stranger, T0);
    const r = await verifyLicence(token, keys, { productId: 'prd_nouns', nowMs: now });
    expect(r).toMatchObject({ ok: false, code: 'UNKNOWN_KEY' });
    if (!r.ok) {
      expect(r.message).toContain(stranger.kid);
      expect(r.message).toContain(provider.kid);
    }
  });

  it('a licence for another product is WRONG_PRODUCT, naming both products', async () => {
    const token = await signLicence(terms({ productId: 'prd_capture' }), provider, T0);
    const r = await verifyLicence(token, keys, { productId: 'prd_nouns', nowMs: now });
    expect(r).toMatchObject({ ok: false, code: 'WRONG_PRODUCT' });
    if (!r.ok)
      expect(r.message).toBe(
        'The licence lic_01TEST is for product prd_capture, but this deployment runs product prd_nouns.',
      );
  });

  it('before validFrom it is NOT_YET_VALID; at validUntil it is EXPIRED; both say when', async () => {
    const token = await signLicence(terms({ validFrom: T0 + 10 * DAY }), provider, T0);
    const early = await verifyLicence(token, keys, { productId: 'prd_nouns', nowMs: T0 + 9 * DAY });
    expect(early).toMatchObject({ ok: false, code: 'NOT_YET_VALID' });
    if (!early.ok) expect(early.message).toContain('valid from 2026-01-11T00:00:00.000Z');
    const late = await verifyLicence(token, keys, { productId: 'prd_nouns', nowMs: T0 + 30 * DAY });
    expect(late).toMatchObject({ ok: false, code: 'EXPIRED', licence: { id: 'lic_01TEST' } });
    if (!late.ok) expect(late.message).toContain('for Globex Corp expired on 2026-01-31T00:00:00.000Z');
  });

  it('a licence listed as revoked in the public keys file is REVOKED', async () => {
    const token = await signLicence(terms(), provider, T0);
    const r = await verifyLicence(
      token,
      { ...keys, revoked: ['lic_01TEST'] },
      { productId: 'prd_nouns', nowMs: now },
    );
    expect(r).toMatchObject({ ok: false, code: 'REVOKED' });
    if (!r.ok) expect(r.message).toMatch(/revoked by the provider/);
  });

  it('garbage, a foreign JWT and a signed token with a missing claim are MALFORMED', async () => {
    expect(await verifyLicence('not a licence', keys, { nowMs: now })).toMatchObject({ code: 'MALFORMED' });
    const hs = `${Buffer.from('{"alg":"HS256"}').toString('base64url')}.e30.sig`;
    expect(await verifyLicence(hs, keys, { nowMs: now })).toMatchObject({ code: 'MALFORMED' });
    const bad = await signLicence(terms({ deployments: 0 }), provider, T0);
    const r = await verifyLicence(bad, keys, { nowMs: now });
    expect(r).toMatchObject({ ok: false, code: 'MALFORMED' });
    if (!r.ok) expect(r.message).toContain('deployments');
  });
});

describe('signing keys', () => {
  it('kid is the RFC 7638 thumbprint, PEM exports exist, and the public JWK has no private part', async () => {
    expect(provider.kid).toMatch(/^[\w-]{43}$/);
    expect(provider.publicPem).toContain('BEGIN PUBLIC KEY');
    expect(provider.privatePem).toContain('BEGIN PRIVATE KEY');
    expect('d' in provider.publicJwk).toBe(false);
  });

  it('seals a private key with AES-256-GCM, bound to its kid and the secret', () => {
    const secret = 's'.repeat(40);
    const sealed = sealPrivateJwk(provider.privateJwk, secret, provider.kid);
    expect(sealed).toMatch(/^v1\./);
    expect(sealed).not.toContain(String(provider.privateJwk.d));
    expect(openPrivateJwk(sealed, secret, provider.kid)).toEqual(provider.privateJwk);
    expect(() => openPrivateJwk(sealed, 'x'.repeat(40), provider.kid)).toThrow(/TOLLGATE_SECRET differs/);
    expect(() => openPrivateJwk(sealed, secret, stranger.kid)).toThrow(/cannot decrypt/);
    expect(() => sealPrivateJwk(provider.privateJwk, 'short', provider.kid)).toThrow(
      /at least 32 characters/,
    );
  });

  it('the public keys file must be a JWKS of Ed25519 public keys', () => {
    const ok = parsePublicKeySet(JSON.stringify({ keys: [provider.publicJwk], revoked: ['lic_x'] }));
    expect(ok.revoked).toEqual(['lic_x']);
    expect(() => parsePublicKeySet('{')).toThrow(/not valid JSON/);
    expect(() => parsePublicKeySet(JSON.stringify({ keys: [provider.privateJwk] }))).toThrow(/PRIVATE key/);
    expect(() => parsePublicKeySet(JSON.stringify({ keys: [{ kty: 'RSA', kid: 'a' }] }))).toThrow(/keys\.0/);
    expect(() => parsePublicKeySet(JSON.stringify({ keys: [] }))).toThrow(/empty/);
  });
});
