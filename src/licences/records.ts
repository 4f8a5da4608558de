/**
 * Licence and signing-key records: row ↔ value mapping and input validation for the
 * provider-side service (service.ts). Validation throws `invalid(field, …)` (a 400 naming
 * the field); times are whole seconds in ms, because JWT NumericDate is whole seconds.
 */
import { invalid, newId } from '../shared/index.js';
import { parseJson } from '../store/index.js';
import type { LicenceLimits, LicenceTerms, PublicJwk } from './types.js';

export const MAX_DEPLOYMENTS = 1_000_000;

export type SigningKeyStatus = 'active' | 'previous' | 'retired';

export interface SigningKeyInfo {
  kid: string;
  providerId: string;
  status: SigningKeyStatus;
  publicJwk: PublicJwk;
  createdAt: number;
  retiredAt: number | null;
}

export interface LicenceRecord extends LicenceTerms {
  kid: string;
  revokedAt: number | null;
  /** The current licence file's text. */
  token: string;
  createdAt: number;
  updatedAt: number;
}

export interface IssueInput {
  providerId: string;
  productId: string;
  consumerId: string;
  subscriptionId?: string | null;
  deployments: number;
  features?: string[];
  limits: LicenceLimits;
  /** Default: now. */
  validFrom?: number;
  validUntil: number;
}

export const keyInfo = (r: {
  kid: string;
  provider_id: string;
  status: string;
  public_jwk: string;
  created_at: number;
  retired_at: number | null;
}): SigningKeyInfo => ({
  kid: r.kid,
  providerId: r.provider_id,
  status: r.status as SigningKeyStatus,
  publicJwk: JSON.parse(r.public_jwk) as PublicJwk,
  createdAt: r.created_at,
  retiredAt: r.retired_at,
});

export const record = (r: {
  id: string;
  provider_id: string;
  product_id: string;
  consumer_id: string;
  licensee_name: string;
  subscription_id: string | null;
  kid: string;
  deployments: number;
  features: string;
  limits: string;
  valid_from: number;
  valid_until: number;
  revoked_at: number | null;
  token: string;
  created_at: number;
  updated_at: number;
}): LicenceRecord => ({
  id: r.id,
  providerId: r.provider_id,
  productId: r.product_id,
  licensee: { id: r.consumer_id, name: r.licensee_name },
  subscriptionId: r.subscription_id,
  deployments: r.deployments,
  features: parseJson<string[]>(r.features, []),
  limits: parseJson<LicenceLimits>(r.limits, { rateLimit: 1 }),
  validFrom: r.valid_from,
  validUntil: r.valid_until,
  kid: r.kid,
  revokedAt: r.revoked_at,
  token: r.token,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export function wholeSeconds(ms: unknown, field: string): number {
  if (typeof ms !== 'number' || !Number.isSafeInteger(ms) || ms < 0)
    throw invalid(field, 'must be a time in ms');
  // JWT NumericDate is whole seconds: store what the token says, so the two never disagree.
  return Math.floor(ms / 1000) * 1000;
}

export function checkDeployments(n: unknown): asserts n is number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_DEPLOYMENTS) {
    throw invalid('deployments', `must be an integer from 1 to ${MAX_DEPLOYMENTS}`);
  }
}

export function validateIssue(input: IssueInput, now: number): LicenceTerms {
  const need = (v: unknown, field: string) => {
    if (typeof v !== 'string' || v.trim() === '') throw invalid(field, 'is required');
    return v;
  };
  need(input?.providerId, 'providerId');
  need(input.productId, 'productId');
  need(input.consumerId, 'consumerId');
  if (input.subscriptionId != null) need(input.subscriptionId, 'subscriptionId');
  checkDeployments(input.deployments);
  const features = input.features ?? [];
  if (!Array.isArray(features) || features.some((f) => typeof f !== 'string' || f === '')) {
    throw invalid('features', 'must be a list of non-empty strings');
  }
  const limits = input.limits;
  if (!limits || typeof limits.rateLimit !== 'number' || !(limits.rateLimit > 0)) {
    throw invalid('limits.rateLimit', 'must be a positive number of requests per second');
  }
  if (
    limits.burstLimit !== undefined &&
    (!Number.isInteger(limits.burstLimit) || (limits.burstLimit as number) < 1)
  ) {
    throw invalid('limits.burstLimit', 'must be a positive integer');
  }
  const validFrom = wholeSeconds(input.validFrom ?? now, 'validFrom');
  const validUntil = wholeSeconds(input.validUntil, 'validUntil');
  if (validUntil <= validFrom) throw invalid('validUntil', 'must be after validFrom');
  return {
    id: newId('lic', now),
    providerId: input.providerId,
    productId: input.productId,
    licensee: { id: input.consumerId, name: '' },
    subscriptionId: input.subscriptionId ?? null,
    deployments: input.deployments,
    features: [...new Set(features)],
    limits: limits.burstLimit === undefined ? { rateLimit: limits.rateLimit } : { ...limits },
    validFrom,
    validUntil,
  };
}
