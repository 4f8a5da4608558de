/**
 * Subscriptions: consumer × plan, with a small state machine:
 *
 *   pending → trialing | active | cancelled
 *   trialing → active | cancel_pending | cancelled | suspended
 *   active → cancel_pending | cancelled | suspended
 *   cancel_pending → active (undo) | cancelled | suspended
 *   suspended → active | trialing | cancelled
 *   cancelled → (final)
 *
 * A provider-scoped actor reaches a subscription through the plan's provider. "Deleting" a
 * subscription cancels it: keys, usage and invoices keep referring to it.
 */
import type { z } from 'zod';
import { newId, notFound } from '../shared/index.js';
import type { Db, SubscriptionTable, Tx } from '../store/index.js';
import { loadConsumer } from './consumers.js';
import { type Actor, type Ctx, fail, fromIso, type Page, scopeOf, toPage } from './context.js';
import { loadPlan } from './plans.js';
import {
  type SubscriptionStatus,
  subscriptionCreate,
  subscriptionQuery,
  subscriptionUpdate,
} from './schemas.js';
import { parse } from './validate.js';
import { type SubscriptionView, subscriptionView } from './views.js';

export const TRANSITIONS: Record<SubscriptionStatus, SubscriptionStatus[]> = {
  pending: ['trialing', 'active', 'cancelled'],
  trialing: ['active', 'cancel_pending', 'cancelled', 'suspended'],
  active: ['cancel_pending', 'cancelled', 'suspended'],
  cancel_pending: ['active', 'cancelled', 'suspended'],
  suspended: ['active', 'trialing', 'cancelled'],
  cancelled: [],
};

export interface SubscriptionsService {
  create(actor: Actor, input: z.input<typeof subscriptionCreate>): Promise<SubscriptionView>;
  get(actor: Actor, id: string): Promise<SubscriptionView>;
  list(actor: Actor, query?: z.input<typeof subscriptionQuery>): Promise<Page<SubscriptionView>>;
  update(actor: Actor, id: string, input: z.input<typeof subscriptionUpdate>): Promise<SubscriptionView>;
  /** Cancels (status `cancelled`); the record stays. */
  cancel(actor: Actor, id: string): Promise<SubscriptionView>;
}

/** The subscription and the provider that owns its plan. */
export async function loadSubscription(
  db: Db | Tx,
  actor: Actor,
  id: string,
): Promise<SubscriptionTable & { provider_id: string }> {
  let q = db
    .selectFrom('subscriptions')
    .innerJoin('plans', 'plans.id', 'subscriptions.plan_id')
    .selectAll('subscriptions')
    .select('plans.provider_id')
    .where('subscriptions.id', '=', id);
  const scope = scopeOf(actor);
  if (scope) q = q.where('plans.provider_id', '=', scope);
  const row = await q.executeTakeFirst();
  if (!row) throw notFound('subscription', id);
  return row;
}

function strip(row: SubscriptionTable & { provider_id?: string }): SubscriptionTable {
  const { provider_id: _p, ...rest } = row;
  return rest;
}

export function subscriptionsService(ctx: Ctx): SubscriptionsService {
  const db = ctx.store.db;

  async function transition(
    actor: Actor,
    id: string,
    next: { status?: SubscriptionStatus; trialEndsAt?: string | null },
    action: string,
  ): Promise<SubscriptionView> {
    return ctx.write(actor, async (tx, audit) => {
      const loaded = await loadSubscription(tx, actor, id);
      const before = strip(loaded);
      const now = ctx.clock.now();
      const row: SubscriptionTable = { ...before, updated_at: now };
      if (next.status && next.status !== before.status) {
        const from = before.status as SubscriptionStatus;
        if (!TRANSITIONS[from].includes(next.status)) {
          throw fail('INVALID_STATE', `cannot go from ${from} to ${next.status}`, 'status');
        }
        row.status = next.status;
        if (next.status === 'cancelled') row.cancelled_at = now;
        // billing periods and quota windows are anchored here: time spent pending is not billed
        if (from === 'pending' && (next.status === 'active' || next.status === 'trialing'))
          row.started_at = now;
      }
      if (next.trialEndsAt !== undefined) row.trial_ends_at = fromIso(next.trialEndsAt);
      const { id: _id, created_at: _c, consumer_id: _co, plan_id: _pl, ...changes } = row;
      await tx.updateTable('subscriptions').set(changes).where('id', '=', id).execute();
      const after = subscriptionView(row);
      audit({
        action,
        entity: 'subscription',
        entityId: id,
        providerId: loaded.provider_id,
        before: subscriptionView(before),
        after,
      });
      return after;
    });
  }

  return {
    async create(actor, input) {
      const data = parse(subscriptionCreate, input);
      const now = ctx.clock.now();
      return ctx.write(actor, async (tx, audit) => {
        const plan = await loadPlan(tx, actor, data.planId).catch(() => {
          throw fail('NOT_FOUND', `plan ${data.planId} does not exist`, 'planId');
        });
        await loadConsumer(tx, actor, data.consumerId).catch(() => {
          throw fail('NOT_FOUND', `consumer ${data.consumerId} does not exist`, 'consumerId');
        });
        const row: SubscriptionTable = {
          id: newId('sub', now),
          consumer_id: data.consumerId,
          plan_id: data.planId,
          status: data.status,
          started_at: now,
          trial_ends_at: fromIso(data.trialEndsAt),
          cancelled_at: null,
          created_at: now,
          updated_at: now,
        };
        await tx.insertInto('subscriptions').values(row).execute();
        const after = subscriptionView(row);
        audit({
          action: 'create',
          entity: 'subscription',
          entityId: row.id,
          providerId: plan.provider_id,
          before: null,
          after,
        });
        return after;
      });
    },

    async get(actor, id) {
      return subscriptionView(strip(await loadSubscription(db, actor, id)));
    },

    async list(actor, query = {}) {
      const { limit, cursor, consumerId, planId, status } = parse(subscriptionQuery, query);
      let q = db
        .selectFrom('subscriptions')
        .selectAll('subscriptions')
        .orderBy('subscriptions.id')
        .limit(limit + 1);
      if (cursor) q = q.where('subscriptions.id', '>', cursor);
      if (consumerId) q = q.where('subscriptions.consumer_id', '=', consumerId);
      if (planId) q = q.where('subscriptions.plan_id', '=', planId);
      if (status) q = q.where('subscriptions.status', '=', status);
      const scope = scopeOf(actor);
      if (scope) {
        q = q.innerJoin('plans', 'plans.id', 'subscriptions.plan_id').where('plans.provider_id', '=', scope);
      }
      return toPage(await q.execute(), limit, subscriptionView);
    },

    async update(actor, id, input) {
      const data = parse(subscriptionUpdate, input);
      return transition(actor, id, data, 'update');
    },

    async cancel(actor, id) {
      return transition(actor, id, { status: 'cancelled' }, 'cancel');
    },
  };
}
