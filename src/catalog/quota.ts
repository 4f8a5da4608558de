/**
 * The admin view of a subscription's quota window and its audited adjustment (API
 * Gateway's UpdateUsage), scoped to the actor. The rules — window, limit, "used",
 * adjustment arithmetic — are src/quota's; this adds scoping, the audit row and the
 * change notification (the gateway reloads its adjustments on it).
 */
import { adjustQuota, type QuotaDeps, quotaStatus, type QuotaStatus as Status } from '../quota/index.js';
import { type Actor, type Ctx, fail, iso } from './context.js';
import { type QuotaAdjust, quotaAdjust } from './schemas.js';
import { loadSubscription } from './subscriptions.js';
import { parse } from './validate.js';

export interface QuotaStatus {
  subscriptionId: string;
  period: 'DAY' | 'WEEK' | 'MONTH';
  timeZone: string;
  windowStart: string;
  windowEnd: string;
  /** The plan's limit for this window, after the first-window offset and adjustments. */
  limit: number;
  adjustments: number;
  used: number;
  remaining: number;
}

export interface QuotaService {
  get(actor: Actor, subscriptionId: string): Promise<QuotaStatus>;
  adjust(actor: Actor, subscriptionId: string, input: Partial<QuotaAdjust>): Promise<QuotaStatus>;
}

function view(s: Status): QuotaStatus {
  if (!s.window || s.limit === null || s.remaining === null || !s.period)
    throw fail('INVALID_STATE', `plan ${s.planId} has no quota`);
  return {
    subscriptionId: s.subscriptionId,
    period: s.period,
    timeZone: s.timeZone,
    windowStart: iso(s.window.start)!,
    windowEnd: iso(s.window.end)!,
    limit: s.limit,
    adjustments: s.adjusted,
    used: s.used,
    remaining: s.remaining,
  };
}

export function quotaService(ctx: Ctx): QuotaService {
  const deps: QuotaDeps = {
    store: ctx.store,
    clock: ctx.clock,
    ...(ctx.quotaUsed ? { liveUsed: ctx.quotaUsed } : {}),
  };
  return {
    async get(actor, subscriptionId) {
      await loadSubscription(ctx.store.db, actor, subscriptionId);
      return view(await quotaStatus(deps, subscriptionId));
    },

    async adjust(actor, subscriptionId, input) {
      const data = parse(quotaAdjust, input);
      return ctx.write(actor, async (tx, audit) => {
        const sub = await loadSubscription(tx, actor, subscriptionId);
        const current = await quotaStatus(deps, sub.id, undefined, tx);
        if (!current.window) throw fail('INVALID_STATE', `plan ${current.planId} has no quota`);
        const r = await adjustQuota(deps, tx, sub.id, { ...data, actor: actor.id });
        const after = view(r.after);
        if (r.delta === 0) return after;
        audit({
          action: 'adjust',
          entity: 'quota',
          entityId: sub.id,
          providerId: sub.provider_id,
          before: view(r.before),
          after: { ...after, delta: r.delta, reason: data.reason, adjustmentId: r.adjustmentId },
        });
        return after;
      });
    },
  };
}
