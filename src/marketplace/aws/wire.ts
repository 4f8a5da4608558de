/** Wire shapes and input checks of the metering operations (service model constraints). */
import { AwsError, validationError } from './errors.js';

export const MAX_QUANTITY = 2147483647;

/** The SigV4 signing service of AWS Marketplace's APIs (and Tollgate's notifications). */
export const MARKETPLACE_SIGNING_SERVICE = 'aws-marketplace';

export interface UsageAllocation {
  AllocatedUsageQuantity: number;
  Tags?: { Key: string; Value: string }[];
}

export interface WireUsageRecord {
  Timestamp: number;
  CustomerIdentifier?: string;
  CustomerAWSAccountId?: string;
  LicenseArn?: string;
  Dimension: string;
  Quantity?: number;
  UsageAllocations?: UsageAllocation[];
}

export type Json = Record<string, unknown>;

export const str = (v: unknown): v is string => typeof v === 'string';

export function asRecord(v: unknown, i: number): WireUsageRecord {
  const r = (v ?? {}) as Json;
  const f = `usageRecords.${i + 1}.member`;
  if (typeof r.Timestamp !== 'number' || !Number.isFinite(r.Timestamp)) {
    throw validationError(`${f}.timestamp`, 'null', 'Member must not be null');
  }
  if (!str(r.Dimension) || r.Dimension.length < 1 || r.Dimension.length > 255) {
    throw validationError(
      `${f}.dimension`,
      String(r.Dimension ?? 'null'),
      'Member must have length between 1 and 255',
    );
  }
  const q = r.Quantity ?? 0;
  if (typeof q !== 'number' || !Number.isInteger(q) || q < 0 || q > MAX_QUANTITY) {
    throw validationError(`${f}.quantity`, String(q), `Member must have value between 0 and ${MAX_QUANTITY}`);
  }
  for (const k of ['CustomerIdentifier', 'CustomerAWSAccountId', 'LicenseArn'] as const) {
    if (r[k] !== undefined && !str(r[k]))
      throw validationError(`${f}.${k}`, String(r[k]), 'Member must be a string');
  }
  if (r.UsageAllocations !== undefined && !Array.isArray(r.UsageAllocations)) {
    throw validationError(`${f}.usageAllocations`, String(r.UsageAllocations), 'Member must be a list');
  }
  return r as unknown as WireUsageRecord;
}

export function checkAllocations(rec: WireUsageRecord): void {
  const a = rec.UsageAllocations;
  if (!a) return;
  if (a.length < 1 || a.length > 2500)
    throw new AwsError('InvalidUsageAllocationsException', 'UsageAllocations must have 1 to 2500 entries.');
  let sum = 0;
  for (const x of a) {
    if (!Number.isInteger(x?.AllocatedUsageQuantity) || x.AllocatedUsageQuantity < 0) {
      throw new AwsError(
        'InvalidUsageAllocationsException',
        'AllocatedUsageQuantity must be a non-negative integer.',
      );
    }
    sum += x.AllocatedUsageQuantity;
    for (const t of x.Tags ?? []) {
      if (
        !str(t?.Key) ||
        !str(t?.Value) ||
        t.Key.length < 1 ||
        t.Key.length > 100 ||
        t.Value.length < 1 ||
        t.Value.length > 256
      ) {
        throw new AwsError('InvalidTagException', 'Tag keys must be 1–100 and values 1–256 characters.');
      }
    }
  }
  if (sum !== (rec.Quantity ?? 0)) {
    throw new AwsError(
      'InvalidUsageAllocationsException',
      'The sum of AllocatedUsageQuantity must equal the Quantity.',
    );
  }
}

export const WINDOW_MS = 6 * 3600_000;
/**
 * How far ahead of this server's clock a record may be stamped: the sender's clock may run
 * a little fast. Five minutes, the skew SigV4 itself tolerates (AWS documents no figure).
 */
export const FUTURE_TOLERANCE_MS = 5 * 60_000;
export const HOUR_MS = 3600_000;
export const SUBSCRIBED = ['trialing', 'active', 'cancel_pending'];
