/**
 * Provider side of wholesale licences: signing keys (generate, rotate, retire, publish as
 * JWKS), licences (issue, renew, change deployments, revoke, read) and the deployment
 * history billing prices from. Seat checks live in activations.ts.
 *
 * Every write runs in one transaction with its audit row (audit.ts). A licence's token is
 * re-signed with the provider's active key whenever its terms change (renewal, deployment
 * count); older tokens of the same licence stay verifiable until they expire, which is why
 * seat counts are taken from the database, not from the token.
 */
import type { JWK } from 'jose';
import type { Clock, Logger } from '../shared/index.js';
import { invalid, newId, notFound, TollgateError } from '../shared/index.js';
import type { Store, Tx } from '../store/index.js';
import { type ActivationDeps, activate, release } from './activations.js';
import { auditKey, auditLicence } from './audit.js';
import { generateSigningKey, openPrivateJwk, sealPrivateJwk } from './keys.js';
import {
  checkDeployments,
  type IssueInput,
  keyInfo,
  type LicenceRecord,
  record,
  type SigningKeyInfo,
  validateIssue,
  wholeSeconds,
} from './records.js';
import { deploymentTimeline } from './timeline.js';
import { signLicence } from './token.js';
import type { ActivationResult, DeploymentSegment, LicenceTerms, PublicJwk, PublicKeySet } from './types.js';

export type { IssueInput, LicenceRecord, SigningKeyInfo, SigningKeyStatus } from './records.js';

export interface LicencesOptions {
  store: Store;
  clock: Clock;
  log: Logger;
  /** TOLLGATE_SECRET: seals private signing keys at rest (≥ 32 characters). */
  secret: string;
  /** An activation without a heartbeat for this long stops holding a seat. Default 30 min. */
  heartbeatTtlMs?: number;
}

/** Every write takes `by`, the actor's id (default `system`), for its audit row. */
export interface Licences {
  generateKey(providerId: string, by?: string): Promise<SigningKeyInfo>;
  rotateKey(providerId: string, by?: string): Promise<SigningKeyInfo>;
  retireKey(kid: string, by?: string): Promise<SigningKeyInfo>;
  listKeys(providerId: string): Promise<SigningKeyInfo[]>;
  /** The provider's public keys file: verifying keys plus the ids of revoked licences. */
  jwks(providerId: string): Promise<PublicKeySet>;
  issue(input: IssueInput, by?: string): Promise<LicenceRecord>;
  renew(id: string, validUntil: number, by?: string): Promise<LicenceRecord>;
  setDeployments(id: string, deployments: number, effectiveAt?: number, by?: string): Promise<LicenceRecord>;
  revoke(id: string, by?: string): Promise<LicenceRecord>;
  get(id: string): Promise<LicenceRecord>;
  list(filter?: { providerId?: string; consumerId?: string; productId?: string }): Promise<LicenceRecord[]>;
  activate(input: { token: string; instanceId: string }): Promise<ActivationResult>;
  release(input: { token: string; instanceId: string }): Promise<ActivationResult>;
  deploymentTimeline(licenceId: string, from: number, to: number): Promise<DeploymentSegment[]>;
  readonly heartbeatTtlMs: number;
}

const DEFAULT_TTL = 30 * 60_000;
const SYSTEM_ACTOR = 'system';

