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
import { type LimitsBackend, quotaWindow } from '../limits/index.js';
import { seedQuotaCounter } from '../quota/index.js';
import type { Store } from '../store/index.js';
import { allEntries, type CompiledPlan, type KeyEntry, type Snapshot } from './snapshot.js';

export async function seedQuotas(
  store: Store,
  snapshot: Snapshot,
  limits: LimitsBackend,
  now: number,
): Promise<number> {
  return seedWhere(store, allEntries(snapshot.keys.values()), limits, now, () => true);
}

/**
 * Seeds the windows of the `after` entries that the `before` entries (the ones they
 * replace) did not have at `now`; returns how many were seeded. `beforeSeed` (flush the
 * meter) runs once, and only when there is a new window.
 */
export async function reseedChanged(
  store: Store,
  before: Iterable<KeyEntry>,
  after: Iterable<KeyEntry>,
  limits: LimitsBackend,
  now: number,
  beforeSeed: () => Promise<void> = async () => {},
): Promise<number> {
  const windows = windowsAt(now);
  const starts = (entries: Iterable<KeyEntry>) => {
    const m = new Map<string, number>();
    for (const key of entries) {
      const w = windows(key.plan);
      if (w) m.set(key.subscriptionId, w.start);
    }
    return m;
  };
  const was = starts(before);
  const fresh = new Set<string>();
  const next: KeyEntry[] = [];
  for (const key of after) {
    next.push(key);
    const w = windows(key.plan);
    if (w && was.get(key.subscriptionId) !== w.start) fresh.add(key.subscriptionId);
  }
  if (fresh.size === 0) return 0;
  await beforeSeed();
  return seedWhere(store, next, limits, now, (sub) => fresh.has(sub));
}

/** The quota window of a plan at `now`, computed once per plan (time zones cost). */
function windowsAt(now: number): (plan: CompiledPlan) => { start: number; end: number } | null {
  const cache = new Map<CompiledPlan, { start: number; end: number } | null>();
  return (plan) => {
    let w = cache.get(plan);
    if (w === undefined) {
      w = plan.quota ? quotaWindow(plan.quota.period, plan.quota.timeZone, now) : null;
      cache.set(plan, w);
    }
    return w;
  };
}

async function seedWhere(
  store: Store,
  entries: Iterable<KeyEntry>,
  limits: LimitsBackend,
  now: number,
  wanted: (subscriptionId: string) => boolean,
): Promise<number> {
  const windows = windowsAt(now);
  const seen = new Set<string>();
  let seeded = 0;
  for (const key of entries) {
    if (seen.has(key.subscriptionId)) continue;
    seen.add(key.subscriptionId);
    const w = windows(key.plan);
    if (!w || !wanted(key.subscriptionId)) continue;
    const counter = {
      subscriptionId: key.subscriptionId,
      key: `q:${key.subscriptionId}`,
      windowStart: w.start,
      windowEnd: w.end,
    };
    if (await seedQuotaCounter(store.db, limits, counter)) seeded++;
  }
  return seeded;
}
