/**
 * POST /subscriptions/{id}/plan-change — move a subscription to another plan of the same
 * provider, now or back-dated to `at`, and have billing prorate at that instant.
 *
 * One transaction: subscriptions.plan_id is updated (the gateway enforces the new plan
 * after its reload), billing records the change (refusing when the period containing `at`
 * is already invoiced, or when a change at the same instant exists), and an audit row is
 * written. `at` may not be in the future (nothing would flip plan_id then) nor before the
 * subscription's latest recorded change (the history stays a chain).
 */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { Actor } from '../../catalog/index.js';
import { type Env, IdParam, json, jsonBody, problems } from '../../control/index.js';
import { invalid, isTollgateError, newId, TollgateError } from '../../shared/index.js';
import type { ResolvedBillingAdminDeps as BillingAdminDeps } from './index.js';
import { PlanChange, PlanChangeBody } from './schemas.js';
import { visibleSubscription } from './scope.js';

const tags = ['billing'];
const iso = (ms: number) => new Date(ms).toISOString();

export function registerPlanChange(app: OpenAPIHono<Env>, deps: BillingAdminDeps): void {
  const { billing, catalog, store, clock } = deps;
  app.openapi(
    createRoute({
      method: 'post',
      path: '/subscriptions/{id}/plan-change',
      tags,
      summary: 'Change the plan (now or back-dated); billing prorates at that instant',
      request: { params: IdParam, ...jsonBody(PlanChangeBody) },
      responses: { 200: json(PlanChange, 'The recorded change'), ...problems },
    }),
    async (c) => {
      const actor = c.var.actor;
      const { id } = c.req.valid('param');
      const body = c.req.valid('json');
      const sub = await visibleSubscription(catalog, actor, id);
      if (sub.status !== 'active' && sub.status !== 'trialing') {
        throw new TollgateError('INVALID_STATE', `cannot change the plan of a ${sub.status} subscription`);
      }
      const operator: Actor = { kind: 'operator', id: actor.id };
      const from = await catalog.plans.get(operator, sub.planId);
      const sameProvider: Actor = { kind: 'provider', providerId: from.providerId, id: actor.id };
      await catalog.plans.get(sameProvider, body.toPlanId).catch((e: unknown) => {
        throw isTollgateError(e) && e.code === 'NOT_FOUND'
          ? invalid('toPlanId', `plan ${body.toPlanId} does not exist or belongs to another provider`)
          : e;
      });
      if (body.toPlanId === sub.planId) throw invalid('toPlanId', 'is already the subscription’s plan');
      const now = clock.now();
      const at = body.at ?? now;
      if (at > now) throw invalid('at', 'must not be in the future');
      const latest = await store.db
        .selectFrom('plan_changes')
        .select('at')
        .where('subscription_id', '=', id)
        .orderBy('at', 'desc')
        .limit(1)
        .executeTakeFirst();
      if (latest && at < Number(latest.at)) {
        throw invalid('at', `must not be before the latest plan change (${iso(Number(latest.at))})`);
      }
      await store.db.transaction().execute(async (tx) => {
        // first: billing reads the plan in force before `at` from subscriptions.plan_id
        await billing.recordPlanChange({ subscriptionId: id, toPlanId: body.toPlanId, at }, tx);
        await tx
          .updateTable('subscriptions')
          .set({ plan_id: body.toPlanId, updated_at: now })
          .where('id', '=', id)
          .execute();
        await tx
          .insertInto('audit_log')
          .values({
            id: newId('aud', now),
            at: now,
            actor: actor.id,
            action: 'subscription.plan_change',
            entity: 'subscription',
            entity_id: id,
            provider_id: from.providerId,
            before: JSON.stringify({ planId: sub.planId }),
            after: JSON.stringify({ planId: body.toPlanId, at: iso(at) }),
          })
          .execute();
      });
      deps.onChange?.({ entity: 'subscription', id, action: 'update' });
      return c.json(
        { subscriptionId: id, fromPlanId: sub.planId, toPlanId: body.toPlanId, at: iso(at) },
        200,
      );
    },
  );
}
