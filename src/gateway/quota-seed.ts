/**
 * Keeps the gateway's quota counters true to stored usage (src/quota seedQuotaCounter):
 *
 * - at start-up an in-process limits backend knows nothing; without a seed a restart would
 *   hand every subscriber a fresh quota;
 * - when a snapshot reload gives a subscription a quota window the old snapshot did not
 *   have at the same instant — a quota added to its plan, the period or time zone changed,
 *   the key moved to another plan — the backend's counter for that window starts at 0
 *   though the subscription has already spent part of it. `reseedChanged` seeds those
 *   windows before the new snapshot goes live, so the first call under the new rule is
 *   counted after what was used (the caller flushes the meter first, so "stored" is
 *   everything served).
 */
import type { LimitsBackend } from '../limits/index.js';
import { seedQuotaCounter } from '../quota/index.js';
import type { Store } from '../store/index.js';
import type { Snapshot } from './snapshot.js';
import { quotaRuleFor } from './steps/admit.js';

export async function seedQuotas(
  store: Store,
  snapshot: Snapshot,
  limits: LimitsBackend,
  now: number,
): Promise<number> {
  return seedWhere(store, snapshot, limits, now, () => true);
}

/**
 * Seeds the windows of `next` that `prev` did not have at `now`; returns how many were
 * seeded. `beforeSeed` (flush the meter) runs once, and only when there is a new window.
 */
export async function reseedChanged(
  store: Store,
  prev: Snapshot,
  next: Snapshot,
  limits: LimitsBackend,
  now: number,
  beforeSeed: () => Promise<void> = async () => {},
): Promise<number> {
  const windowOf = (snapshot: Snapshot) => {
    const m = new Map<string, number>();
    for (const key of snapshot.keys.values()) {
      const rule = quotaRuleFor(snapshot, key, now);
      if (rule) m.set(key.subscriptionId, rule.windowStart);
    }
    return m;
  };
  const before = windowOf(prev);
  const fresh = new Set<string>();
  for (const [sub, start] of windowOf(next)) if (before.get(sub) !== start) fresh.add(sub);
  if (fresh.size === 0) return 0;
  await beforeSeed();
  return seedWhere(store, next, limits, now, (sub) => fresh.has(sub));
}

async function seedWhere(
  store: Store,
  snapshot: Snapshot,
  limits: LimitsBackend,
  now: number,
  wanted: (subscriptionId: string, windowStart: number) => boolean,
): Promise<number> {
  const seen = new Set<string>();
  let seeded = 0;
  for (const key of snapshot.keys.values()) {
    if (seen.has(key.subscriptionId)) continue;
    seen.add(key.subscriptionId);
    const rule = quotaRuleFor(snapshot, key, now);
    if (!rule || !wanted(key.subscriptionId, rule.windowStart)) continue;
    const counter = { subscriptionId: key.subscriptionId, ...rule };
    if (await seedQuotaCounter(store.db, limits, counter)) seeded++;
  }
  return seeded;
}
