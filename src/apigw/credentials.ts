/**
 * SigV4 credentials for `/apigateway`, issued like the marketplace endpoint's: an access key
 * id (`TGAG…`) and a random secret access key shown once, bound to one admin token whose
 * scope it acts with. SigV4 is an HMAC, so the server needs the secret itself: it is stored
 * sealed (AES-256-GCM) under a key derived from the installation secret, which is
 * configuration and never in the database — a database copy alone cannot sign requests.
 * Revoking the credentials, or the admin token they act as, stops them at once.
 */
import { randomBytes } from 'node:crypto';
import type { Actor } from '../catalog/index.js';
import { randomSecret } from '../keys/index.js';
import { seal, sealingKey, unseal } from '../marketplace/index.js';
import type { Clock } from '../shared/index.js';
import { notFound } from '../shared/index.js';
import type { Db } from '../store/index.js';

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export interface ApigwCredentialView {
  accessKeyId: string;
  tokenId: string;
  createdAt: string;
  revokedAt: string | null;
}

export interface ApigwCredentialService {
  /** New credentials for `tokenId` (shown once: the secret is in this answer only). */
  issue(tokenId: string): Promise<ApigwCredentialView & { secretAccessKey: string }>;
  list(tokenIds: string[] | null): Promise<ApigwCredentialView[]>;
  /** The token a live credential belongs to, or null. */
  tokenOf(accessKeyId: string): Promise<string | null>;
  revoke(accessKeyId: string): Promise<void>;
  /** For SigV4: the secret and the actor of a live credential whose token is live; else null. */
  resolve(accessKeyId: string): Promise<{ secretAccessKey: string; actor: Actor } | null>;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function accessKeyId(): string {
  let s = 'TGAG';
  for (const b of randomBytes(16)) s += B32[b % 32];
  return s;
}

export function createApigwCredentials(deps: {
  db: Db;
  clock: Clock;
  secret: string;
}): ApigwCredentialService {
  const key = sealingKey(`apigw-credentials:${deps.secret}`);
  const view = (r: {
    access_key_id: string;
    token_id: string;
    created_at: number;
    revoked_at: number | null;
  }) => ({
    accessKeyId: r.access_key_id,
    tokenId: r.token_id,
    createdAt: iso(r.created_at)!,
    revokedAt: iso(r.revoked_at),
  });
  return {
    async issue(tokenId) {
      const now = deps.clock.now();
      const row = {
        access_key_id: accessKeyId(),
        token_id: tokenId,
        secret_sealed: '',
        created_at: now,
        revoked_at: null,
      };
      const secret = randomSecret(30);
      row.secret_sealed = seal(key, secret);
      await deps.db.insertInto('apigw_credentials').values(row).execute();
      return { ...view(row), secretAccessKey: secret };
    },
    async list(tokenIds) {
      if (tokenIds?.length === 0) return [];
      let q = deps.db
        .selectFrom('apigw_credentials')
        .select(['access_key_id', 'token_id', 'created_at', 'revoked_at'])
        .orderBy('created_at');
      if (tokenIds) q = q.where('token_id', 'in', tokenIds);
      return (await q.execute()).map(view);
    },
    async tokenOf(id) {
      const r = await deps.db
        .selectFrom('apigw_credentials')
        .select('token_id')
        .where('access_key_id', '=', id)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return r?.token_id ?? null;
    },
    async revoke(id) {
      const r = await deps.db
        .updateTable('apigw_credentials')
        .set({ revoked_at: deps.clock.now() })
        .where('access_key_id', '=', id)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) throw notFound('credentials', id);
    },
    async resolve(id) {
      const r = await deps.db
        .selectFrom('apigw_credentials')
        .innerJoin('admin_tokens', 'admin_tokens.id', 'apigw_credentials.token_id')
        .select([
          'apigw_credentials.secret_sealed',
          'apigw_credentials.revoked_at',
          'admin_tokens.id as token_id',
          'admin_tokens.scope',
          'admin_tokens.provider_id',
          'admin_tokens.revoked_at as token_revoked_at',
        ])
        .where('apigw_credentials.access_key_id', '=', id)
        .executeTakeFirst();
      if (!r || r.revoked_at !== null || r.token_revoked_at !== null) return null;
      let actor: Actor;
      if (r.scope === 'operator') actor = { kind: 'operator', id: r.token_id };
      else if (r.scope === 'provider' && r.provider_id)
        actor = { kind: 'provider', providerId: r.provider_id, id: r.token_id };
      else return null;
      return { secretAccessKey: unseal(key, r.secret_sealed), actor };
    },
  };
}
