/**
 * Buyer spend control: a monthly budget per subscription (in the plan's currency), checked
 * against the estimated usage charge of the current month — the subscription's usage since
 * the start of its monthly window (anchored at the subscription's start, like billing
 * periods), rated on the plan's current price; recurring and setup fees are not counted, as
 * no cap could avoid them.
 *
 * `statusOf` is the metering alerts' `spendOf`: it runs after each metering flush for the
 * subscriptions that flush touched, so 50/80/100 % alerts go through the existing alert
 * machinery (once per threshold per window). With a hard cap it also sets
 * `spend_budgets.capped_until` (the window's end) when the estimate reaches the budget and
 * announces the change: the gateway reads that flag from its snapshot and answers
 * 429 {"message":"Limit Exceeded"} — one comparison per request, no rating on the hot path.
 * Calls already in flight and those served before the next flush (≤ the flush interval)
 * can take the estimate slightly past the budget.
 */
import { Decimal } from 'decimal.js';
import { z } from 'zod';
import { type Billing, floorHour, periodContaining } from '../billing/index.js';
import { type Clock, invalid, notFound } from '../shared/index.js';
import type { Db } from '../store/index.js';

export const budgetInput = z.strictObject({
  amount: z
    .string()
    .regex(/^\d{1,12}(\.\d{1,6})?$/, 'must be a positive decimal string, e.g. "25.00"')
    .refine((v) => new Decimal(v).gt(0), 'must be more than 0'),
  hardCap: z.boolean().default(false),
});

export interface SpendStatus {
  spent: string;
  limit: string;
  currency: string;
  window: { start: number; end: number };
  hardCap: boolean;
  capped: boolean;
}

export function createSpend(deps: {
  db: Db;
  clock: Clock;
  billing: Pick<Billing, 'getPrice' | 'preview'>;
  onChange(subscriptionId: string): void;
}) {
  const { db, clock } = deps;

  async function setBudget(subscriptionId: string, input: unknown): Promise<SpendStatus | null> {
    const parsed = budgetInput.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw invalid(issue.path.join('.') || 'body', issue.message);
    }
    const now = clock.now();
    const values = { amount: parsed.data.amount, hard_cap: parsed.data.hardCap ? 1 : 0, updated_at: now };
    await db
      .insertInto('spend_budgets')
      .values({ subscription_id: subscriptionId, capped_until: null, ...values })
      .onConflict((oc) => oc.column('subscription_id').doUpdateSet(values))
      .execute();
    return statusOf(subscriptionId);
  }

  async function clearBudget(subscriptionId: string): Promise<void> {
    const r = await db
      .deleteFrom('spend_budgets')
      .where('subscription_id', '=', subscriptionId)
      .executeTakeFirst();
    if (Number(r.numDeletedRows) > 0) deps.onChange(subscriptionId);
  }

  /** Spend against the budget (null without one), and the cap flag brought up to date. */
  async function statusOf(subscriptionId: string): Promise<SpendStatus | null> {
    const b = await db
      .selectFrom('spend_budgets')
      .innerJoin('subscriptions', 'subscriptions.id', 'spend_budgets.subscription_id')
      .select([
        'spend_budgets.amount',
        'spend_budgets.hard_cap',
        'spend_budgets.capped_until',
        'subscriptions.plan_id',
        'subscriptions.started_at',
      ])
      .where('spend_budgets.subscription_id', '=', subscriptionId)
      .executeTakeFirst();
    if (!b) return null;
    const price = await deps.billing.getPrice(b.plan_id);
    if (!price) return null;
    const now = clock.now();
    const window = periodContaining(Number(b.started_at), 'month', Math.max(now, Number(b.started_at)));
    const usage: Record<string, number> = {};
    const rows = await db
      .selectFrom('usage')
      .select(['dimension', (eb) => eb.fn.sum<number>('units').as('units')])
      .where('subscription_id', '=', subscriptionId)
      .where('hour', '>=', floorHour(window.start))
      .groupBy('dimension')
      .execute();
    for (const r of rows) usage[r.dimension] = Number(r.units);
    const preview = await deps.billing.preview(b.plan_id, usage);
    const spent = preview.lines
      // usage, with its minimum true-up and cap lines
      .filter((l) => l.kind === 'usage' || l.kind === 'minimum' || l.kind === 'maximum')
      .reduce((acc, l) => acc.add(l.amount), new Decimal(0));
    const reached = b.hard_cap === 1 && spent.gte(b.amount);
    const cappedUntil = reached ? window.end : null;
    const wasCapped = b.capped_until !== null && Number(b.capped_until) > now;
    if (cappedUntil !== (wasCapped ? Number(b.capped_until) : null)) {
      await db
        .updateTable('spend_budgets')
        .set({ capped_until: cappedUntil })
        .where('subscription_id', '=', subscriptionId)
        .execute();
      deps.onChange(subscriptionId);
    }
    return {
      spent: spent.toFixed(),
      limit: b.amount,
      currency: price.price.currency,
      window: { start: window.start, end: window.end },
      hardCap: b.hard_cap === 1,
      capped: reached,
    };
  }

  async function requireSubscription(subscriptionId: string): Promise<void> {
    const s = await db
      .selectFrom('subscriptions')
      .select('id')
      .where('id', '=', subscriptionId)
      .executeTakeFirst();
    if (!s) throw notFound('subscription', subscriptionId);
  }

  return { setBudget, clearBudget, statusOf, requireSubscription };
}

export type Spend = ReturnType<typeof createSpend>;
