/**
 * Seat checks: a running deployment activates its licence with the provider and repeats
 * the call as a heartbeat. A seat is held by an activation that is not released and whose
 * last heartbeat is younger than the TTL; a licence allowing N deployments admits at most N
 * such instances. The same instance activating again only refreshes its heartbeat.
 *
 * Concurrency: the count and the insert happen in one transaction that first locks the
 * licence row (`SELECT … FOR UPDATE` on PostgreSQL; SQLite runs one write transaction at a
 * time on its single connection), so two instances racing for the last seat cannot both win.
 *
 * What is checked here is what a deployment cannot check offline: revocation and seats.
 * Validity dates are the deployment's own LicenceGuard's job (it applies the grace period),
 * so an expired but signed token still activates; the answer carries the current token,
 * which is newer than the caller's after a renewal.
 */
import type { Clock, Logger } from '../shared/index.js';
import { isTollgateError } from '../shared/index.js';
import type { Store, Tx } from '../store/index.js';
import type { LicenceRecord } from './service.js';
import { peekLicence, verifyLicence } from './token.js';
import type { ActivationDenialCode, ActivationResult, PublicKeySet } from './types.js';

export interface ActivationDeps {
  store: Store;
  clock: Clock;
  log: Logger;
  heartbeatTtlMs: number;
  jwks(providerId: string): Promise<PublicKeySet>;
  load(id: string, tx: Tx, lock: boolean): Promise<LicenceRecord>;
}

const INSTANCE_ID = /^[\x21-\x7e]{1,200}$/;

const deny = (code: ActivationDenialCode, message: string): ActivationResult => ({
  ok: false,
  code,
  message,
});

/** Checks the body and the token's signature; returns the licence id or a denial. */
async function authenticate(
  deps: ActivationDeps,
  input: { token: string; instanceId: string },
): Promise<{ licenceId: string; instanceId: string } | ActivationResult> {
  if (!input || typeof input.token !== 'string' || input.token.trim() === '') {
    return deny('MALFORMED', 'token: the licence text is required');
  }
  if (typeof input.instanceId !== 'string' || !INSTANCE_ID.test(input.instanceId)) {
    return deny('MALFORMED', 'instanceId: 1 to 200 printable characters without spaces are required');
  }
  const peek = peekLicence(input.token);
  if (!peek) return deny('MALFORMED', 'token: not a licence token');
  const keys = await deps.jwks(peek.providerId);
  const verdict = await verifyLicence(input.token, keys, { nowMs: deps.clock.now() });
  if (
    !verdict.ok &&
    (verdict.code === 'MALFORMED' || verdict.code === 'TAMPERED' || verdict.code === 'UNKNOWN_KEY')
  ) {
    return deny(verdict.code, verdict.message);
  }
  return { licenceId: peek.licenceId, instanceId: input.instanceId };
}

async function loadOrDeny(
  deps: ActivationDeps,
  tx: Tx,
  id: string,
): Promise<LicenceRecord | ActivationResult> {
  try {
    return await deps.load(id, tx, true);
  } catch (e) {
    if (isTollgateError(e) && e.code === 'NOT_FOUND') {
      return deny('UNKNOWN_LICENCE', `licence ${id} is not known to this provider`);
    }
    throw e;
  }
}

export async function activate(
  deps: ActivationDeps,
  input: { token: string; instanceId: string },
): Promise<ActivationResult> {
  const who = await authenticate(deps, input);
  if ('ok' in who) return who;
  const { licenceId, instanceId } = who;
  const now = deps.clock.now();
  const liveSince = now - deps.heartbeatTtlMs;
  const result = await deps.store.db.transaction().execute(async (tx): Promise<ActivationResult> => {
    const licence = await loadOrDeny(deps, tx, licenceId);
    if ('ok' in licence) return licence;
    if (licence.revokedAt !== null) {
      return deny(
        'REVOKED',
        `The licence ${licence.id} for ${licence.licensee.name} was revoked by the provider on ${new Date(licence.revokedAt).toISOString()}. Contact the provider for a new licence.`,
      );
    }
    const live = await tx
      .selectFrom('licence_activations')
      .select(['instance_id'])
      .where('licence_id', '=', licenceId)
      .where('released_at', 'is', null)
      .where('last_seen', '>=', liveSince)
      .orderBy('first_seen')
      .execute();
    const mine = live.some((a) => a.instance_id === instanceId);
    if (!mine && live.length >= licence.deployments) {
      const ttlMin = Math.round(deps.heartbeatTtlMs / 60_000);
      return deny(
        'SEATS_EXHAUSTED',
        `All ${licence.deployments} deployment(s) of licence ${licence.id} are in use (instances: ${live.map((a) => a.instance_id).join(', ')}). Release one, wait until one stops sending heartbeats (${ttlMin} min), or buy more deployments.`,
      );
    }
    const existing = await tx
      .selectFrom('licence_activations')
      .select('first_seen')
      .where('licence_id', '=', licenceId)
      .where('instance_id', '=', instanceId)
      .executeTakeFirst();
    if (existing) {
      await tx
        .updateTable('licence_activations')
        .set({ last_seen: now, released_at: null })
        .where('licence_id', '=', licenceId)
        .where('instance_id', '=', instanceId)
        .execute();
    } else {
      await tx
        .insertInto('licence_activations')
        .values({
          licence_id: licenceId,
          instance_id: instanceId,
          first_seen: now,
          last_seen: now,
          released_at: null,
        })
        .execute();
    }
    return {
      ok: true,
      licenceId,
      instanceId,
      deployments: licence.deployments,
      inUse: mine ? live.length : live.length + 1,
      heartbeatTtlMs: deps.heartbeatTtlMs,
      validUntil: licence.validUntil,
      token: licence.token,
    };
  });
  if (result.ok) deps.log.debug({ licenceId, instanceId, inUse: result.inUse }, 'licence activation');
  else
    deps.log.info(
      { licenceId, instanceId, code: result.code },
      `licence activation refused: ${result.message}`,
    );
  return result;
}

/** Gives a seat back (a deployment shutting down). Idempotent. */
export async function release(
  deps: ActivationDeps,
  input: { token: string; instanceId: string },
): Promise<ActivationResult> {
  const who = await authenticate(deps, input);
  if ('ok' in who) return who;
  const { licenceId, instanceId } = who;
  const now = deps.clock.now();
  return deps.store.db.transaction().execute(async (tx): Promise<ActivationResult> => {
    const licence = await loadOrDeny(deps, tx, licenceId);
    if ('ok' in licence) return licence;
    await tx
      .updateTable('licence_activations')
      .set({ released_at: now })
      .where('licence_id', '=', licenceId)
      .where('instance_id', '=', instanceId)
      .where('released_at', 'is', null)
      .execute();
    const live = await tx
      .selectFrom('licence_activations')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('licence_id', '=', licenceId)
      .where('released_at', 'is', null)
      .where('last_seen', '>=', now - deps.heartbeatTtlMs)
      .executeTakeFirstOrThrow();
    return {
      ok: true,
      licenceId,
      instanceId,
      deployments: licence.deployments,
      inUse: Number(live.n),
      heartbeatTtlMs: deps.heartbeatTtlMs,
      validUntil: licence.validUntil,
      token: licence.token,
    };
  });
}