export function createLicences(options: LicencesOptions): Licences {
  const { store, clock, log, secret } = options;
  const db = store.db;
  const heartbeatTtlMs = options.heartbeatTtlMs ?? DEFAULT_TTL;

  async function requireProvider(providerId: string, tx: Tx | Store['db'] = db): Promise<void> {
    if (typeof providerId !== 'string' || providerId === '') throw invalid('providerId', 'is required');
    const p = await tx.selectFrom('providers').select('id').where('id', '=', providerId).executeTakeFirst();
    if (!p) throw notFound('provider', providerId);
  }

  async function insertKey(tx: Tx, providerId: string): Promise<SigningKeyInfo> {
    const pair = await generateSigningKey();
    const row = {
      kid: pair.kid,
      provider_id: providerId,
      public_jwk: JSON.stringify(pair.publicJwk),
      private_jwk: sealPrivateJwk(pair.privateJwk, secret, pair.kid),
      status: 'active',
      created_at: clock.now(),
      retired_at: null,
    };
    await tx.insertInto('licence_signing_keys').values(row).execute();
    log.info({ providerId, kid: pair.kid }, 'licence signing key generated');
    return keyInfo(row);
  }

  async function activeKey(tx: Tx, providerId: string): Promise<{ kid: string; privateJwk: JWK }> {
    let row = await tx
      .selectFrom('licence_signing_keys')
      .select(['kid', 'private_jwk'])
      .where('provider_id', '=', providerId)
      .where('status', '=', 'active')
      .executeTakeFirst();
    if (!row) {
      // First licence of a provider: generate its key rather than make the caller do it.
      const info = await insertKey(tx, providerId);
      row = await tx
        .selectFrom('licence_signing_keys')
        .select(['kid', 'private_jwk'])
        .where('kid', '=', info.kid)
        .executeTakeFirstOrThrow();
    }
    return { kid: row.kid, privateJwk: openPrivateJwk(row.private_jwk, secret, row.kid) };
  }

  async function load(id: string, tx: Tx | Store['db'] = db, lock = false): Promise<LicenceRecord> {
    if (typeof id !== 'string' || id === '') throw invalid('id', 'is required');
    let q = tx.selectFrom('licences').selectAll().where('id', '=', id);
    if (lock && store.dialect === 'postgres') q = q.forUpdate();
    const row = await q.executeTakeFirst();
    if (!row) throw notFound('licence', id);
    return record(row);
  }

  /** Re-signs a licence with changed terms and saves it (inside the caller's transaction). */
  async function resign(
    tx: Tx,
    current: LicenceRecord,
    changes: Partial<LicenceTerms>,
  ): Promise<LicenceRecord> {
    const terms: LicenceTerms = { ...current, ...changes };
    const key = await activeKey(tx, current.providerId);
    const now = clock.now();
    const token = await signLicence(terms, key, now);
    await tx
      .updateTable('licences')
      .set({
        deployments: terms.deployments,
        valid_until: terms.validUntil,
        kid: key.kid,
        token,
        updated_at: now,
      })
      .where('id', '=', current.id)
      .execute();
    return { ...current, ...terms, kid: key.kid, token, updatedAt: now };
  }

  const service: Licences = {
    heartbeatTtlMs,

    async generateKey(providerId, by = SYSTEM_ACTOR) {
      await requireProvider(providerId);
      return db.transaction().execute(async (tx) => {
        const existing = await tx
          .selectFrom('licence_signing_keys')
          .select('kid')
          .where('provider_id', '=', providerId)
          .where('status', '=', 'active')
          .executeTakeFirst();
        if (existing) {
          throw new TollgateError(
            'CONFLICT',
            `provider ${providerId} already has an active signing key (${existing.kid}); rotate it instead`,
          );
        }
        const info = await insertKey(tx, providerId);
        await auditKey(tx, clock.now(), by, 'generate', null, info);
        return info;
      });
    },

    async rotateKey(providerId, by = SYSTEM_ACTOR) {
      await requireProvider(providerId);
      return db.transaction().execute(async (tx) => {
        await tx
          .updateTable('licence_signing_keys')
          .set({ status: 'previous' })
          .where('provider_id', '=', providerId)
          .where('status', '=', 'active')
          .execute();
        const info = await insertKey(tx, providerId);
        await auditKey(tx, clock.now(), by, 'rotate', null, info);
        log.info({ providerId, kid: info.kid }, 'licence signing key rotated; previous keys still verify');
        return info;
      });
    },

    async retireKey(kid, by = SYSTEM_ACTOR) {
      const retired = await db.transaction().execute(async (tx) => {
        const row = await tx
          .selectFrom('licence_signing_keys')
          .selectAll()
          .where('kid', '=', kid)
          .executeTakeFirst();
        if (!row) throw notFound('signing key', kid);
        if (row.status === 'active') {
          throw new TollgateError(
            'INVALID_STATE',
            `signing key ${kid} is the active key; rotate before retiring it`,
          );
        }
        const retiredAt = row.retired_at ?? clock.now();
        await tx
          .updateTable('licence_signing_keys')
          .set({ status: 'retired', retired_at: retiredAt })
          .where('kid', '=', kid)
          .execute();
        const after = keyInfo({ ...row, status: 'retired', retired_at: retiredAt });
        await auditKey(tx, clock.now(), by, 'retire', keyInfo(row), after);
        return after;
      });
      log.warn({ kid }, 'licence signing key retired: licences it signed no longer verify');
      return retired;
    },

    async listKeys(providerId) {
      const rows = await db
        .selectFrom('licence_signing_keys')
        .selectAll()
        .where('provider_id', '=', providerId)
        .orderBy('created_at')
        .orderBy('kid')
        .execute();
      return rows.map(keyInfo);
    },

    async jwks(providerId) {
      const keys = await db
        .selectFrom('licence_signing_keys')
        .select('public_jwk')
        .where('provider_id', '=', providerId)
        .where('status', '!=', 'retired')
        .orderBy('created_at', 'desc')
        .execute();
      const revoked = await db
        .selectFrom('licences')
        .select('id')
        .where('provider_id', '=', providerId)
        .where('revoked_at', 'is not', null)
        .orderBy('id')
        .execute();
      return {
        keys: keys.map((k) => JSON.parse(k.public_jwk) as PublicJwk),
        revoked: revoked.map((r) => r.id),
      };
    },

    async issue(input, by = SYSTEM_ACTOR) {
      const now = clock.now();
      const terms = validateIssue(input, now);
      await requireProvider(terms.providerId);
      const consumer = await db
        .selectFrom('consumers')
        .select(['id', 'name'])
        .where('id', '=', terms.licensee.id)
        .executeTakeFirst();
      if (!consumer) throw notFound('consumer', terms.licensee.id);
      terms.licensee.name = consumer.name;
      const issued = await db.transaction().execute(async (tx) => {
        const key = await activeKey(tx, terms.providerId);
        const token = await signLicence(terms, key, now);
        const row = {
          id: terms.id,
          provider_id: terms.providerId,
          product_id: terms.productId,
          consumer_id: terms.licensee.id,
          licensee_name: terms.licensee.name,
          subscription_id: terms.subscriptionId ?? null,
          kid: key.kid,
          deployments: terms.deployments,
          features: JSON.stringify(terms.features),
          limits: JSON.stringify(terms.limits),
          valid_from: terms.validFrom,
          valid_until: terms.validUntil,
          revoked_at: null,
          token,
          created_at: now,
          updated_at: now,
        };
        await tx.insertInto('licences').values(row).execute();
        await tx
          .insertInto('licence_deployment_changes')
          .values({
            id: newId('dep', now),
            licence_id: terms.id,
            effective_at: terms.validFrom,
            deployments: terms.deployments,
            created_at: now,
          })
          .execute();
        const issued = record(row);
        await auditLicence(tx, clock.now(), by, 'issue', null, issued);
        return issued;
      });
      log.info(
        { licenceId: issued.id, providerId: issued.providerId, productId: issued.productId, kid: issued.kid },
        'licence issued',
      );
      return issued;
    },

    async renew(id, validUntil, by = SYSTEM_ACTOR) {
      return db.transaction().execute(async (tx) => {
        const current = await load(id, tx, true);
        if (current.revokedAt !== null) {
          throw new TollgateError('INVALID_STATE', `licence ${id} is revoked and cannot be renewed`);
        }
        const until = wholeSeconds(validUntil, 'validUntil');
        if (until <= current.validFrom)
          throw invalid('validUntil', 'must be after the licence start (validFrom)');
        const renewed = await resign(tx, current, { validUntil: until });
        await auditLicence(tx, clock.now(), by, 'renew', current, renewed);
        log.info({ licenceId: id, validUntil: until }, 'licence renewed');
        return renewed;
      });
    },

    async setDeployments(id, deployments, effectiveAt, by = SYSTEM_ACTOR) {
      checkDeployments(deployments);
      const now = clock.now();
      const at = effectiveAt ?? now;
      if (!Number.isSafeInteger(at) || at < 0) throw invalid('effectiveAt', 'must be a time in ms');
      return db.transaction().execute(async (tx) => {
        const current = await load(id, tx, true);
        if (current.revokedAt !== null) {
          throw new TollgateError('INVALID_STATE', `licence ${id} is revoked; its deployments cannot change`);
        }
        const latest = await tx
          .selectFrom('licence_deployment_changes')
          .select('effective_at')
          .where('licence_id', '=', id)
          .orderBy('effective_at', 'desc')
          .executeTakeFirst();
        if (latest && at < latest.effective_at) {
          throw invalid('effectiveAt', 'must not be before the latest recorded deployment change');
        }
        await tx
          .insertInto('licence_deployment_changes')
          .values({ id: newId('dep', now), licence_id: id, effective_at: at, deployments, created_at: now })
          .execute();
        const changed = await resign(tx, current, { deployments });
        await auditLicence(tx, clock.now(), by, 'set_deployments', current, changed, { effectiveAt: at });
        log.info({ licenceId: id, deployments, effectiveAt: at }, 'licence deployments changed');
        return changed;
      });
    },

    async revoke(id, by = SYSTEM_ACTOR) {
      return db.transaction().execute(async (tx) => {
        const current = await load(id, tx, true);
        if (current.revokedAt !== null) return current;
        const now = clock.now();
        await tx
          .updateTable('licences')
          .set({ revoked_at: now, updated_at: now })
          .where('id', '=', id)
          .execute();
        const revoked = { ...current, revokedAt: now, updatedAt: now };
        await auditLicence(tx, clock.now(), by, 'revoke', current, revoked);
        log.warn({ licenceId: id }, 'licence revoked');
        return revoked;
      });
    },

    get: (id) => load(id),

    async list(filter = {}) {
      let q = db.selectFrom('licences').selectAll();
      if (filter.providerId) q = q.where('provider_id', '=', filter.providerId);
      if (filter.consumerId) q = q.where('consumer_id', '=', filter.consumerId);
      if (filter.productId) q = q.where('product_id', '=', filter.productId);
      return (await q.orderBy('id').execute()).map(record);
    },

    activate: (input) => activate(deps, input),
    release: (input) => release(deps, input),

    async deploymentTimeline(licenceId, from, to) {
      if (!Number.isFinite(from) || !Number.isFinite(to) || from > to) {
        throw invalid('to', 'the window must have from <= to (ms)');
      }
      const licence = await load(licenceId);
      const changes = await db
        .selectFrom('licence_deployment_changes')
        .select(['effective_at', 'deployments'])
        .where('licence_id', '=', licenceId)
        .orderBy('effective_at')
        .orderBy('id')
        .execute();
      return deploymentTimeline(
        changes.map((c) => ({ effectiveAt: c.effective_at, deployments: c.deployments })),
        licence,
        from,
        to,
      );
    },
  };

  const deps: ActivationDeps = { store, clock, log, heartbeatTtlMs, jwks: (p) => service.jwks(p), load };
  return service;
}
