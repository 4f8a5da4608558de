/**
 * Quota: one module for a subscription's calendar quota window seen from the store —
 * status (limit, used, remaining), the one "used" rule, adjustments, and seeding the
 * gateway's counters. The windows themselves and the limit arithmetic are src/limits'
 * (what the gateway enforces); this module adds the stored usage and adjustments.
 */
export { adjustQuota, type QuotaAdjustInput, type QuotaAdjustResult } from './adjust.js';
export { type CounterWindow, seedQuotaCounter } from './seed.js';
export {
  adjustmentsFor,
  defaultQuotaWindow,
  limitOf,
  loadSubscriptionQuota,
  type PlanQuota,
  type QuotaDeps,
  type QuotaStatus,
  type QuotaWindowFn,
  quotaStatus,
  quotaStatuses,
  usedInWindow,
  type Window,
  windowFor,
  windowHours,
} from './status.js';
