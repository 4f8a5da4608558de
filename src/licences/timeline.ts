/**
 * Licensed deployments over time, from the history of deployment-count changes.
 *
 * The count in force at instant t is the latest change with `effective_at <= t`, and only
 * while the licence is in force: from `validFrom` until the earlier of `validUntil` and
 * `revokedAt`. Segments are half-open [from, to), clipped to the asked window, adjacent
 * segments of equal quantity are merged, and zero-quantity stretches are left out — so a
 * flat fee per deployment per period prorates as Σ quantity × (to − from) / period length.
 */
import type { DeploymentSegment } from './types.js';

export interface DeploymentChange {
  effectiveAt: number;
  deployments: number;
}

export function deploymentTimeline(
  changes: readonly DeploymentChange[],
  validity: { validFrom: number; validUntil: number; revokedAt: number | null },
  from: number,
  to: number,
): DeploymentSegment[] {
  const start = Math.max(from, validity.validFrom);
  const end = Math.min(to, validity.validUntil, validity.revokedAt ?? Number.POSITIVE_INFINITY);
  if (!(start < end)) return [];
  const sorted = [...changes].sort((a, b) => a.effectiveAt - b.effectiveAt);
  const out: DeploymentSegment[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const c = sorted[i]!;
    const next = sorted[i + 1]?.effectiveAt ?? Number.POSITIVE_INFINITY;
    const segFrom = Math.max(c.effectiveAt, start);
    const segTo = Math.min(next, end);
    if (!(segFrom < segTo) || c.deployments <= 0) continue;
    const prev = out[out.length - 1];
    if (prev && prev.to === segFrom && prev.quantity === c.deployments) prev.to = segTo;
    else out.push({ from: segFrom, to: segTo, quantity: c.deployments });
  }
  return out;
}
