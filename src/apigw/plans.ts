/**
 * Usage plans: CreateUsagePlan (201), GetUsagePlan, GetUsagePlans (`item`, `position`),
 * UpdateUsagePlan (PatchOperations), DeleteUsagePlan (202), over the catalog's plans.
 * Each provider's holding plan (attach.ts) is invisible here.
 */
import type { Hono } from 'hono';
import type { Actor, PlanView } from '../catalog/index.js';
import { type AttachDeps, loadKeyRow, nullIfNotFound, PROVIDER_TAG, resolveProvider } from './attach.js';
import type { ApigwEnv } from './auth.js';
import { badRequest, notFoundAws } from './errors.js';
import {
  fromApiStages,
  HOLDING_PLAN,
  paging,
  quotaIn,
  throttleIn,
  usagePlanWire,
  type WireApiStage,
  type WireQuota,
  type WireThrottle,
} from './model.js';
import { applyPlanPatch, patchOps } from './patch.js';
import { jsonOf } from './util.js';

interface CreateBody {
  name?: string;
  description?: string;
  apiStages?: WireApiStage[];
  throttle?: WireThrottle;
  quota?: WireQuota;
  tags?: Record<string, string>;
  productCode?: string;
}

export async function visiblePlan(deps: AttachDeps, actor: Actor, id: string): Promise<PlanView> {
  const plan = await deps.catalog.plans.get(actor, id).catch(nullIfNotFound);
  if (!plan || plan.name === HOLDING_PLAN) throw notFoundAws(`Invalid Usage Plan ID specified: ${id}`);
  return plan;
}

export function registerPlans(app: Hono<ApigwEnv>, deps: AttachDeps): void {
  const { catalog, store } = deps;

  app.post('/usageplans', async (c) => {
    const body = jsonOf<CreateBody>(c.var.body);
    const actor = c.var.actor;
    if (typeof body.name !== 'string' || !body.name.trim()) throw badRequest('name: is required');
    if (body.name === HOLDING_PLAN) throw badRequest(`name: "${HOLDING_PLAN}" is reserved`);
    if (body.productCode)
      throw badRequest('productCode: not supported; list the plan in a Tollgate marketplace product');
    const stages = body.apiStages ?? [];
    if (!Array.isArray(stages)) throw badRequest('apiStages: must be a list');
    const { apiIds, routeThrottles } = await fromApiStages(store, stages);
    let planProviderId: string | undefined;
    if (actor.kind === 'operator' && apiIds[0])
      planProviderId = (await catalog.apis.get(actor, apiIds[0])).providerId;
    const providerId = await resolveProvider(deps, actor, { tag: body.tags?.[PROVIDER_TAG], planProviderId });
    const plan = await catalog.plans.create(actor, {
      providerId,
      name: body.name,
      description: body.description ?? '',
      apiIds,
      routeThrottles,
      ...(body.throttle ? { throttle: throttleIn(body.throttle, 'throttle') } : {}),
      ...(body.quota ? { quota: quotaIn(body.quota, 'quota') } : {}),
    });
    return c.json(await usagePlanWire(store, plan), 201);
  });

  app.get('/usageplans', async (c) => {
    const { limit, position } = paging(c.req.query());
    const keyId = c.req.query('keyId');
    const actor = c.var.actor;
    if (keyId) {
      const key = await loadKeyRow(deps, actor, keyId);
      const item =
        key.plan_name === HOLDING_PLAN
          ? []
          : [await usagePlanWire(store, await catalog.plans.get(actor, key.plan_id))];
      return c.json({ item }, 200);
    }
    // The catalog pages at most 200; a shorter page with a position is a valid answer.
    const page = await catalog.plans.list(actor, {
      limit: Math.min(limit, 200),
      ...(position ? { cursor: position } : {}),
    });
    const item = [];
    for (const p of page.items) if (p.name !== HOLDING_PLAN) item.push(await usagePlanWire(store, p));
    return c.json({ ...(page.nextCursor ? { position: page.nextCursor } : {}), item }, 200);
  });

  app.get('/usageplans/:id', async (c) => {
    return c.json(await usagePlanWire(store, await visiblePlan(deps, c.var.actor, c.req.param('id'))), 200);
  });

  app.patch('/usageplans/:id', async (c) => {
    const actor = c.var.actor;
    const plan = await visiblePlan(deps, actor, c.req.param('id'));
    const ops = patchOps(jsonOf(c.var.body));
    const wire = await usagePlanWire(store, plan);
    const d = applyPlanPatch(plan, wire.apiStages, ops);
    if (d.name === HOLDING_PLAN) throw badRequest(`name: "${HOLDING_PLAN}" is reserved`);
    const { apiIds, routeThrottles } = await fromApiStages(store, d.apiStages, 'patchOperations');
    const updated = await catalog.plans.update(actor, plan.id, {
      name: d.name,
      description: d.description,
      throttle: d.throttle,
      quota: d.quota ? quotaIn(d.quota, 'quota', plan.quota?.timeZone ?? 'UTC') : null,
      apiIds,
      routeThrottles,
    });
    return c.json(await usagePlanWire(store, updated), 200);
  });

  app.delete('/usageplans/:id', async (c) => {
    const plan = await visiblePlan(deps, c.var.actor, c.req.param('id'));
    await catalog.plans.delete(c.var.actor, plan.id);
    return c.body(null, 202);
  });
}
