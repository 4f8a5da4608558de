/**
 * Seeding the gateway's quota counters from stored usage. A counter is keyed by its window
 * start; a window the limits backend has not counted yet (a process start, a quota added to
 * a plan, a period or time zone changed mid-window, a key moved to another plan) begins at
 * 0 there although the subscription has already spent part of it. Seeding raises the
 * counter to the stored "used" of the window (status.ts's rule) and never lowers it: on
 * Redis another node may already have counted further.
 */
import type { LimitsBackend } from '../limits/index.js';
import type { Db } from '../store/index.js';
import { usedInWindow } from './status.js';

export interface CounterWindow {
  subscriptionId: string;
  /** The limits backend's quota key (`q:<subscription id>`). */
  key: string;
  windowStart: number;
  windowEnd: number;
}

/** Raises one counter to the stored usage of its window; true when anything was stored. */
export async function seedQuotaCounter(db: Db, limits: LimitsBackend, c: CounterWindow): Promise<boolean> {
  const used = await usedInWindow(db, c.subscriptionId, { start: c.windowStart, end: c.windowEnd });
  if (used <= 0) return false;
  if (limits.seedQuotaUsed) await limits.seedQuotaUsed(c.key, c.windowStart, c.windowEnd, used);
  else await limits.setQuotaUsed(c.key, c.windowStart, c.windowEnd, used);
  return true;
}
