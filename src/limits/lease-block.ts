/**
 * The local blocks of LeasedLimits (leased.ts): how requests are grouped into shapes, when a
 * block leased for one request may serve another, and how a unit is served from a block.
 */
import type { Settle } from './lease-io.js';
import type { AdmitRequest, Decision, QuotaRule } from './types.js';

export interface Block {
  id: string;
  left: number;
  /** Quota ordinal of the next unit handed out. */
  next: number;
  /** Whole tokens left in the tightest bucket after the lease (Infinity: no throttles). */
  minWhole: number;
  expiresAt: number;
  rules: AdmitRequest;
}

/** Throttle keys, then the quota key and window: requests of one shape lease together. */
export function shapeKey(req: AdmitRequest): string {
  let k = '';
  const t = req.throttles;
  for (let i = 0; i < t.length; i++) k += `${t[i]!.key}\u0001`;
  const q = req.quota;
  return q === undefined ? k : `${k}\u0002${q.key}\u0001${q.windowStart}`;
}

/** Same shape and the same rate/burst/limit/mode/window end: a block leased for `a` may serve `b`. */
export function sameRules(a: AdmitRequest, b: AdmitRequest): boolean {
  if (a === b) return true;
  const ta = a.throttles;
  const tb = b.throttles;
  if (ta.length !== tb.length) return false;
  for (let i = 0; i < ta.length; i++) {
    const x = ta[i]!;
    const y = tb[i]!;
    if (x.key !== y.key || x.rate !== y.rate || x.burst !== y.burst) return false;
  }
  const qa = a.quota;
  const qb = b.quota;
  if (qa === undefined || qb === undefined) return qa === qb;
  return (
    qa.key === qb.key &&
    qa.windowStart === qb.windowStart &&
    qa.windowEnd === qb.windowEnd &&
    qa.limit === qb.limit &&
    qa.mode === qb.mode
  );
}

export function usable(b: Block, req: AdmitRequest, nowMs: number): boolean {
  return b.left > 0 && nowMs < b.expiresAt && sameRules(b.rules, req);
}

export function serve(b: Block, q: QuotaRule | undefined): Decision {
  b.left--;
  const throttleRemaining = b.minWhole + b.left;
  if (q === undefined) return { ok: true, throttleRemaining };
  const used = b.next++;
  return used > q.limit
    ? { ok: true, quotaUsed: used, quotaRemaining: 0, throttleRemaining, overage: true }
    : { ok: true, quotaUsed: used, quotaRemaining: q.limit - used, throttleRemaining };
}

export function settleOf(b: Block): Settle {
  return { id: b.id, back: b.left, rules: b.rules };
}
