/**
 * Licence admin writes in the audit log (the catalog's `audit_log`, through its one writer):
 * who issued, renewed, re-sized or revoked a licence, or generated, rotated or retired a
 * signing key, with the terms before and after. Called inside the write's transaction, so
 * the row commits or rolls back with the change. Never the licence file or a private key.
 */
import { recordAudit } from '../catalog/index.js';
import type { Tx } from '../store/index.js';
import type { LicenceRecord, SigningKeyInfo } from './records.js';

/** A licence as the audit log keeps it: its terms, not the licence file itself. */
const audited = ({ token: _token, ...terms }: LicenceRecord) => terms;

export function auditLicence(
  tx: Tx,
  at: number,
  by: string,
  action: 'issue' | 'renew' | 'set_deployments' | 'revoke',
  before: LicenceRecord | null,
  after: LicenceRecord,
  extra: Record<string, unknown> = {},
): Promise<void> {
  return recordAudit(tx, at, by, {
    action,
    entity: 'licence',
    entityId: after.id,
    providerId: after.providerId,
    before: before && audited(before),
    after: { ...audited(after), ...extra },
  });
}

export function auditKey(
  tx: Tx,
  at: number,
  by: string,
  action: 'generate' | 'rotate' | 'retire',
  before: SigningKeyInfo | null,
  after: SigningKeyInfo,
): Promise<void> {
  return recordAudit(tx, at, by, {
    action,
    entity: 'signing_key',
    entityId: after.kid,
    providerId: after.providerId,
    before,
    after,
  });
}
