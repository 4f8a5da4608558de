/**
 * At start-up an in-process limits backend knows nothing; without this a restart would hand
 * every subscriber a fresh quota (a complaint peers' users keep filing). The counters are
 * seeded from the store's hourly usage: requests counted since the start of each
 * subscription's current window. Usage hours are UTC hours, so for a zone with a
 * non-whole-hour offset (e.g. Asia/Kolkata) the hour straddling the window start is
 * counted whole — the seed can only err towards the subscriber having used more.
 */
import type { LimitsBackend } from '../limits/index.js';
import type { Store } from '../store/index.js';
import type { Snapshot } from './snapshot.js';
import { quotaRuleFor } from './steps/admit.js';

const HOUR = 3_600_000;

export async function seedQuotas(
  store: Store,
  snapshot: Snapshot,
  limits: LimitsBackend,
  now: number,
): Promise<number> {
  const seen = new Set<string>();
  let seeded = 0;
  for (const key of snapshot.keys.values()) {
    if (seen.has(key.subscriptionId)) continue;
    seen.add(key.subscriptionId);
    const rule = quotaRuleFor(snapshot, key, now);
    if (!rule) continue;
    const row = await store.db
      .selectFrom('usage')
      .select((eb) => eb.fn.sum<number>('requests').as('n'))
      .where('subscription_id', '=', key.subscriptionId)
      .where('hour', '>=', Math.floor(rule.windowStart / HOUR) * HOUR)
      .where('hour', '<', rule.windowEnd)
      .executeTakeFirst();
    const used = Number(row?.n ?? 0);
    if (used > 0) {
      // Raise, never lower: another process may already have counted further.
      if (limits.seedQuotaUsed) await limits.seedQuotaUsed(rule.key, rule.windowStart, rule.windowEnd, used);
      else await limits.setQuotaUsed(rule.key, rule.windowStart, rule.windowEnd, used);
      seeded++;
    }
  }
  return seeded;
}
