/**
 * Usage plans: throttle (token bucket: rate, burst), quota (limit per calendar period in a
 * time zone, with API Gateway's first-period `offset`), per-route throttle overrides, and
 * what happens past the quota. A plan grants APIs of its own provider only; route overrides
 * must name routes of those APIs.
 */
import type { z } from 'zod';
import { invalid, newId, notFound } from '../shared/index.js';
import type { Db, PlanTable, Tx } from '../store/index.js';
import { type Actor, type Ctx, fail, ownerFor, type Page, scopeOf, toPage } from './context.js';
import { overlapsOnPlanChange } from './key-links.js';
import {
  type PageQuery,
  pageQuery,
  planCreate,
  planUpdate,
  type QuotaInput,
  type ThrottleInput,
} from './schemas.js';
import { parse } from './validate.js';
import { type PlanView, planView } from './views.js';

export interface PlansService {
  create(actor: Actor, input: z.input<typeof planCreate>): Promise<PlanView>;
  get(actor: Actor, id: string): Promise<PlanView>;
  list(actor: Actor, page?: Partial<PageQuery>): Promise<Page<PlanView>>;
  update(actor: Actor, id: string, input: z.input<typeof planUpdate>): Promise<PlanView>;
  delete(actor: Actor, id: string): Promise<void>;
}

export async function loadPlan(db: Db | Tx, actor: Actor, id: string): Promise<PlanTable> {
  let q = db.selectFrom('plans').selectAll().where('id', '=', id);
  const scope = scopeOf(actor);
  if (scope) q = q.where('provider_id', '=', scope);
  const row = await q.executeTakeFirst();
  if (!row) throw notFound('plan', id);
  return row;
}

/** apiIds exist and belong to `providerId`; each routeThrottles key is a route of one of them. */
async function checkRefs(
  tx: Tx,
  providerId: string,
  apiIds: string[],
  routeThrottles: Record<string, ThrottleInput>,
): Promise<void> {
  const seen = new Set<string>();
  apiIds.forEach((id, i) => {
    if (seen.has(id)) throw invalid(`apiIds[${i}]`, 'appears twice');
    seen.add(id);
  });
  const found = apiIds.length
    ? await tx
        .selectFrom('apis')
        .select('id')
        .where('id', 'in', apiIds)
        .where('provider_id', '=', providerId)
        .execute()
    : [];
  const ok = new Set(found.map((r) => r.id));
  apiIds.forEach((id, i) => {
    if (!ok.has(id)) throw invalid(`apiIds[${i}]`, `is not an API of provider ${providerId}`);
  });
  const routeIds = Object.keys(routeThrottles);
  if (routeIds.length === 0) return;
  const routes = apiIds.length
    ? await tx
        .selectFrom('routes')
        .select('id')
        .where('api_id', 'in', apiIds)
        .where('id', 'in', routeIds)
        .execute()
    : [];
  const known = new Set(routes.map((r) => r.id));
  for (const id of routeIds) {
    if (!known.has(id)) throw invalid(`routeThrottles.${id}`, "is not a route of the plan's APIs");
  }
}

function columns(d: {
  throttle?: ThrottleInput | null;
  quota?: QuotaInput | null;
}): Pick<
  PlanTable,
  'throttle_rate' | 'throttle_burst' | 'quota_limit' | 'quota_period' | 'quota_offset' | 'quota_time_zone'
> {
  return {
    throttle_rate: d.throttle?.rateLimit ?? null,
    throttle_burst: d.throttle?.burstLimit ?? null,
    quota_limit: d.quota?.limit ?? null,
    quota_period: d.quota?.period ?? null,
    quota_offset: d.quota?.offset ?? 0,
    quota_time_zone: d.quota?.timeZone ?? 'UTC',
  };
}

