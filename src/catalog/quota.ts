/**
 * Quota adjustments: an admin adds to (or takes from) what a subscription may still spend
 * in its CURRENT quota window — API Gateway's UpdateUsage. Stored as a delta in
 * quota_adjustments keyed by the window start that src/limits computes, which is the key
 * the gateway adds to the plan's limit. `{ remaining: n }` is turned into the delta that
 * leaves exactly n requests, given the requests counted so far (`deps.quotaUsed`; default:
 * the store's hourly usage since the window start, as the gateway's start-up seed counts).
 */
import { effectiveQuotaLimit, quotaWindow } from '../limits/index.js';
import { newId } from '../shared/index.js';
import type { Db, Tx } from '../store/index.js';
import { type Actor, type Ctx, fail, iso } from './context.js';
import { type QuotaAdjust, quotaAdjust } from './schemas.js';
import { loadSubscription } from './subscriptions.js';
import { parse } from './validate.js';
import { planView } from './views.js';

const HOUR = 3_600_000;

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

export async function usedFromStore(db: Db | Tx, subscriptionId: string, windowStart: number, now: number) {
  const row = await db
    .selectFrom('usage')
    .select((eb) => eb.fn.sum<number>('requests').as('n'))
    .where('subscription_id', '=', subscriptionId)
    .where('hour', '>=', Math.floor(windowStart / HOUR) * HOUR)
    .where('hour', '<=', now)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

export function quotaService(ctx: Ctx): QuotaService {
  // Inside a transaction the default reads through it: SQLite has one connection.
  const used = (db: Db | Tx, sub: string, start: number, now: number) =>
    ctx.quotaUsed ? ctx.quotaUsed(sub, start, now) : usedFromStore(db, sub, start, now);

  async function status(
    db: Db | Tx,
    sub: { id: string; started_at: number },
    plan: ReturnType<typeof planView>,
    adjustments: number,
    now: number,
    windowStart: number,
    windowEnd: number,
  ): Promise<QuotaStatus> {
    const q = plan.quota!;
    const limit = effectiveQuotaLimit({
      limit: q.limit,
      offset: q.offset,
      windowStart,
      windowEnd,
      subscriptionStart: sub.started_at,
      adjustments,
    });
    const n = await used(db, sub.id, windowStart, now);
    return {
      subscriptionId: sub.id,
      period: q.period,
      timeZone: q.timeZone,
      windowStart: iso(windowStart)!,
      windowEnd: iso(windowEnd)!,
      limit,
      adjustments,
      used: n,
      remaining: Math.max(0, limit - n),
    };
  }

  async function load(db: Db | Tx, actor: Actor, subscriptionId: string) {
    const sub = await loadSubscription(db, actor, subscriptionId);
    const planRow = await db
      .selectFrom('plans')
      .selectAll()
      .where('id', '=', sub.plan_id)
      .executeTakeFirstOrThrow();
    const plan = planView(planRow);
    if (!plan.quota) throw fail('INVALID_STATE', `plan ${plan.id} has no quota`);
    return { sub, plan };
  }

  async function sumAdjustments(db: Db | Tx, subscriptionId: string, windowStart: number) {
    const row = await db
      .selectFrom('quota_adjustments')
      .select((eb) => eb.fn.sum<number>('delta').as('d'))
      .where('subscription_id', '=', subscriptionId)
      .where('window_start', '=', windowStart)
      .executeTakeFirst();
    return Number(row?.d ?? 0);
  }

  return {
    async get(actor, subscriptionId) {
      const db = ctx.store.db;
      const { sub, plan } = await load(db, actor, subscriptionId);
      const now = ctx.clock.now();
      const w = quotaWindow(plan.quota!.period, plan.quota!.timeZone, now);
      return status(db, sub, plan, await sumAdjustments(db, sub.id, w.start), now, w.start, w.end);
    },

    async adjust(actor, subscriptionId, input) {
      const data = parse(quotaAdjust, input);
      const now = ctx.clock.now();
      const result = await ctx.write(actor, async (tx, audit) => {
        const { sub, plan } = await load(tx, actor, subscriptionId);
        const q = plan.quota!;
        const w = quotaWindow(q.period, q.timeZone, now);
        const adj = await sumAdjustments(tx, sub.id, w.start);
        const before = await status(tx, sub, plan, adj, now, w.start, w.end);
        let delta = data.delta ?? 0;
        if (data.remaining !== undefined) {
          // The limit before clamping is base + adj; wanted: base + adj + delta - used = remaining.
          const initial = sub.started_at >= w.start && sub.started_at < w.end;
          const base = initial ? Math.max(0, q.limit - q.offset) : q.limit;
          delta = data.remaining + before.used - (base + adj);
        }
        if (delta === 0) return before;
        await tx
          .insertInto('quota_adjustments')
          .values({
            id: newId('adj', now),
            subscription_id: sub.id,
            window_start: w.start,
            delta,
            reason: data.reason,
            actor: actor.id,
            created_at: now,
          })
          .execute();
        const after = {
          ...(await status(tx, sub, plan, adj + delta, now, w.start, w.end)),
          delta,
          reason: data.reason,
        };
        audit({
          action: 'adjust',
          entity: 'quota',
          entityId: sub.id,
          providerId: sub.provider_id,
          before,
          after,
        });
        return after;
      });
      return result;
    },
  };
}
