/**
 * Billing's per-deployment quantities from wholesale licences: the `DeploymentSource`
 * adapter for `billing.setDeploymentSource`.
 *
 * A licence names the subscription it bills (`licences.subscription_id`). For a billed
 * window the source asks each such licence for its deployment timeline (licensed count over
 * time, clipped to validity and revocation: src/licences/timeline.ts) and adds them up
 * where they overlap, so a subscription holding two licences is billed for both. The
 * timeline is the same for every per_deployment dimension of the price (a licence has one
 * deployment count). A subscription without licences yields [] (nothing billed).
 */
import type { Licences } from '../../licences/index.js';
import type { Store } from '../../store/index.js';
import type { DeploymentSource, DeploymentSpan } from '../index.js';

export function deploymentSourceFromLicences(licences: Licences, store: Store): DeploymentSource {
  return async ({ subscriptionId, from, to }) => {
    const rows = await store.db
      .selectFrom('licences')
      .select('id')
      .where('subscription_id', '=', subscriptionId)
      .orderBy('id')
      .execute();
    const timelines = await Promise.all(rows.map((r) => licences.deploymentTimeline(r.id, from, to)));
    return sumSpans(timelines.flat());
  };
}

/** Adds overlapping spans: a sweep over every boundary, equal neighbours merged, zeros left out. */
export function sumSpans(spans: readonly DeploymentSpan[]): DeploymentSpan[] {
  const cuts = [...new Set(spans.flatMap((s) => [s.from, s.to]))].sort((a, b) => a - b);
  const out: DeploymentSpan[] = [];
  for (let i = 0; i + 1 < cuts.length; i++) {
    const from = cuts[i]!;
    const to = cuts[i + 1]!;
    let quantity = 0;
    for (const s of spans) if (s.from <= from && s.to >= to) quantity += s.quantity;
    if (quantity === 0) continue;
    const prev = out[out.length - 1];
    if (prev && prev.to === from && prev.quantity === quantity) prev.to = to;
    else out.push({ from, to, quantity });
  }
  return out;
}