export function plansService(ctx: Ctx): PlansService {
  const db = ctx.store.db;
  return {
    async create(actor, input) {
      const data = parse(planCreate, input);
      const providerId = ownerFor(actor, data.providerId);
      const now = ctx.clock.now();
      const row: PlanTable = {
        id: newId('pln', now),
        provider_id: providerId,
        name: data.name,
        description: data.description,
        api_ids: JSON.stringify(data.apiIds),
        ...columns(data),
        route_throttles: JSON.stringify(data.routeThrottles),
        over_quota: data.overQuota,
        billable: data.billable,
        failure_mode: data.failureMode,
        created_at: now,
        updated_at: now,
      };
      return ctx.write(actor, async (tx, audit) => {
        const provider = await tx
          .selectFrom('providers')
          .select('id')
          .where('id', '=', providerId)
          .executeTakeFirst();
        if (!provider) throw fail('NOT_FOUND', `provider ${providerId} does not exist`, 'providerId');
        await checkRefs(tx, providerId, data.apiIds, data.routeThrottles);
        await tx.insertInto('plans').values(row).execute();
        const after = planView(row);
        audit({ action: 'create', entity: 'plan', entityId: row.id, providerId, before: null, after });
        return after;
      });
    },

    async get(actor, id) {
      return planView(await loadPlan(db, actor, id));
    },

    async list(actor, page = {}) {
      const { limit, cursor } = parse(pageQuery, page);
      let q = db
        .selectFrom('plans')
        .selectAll()
        .orderBy('id')
        .limit(limit + 1);
      if (cursor) q = q.where('id', '>', cursor);
      const scope = scopeOf(actor);
      if (scope) q = q.where('provider_id', '=', scope);
      return toPage(await q.execute(), limit, planView);
    },

    async update(actor, id, input) {
      const data = parse(planUpdate, input);
      return ctx.write(actor, async (tx, audit) => {
        const before = await loadPlan(tx, actor, id);
        const old = planView(before);
        const apiIds = data.apiIds ?? old.apiIds;
        const routeThrottles = data.routeThrottles ?? old.routeThrottles;
        if (data.apiIds || data.routeThrottles)
          await checkRefs(tx, before.provider_id, apiIds, routeThrottles);
        const row: PlanTable = {
          ...before,
          name: data.name ?? before.name,
          description: data.description ?? before.description,
          api_ids: JSON.stringify(apiIds),
          ...columns({
            throttle: data.throttle === undefined ? old.throttle : data.throttle,
            quota: data.quota === undefined ? old.quota : data.quota,
          }),
          route_throttles: JSON.stringify(routeThrottles),
          over_quota: data.overQuota ?? before.over_quota,
          billable: data.billable ?? before.billable,
          failure_mode: data.failureMode ?? before.failure_mode,
          updated_at: ctx.clock.now(),
        };
        const { id: _id, provider_id: _p, created_at: _c, ...changes } = row;
        await tx.updateTable('plans').set(changes).where('id', '=', id).execute();
        // A key in several plans may not get the same API from two of them (./key-links.ts).
        const clash = await overlapsOnPlanChange(
          tx,
          id,
          apiIds.filter((a) => !old.apiIds.includes(a)),
        );
        if (clash)
          throw fail(
            'CONFLICT',
            `key ${clash.keyId} is in this plan and in plan ${clash.planId}, which already grants API ${clash.apiId}; a key's plans may not share an API`,
            'apiIds',
          );
        const after = planView(row);
        audit({
          action: 'update',
          entity: 'plan',
          entityId: id,
          providerId: row.provider_id,
          before: old,
          after,
        });
        return after;
      });
    },

    async delete(actor, id) {
      await ctx.write(actor, async (tx, audit) => {
        const before = await loadPlan(tx, actor, id);
        const sub = await tx
          .selectFrom('subscriptions')
          .select('id')
          .where('plan_id', '=', id)
          .limit(1)
          .execute();
        if (sub.length) throw fail('CONFLICT', `plan ${id} has subscriptions; it cannot be deleted`);
        await tx.deleteFrom('plans').where('id', '=', id).execute();
        audit({
          action: 'delete',
          entity: 'plan',
          entityId: id,
          providerId: before.provider_id,
          before: planView(before),
          after: null,
        });
      });
    },
  };
}
