/**
 * Quota adjustments: grant or take back what a subscription may still spend in its CURRENT
 * quota window (API Gateway's UpdateUsage). Stored as a delta in quota_adjustments keyed by
 * the window start that src/limits computes — the key the gateway adds to the plan's limit.
 * `{ remaining: n }` becomes the delta that leaves exactly n requests given what was used
 * (status.ts: stored usage, or the gateway's live count when higher).
 *
 * Runs inside the caller's transaction; the caller writes the audit row beside it and
 * tells the gateway (the catalog does both).
 */
import { invalid } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import type { Tx } from '../store/index.js';
import { limitOf, loadSubscriptionQuota, type QuotaDeps, type QuotaStatus, quotaStatus } from './status.js';

export interface QuotaAdjustInput {
  /** Added to the window's limit: positive grants, negative takes back. */
  delta?: number | undefined;
  /** What should remain in the window afterwards. */
  remaining?: number | undefined;
  reason: string;
  /** Who, for the record (an admin token id, `system`…). */
  actor: string;
}

export interface QuotaAdjustResult {
  before: QuotaStatus;
  after: QuotaStatus;
  /** 0 when nothing had to change (no row written). */
  delta: number;
  adjustmentId: string | null;
}

export async function adjustQuota(
  deps: QuotaDeps,
  tx: Tx,
  subscriptionId: string,
  input: QuotaAdjustInput,
): Promise<QuotaAdjustResult> {
  const now = deps.clock.now();
  const before = await quotaStatus(deps, subscriptionId, now, tx);
  const w = before.window;
  if (!w || before.limit === null)
    throw invalid('subscriptionId', 'the plan of this subscription has no quota');
  let delta = input.delta ?? 0;
  if (input.remaining !== undefined) {
    // The limit before clamping at 0 is base + adjusted; wanted: base + adjusted + delta - used = remaining.
    const sub = await loadSubscriptionQuota(tx, subscriptionId);
    const base = limitOf(sub, w, sub.started_at, 0);
    delta = input.remaining + before.used - (base + before.adjusted);
  }
  if (!Number.isSafeInteger(delta)) throw invalid('delta', 'must be an integer');
  if (delta === 0) return { before, after: before, delta: 0, adjustmentId: null };
  const id = newId('adj', now);
  await tx
    .insertInto('quota_adjustments')
    .values({
      id,
      subscription_id: subscriptionId,
      window_start: w.start,
      delta,
      reason: input.reason,
      actor: input.actor,
      created_at: now,
    })
    .execute();
  const after = await quotaStatus(deps, subscriptionId, now, tx);
  return { before, after, delta, adjustmentId: id };
}
