/**
 * SigV4 credentials Tollgate issues to providers for its AWS-compatible marketplace
 * endpoints (access key id + secret access key, like an IAM user's).
 *
 * SigV4 is an HMAC: to verify a request the server must recompute it, so it needs the
 * secret itself — a one-way hash cannot work. The secret is therefore stored *sealed*
 * with AES-256-GCM under a server key (`secretKey`, from configuration, never stored in
 * the database); a stolen database alone does not reveal any secret. The secret is shown
 * once, at issue. Revoked credentials stop working at once.
 */
import { randomBytes } from 'node:crypto';
import { randomSecret } from '../keys/index.js';
import type { Clock } from '../shared/index.js';
import { notFound, seal, sealingKey, unseal } from '../shared/index.js';
import type { Db } from '../store/index.js';

export { seal, sealingKey, unseal } from '../shared/index.js';

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export interface IssuedCredentials {
  accessKeyId: string;
  /** Shown once. */
  secretAccessKey: string;
  providerId: string;
  name: string;
  createdAt: number;
}

export interface ResolvedCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  providerId: string;
  /** Buyer-deployment credentials (MeterUsage) are bound to one agreement. */
  agreementId: string | null;
}

function accessKeyId(): string {
  let s = 'TGMK';
  for (const b of randomBytes(16)) s += B32[b % 32];
  return s;
}

export interface CredentialService {
  issue(providerId: string, name?: string, agreementId?: string): Promise<IssuedCredentials>;
  revoke(accessKeyId: string): Promise<void>;
  list(
    providerId: string,
  ): Promise<{ accessKeyId: string; name: string; createdAt: number; revokedAt: number | null }[]>;
  /** The live provider-level credentials used most recently, else the newest (signs notifications to that provider). */
  latestFor(providerId: string): Promise<ResolvedCredentials | null>;
  /** Notes a successful authentication (at most once a minute per key). */
  touch(accessKeyId: string): Promise<void>;
  /** The secret for verification; null when unknown or revoked. */
  resolve(accessKeyId: string): Promise<ResolvedCredentials | null>;
}

export function createCredentials(deps: {
  db: Db;
  clock: Clock;
  secretKey: string | Buffer;
}): CredentialService {
  const key = sealingKey(deps.secretKey);
  const svc: CredentialService = {
    async issue(providerId, name = 'default', agreementId) {
      const provider = await deps.db
        .selectFrom('providers')
        .select('id')
        .where('id', '=', providerId)
        .executeTakeFirst();
      if (!provider) throw notFound('provider', providerId);
      const now = deps.clock.now();
      const id = accessKeyId();
      const secret = randomSecret(30);
      await deps.db
        .insertInto('marketplace_credentials')
        .values({
          access_key_id: id,
          provider_id: providerId,
          name,
          secret_sealed: seal(key, secret),
          agreement_id: agreementId ?? null,
          created_at: now,
          revoked_at: null,
          last_used_at: null,
        })
        .execute();
      return { accessKeyId: id, secretAccessKey: secret, providerId, name, createdAt: now };
    },
    async revoke(id) {
      const r = await deps.db
        .updateTable('marketplace_credentials')
        .set({ revoked_at: deps.clock.now() })
        .where('access_key_id', '=', id)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) throw notFound('credentials', id);
    },
    async list(providerId) {
      const rows = await deps.db
        .selectFrom('marketplace_credentials')
        .select(['access_key_id', 'name', 'created_at', 'revoked_at'])
        .where('provider_id', '=', providerId)
        .orderBy('created_at')
        .execute();
      return rows.map((r) => ({
        accessKeyId: r.access_key_id,
        name: r.name,
        createdAt: r.created_at,
        revokedAt: r.revoked_at,
      }));
    },
    async latestFor(providerId) {
      const row = await deps.db
        .selectFrom('marketplace_credentials')
        .select('access_key_id')
        .where('provider_id', '=', providerId)
        .where('revoked_at', 'is', null)
        .where('agreement_id', 'is', null)
        // The pair the provider actually uses (it signs with what it was configured with).
        .orderBy((eb) => eb.fn.coalesce('last_used_at', eb.lit(0)), 'desc')
        .orderBy('created_at', 'desc')
        .executeTakeFirst();
      return row ? svc.resolve(row.access_key_id) : null;
    },
    async touch(id) {
      const now = deps.clock.now();
      await deps.db
        .updateTable('marketplace_credentials')
        .set({ last_used_at: now })
        .where('access_key_id', '=', id)
        .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', now - 60_000)]))
        .execute();
    },
    async resolve(id) {
      const row = await deps.db
        .selectFrom('marketplace_credentials')
        .selectAll()
        .where('access_key_id', '=', id)
        .executeTakeFirst();
      if (!row || row.revoked_at !== null) return null;
      return {
        accessKeyId: id,
        secretAccessKey: unseal(key, row.secret_sealed),
        providerId: row.provider_id,
        agreementId: row.agreement_id,
      };
    },
  };
  return svc;
}
