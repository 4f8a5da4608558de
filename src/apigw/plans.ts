/**
 * Usage plans: CreateUsagePlan (201), GetUsagePlan, GetUsagePlans (`item`, `position`),
 * UpdateUsagePlan (PatchOperations), DeleteUsagePlan (202), over the catalog's plans, with
 * their tags (./tags.ts) and `productCode` (the marketplace product the plan is sold as).
 * Each provider's holding plan (attach.ts) and plans deleted here (resources.ts) are
 * invisible.
 *
 * DeleteUsagePlan once no key is in the plan: a plan nobody ever subscribed to is deleted
 * from the catalog; one whose subscriptions carry usage and invoices stays there (history
 * refers to it), loses its APIs and live subscriptions, and is hidden from this API.
 */
import type { Hono } from 'hono';
import type { Actor, PlanView } from '../catalog/index.js';
import { type AttachDeps, keyPlans, PROVIDER_TAG, resolveProvider } from './attach.js';
import type { ApigwEnv } from './auth.js';
import { badRequest, conflict } from './errors.js';
import {
  fromApiStages,
  HOLDING_PLAN,
  keysInPlan,
  paging,
  quotaFields,
  throttleFields,
  usagePlanWire,
  type WireApiStage,
  type WireQuota,
  type WireThrottle,
  wholeQuota,
  wholeThrottle,
} from './model.js';
import { applyPlanPatch, patchOps } from './patch.js';
import { isDeleted, metaOf, setMeta, visiblePlan } from './resources.js';
import { dropTags, putTags, tagsIn, tagsOf } from './tags.js';
import { jsonOf } from './util.js';

export { visiblePlan };

interface CreateBody {
  name?: string;
  description?: string;
  apiStages?: WireApiStage[];
  throttle?: WireThrottle;
  quota?: WireQuota;
  tags?: Record<string, string>;
  productCode?: string;
}

/** The UsagePlan answer: the catalog plan plus productCode and tags. */
export async function planOut(deps: AttachDeps, plan: PlanView) {
  const meta = await metaOf(deps.store.db, plan.id);
  const tags = await tagsOf(deps.store.db, plan.id);
  return {
    ...(await usagePlanWire(deps.store, plan)),
    ...(meta.productCode ? { productCode: meta.productCode } : {}),
    ...(Object.keys(tags).length ? { tags } : {}),
  };
}

/** Links (or, with null, unlinks) the plan and the marketplace product a productCode names. */
async function setProductCode(deps: AttachDeps, actor: Actor, plan: PlanView, code: string | null) {
  const meta = await metaOf(deps.store.db, plan.id);
  if (!deps.products) throw badRequest('productCode: this Tollgate has no marketplace to link plans to');
  if (meta.productId && meta.productCode !== code) await deps.products.unlink(actor, meta.productId, plan.id);
  if (code === null) {
    await setMeta(deps.store.db, plan.id, { productCode: null, productId: null });
    return;
  }
  const product = await deps.products.link(actor, code, plan);
  await setMeta(deps.store.db, plan.id, { productCode: code, productId: product.id });
}

export function registerPlans(app: Hono<ApigwEnv>, deps: AttachDeps): void {
  const { catalog, store } = deps;

  app.post('/usageplans', async (c) => {
    const body = jsonOf<CreateBody>(c.var.body);
    const actor = c.var.actor;
    if (typeof body.name !== 'string' || !body.name.trim()) throw badRequest('name: is required');
    if (body.name === HOLDING_PLAN) throw badRequest(`name: "${HOLDING_PLAN}" is reserved`);
    if (body.productCode !== undefined)
      throw badRequest('productCode: set it with UpdateUsagePlan (replace /productCode), as in API Gateway');
    if (body.description !== undefined && typeof body.description !== 'string')
      throw badRequest('description: must be a string');
    const tags = tagsIn(body.tags);
    const stages = body.apiStages ?? [];
    if (!Array.isArray(stages)) throw badRequest('apiStages: must be a list');
    const { apiIds, routeThrottles } = await fromApiStages(store, stages, 'apiStages', true);
    let planProviderId: string | undefined;
    if (actor.kind === 'operator' && apiIds[0])
      planProviderId = (await catalog.apis.get(actor, apiIds[0])).providerId;
    const providerId = await resolveProvider(deps, actor, { tag: tags?.[PROVIDER_TAG], planProviderId });
    const plan = await catalog.plans.create(actor, {
      providerId,
      name: body.name,
      description: body.description ?? '',
      apiIds,
      routeThrottles,
      ...(body.throttle ? { throttle: wholeThrottle(body.throttle, 'throttle') } : {}),
      ...(body.quota ? { quota: wholeQuota(body.quota, 'quota') } : {}),
    });
    if (tags) await putTags(store.db, plan.id, tags);
    return c.json(await planOut(deps, plan), 201);
  });

  app.get('/usageplans', async (c) => {
    const { limit, position } = paging(c.req.query());
    const keyId = c.req.query('keyId');
    const actor = c.var.actor;
    if (keyId) {
      // Every plan the key is in (its own subscription's and its linked ones).
      const item = [];
      for (const r of await keyPlans(deps, actor, keyId))
        if (!(await isDeleted(store.db, r.plan_id)))
          item.push(await planOut(deps, await catalog.plans.get(actor, r.plan_id)));
      return c.json({ item }, 200);
    }
    // The catalog pages at most 200; a shorter page with a position is a valid answer.
    const page = await catalog.plans.list(actor, {
      limit: Math.min(limit, 200),
      ...(position ? { cursor: position } : {}),
    });
    const item = [];
    for (const p of page.items)
      if (p.name !== HOLDING_PLAN && !(await isDeleted(store.db, p.id))) item.push(await planOut(deps, p));
    return c.json({ ...(page.nextCursor ? { position: page.nextCursor } : {}), item }, 200);
  });

  app.get('/usageplans/:id', async (c) => {
    return c.json(await planOut(deps, await visiblePlan(deps, c.var.actor, c.req.param('id'))), 200);
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
      throttle: d.throttle ? throttleFields(d.throttle, 'throttle') : null,
      quota: d.quota ? quotaFields(d.quota, 'quota', plan.quota?.timeZone ?? 'UTC') : null,
      apiIds,
      routeThrottles,
    });
    if (d.productCode !== undefined) await setProductCode(deps, actor, updated, d.productCode);
    return c.json(await planOut(deps, updated), 200);
  });

  app.delete('/usageplans/:id', async (c) => {
    const actor = c.var.actor;
    const plan = await visiblePlan(deps, actor, c.req.param('id'));
    const keyed = await keysInPlan(store, actor, plan.id, { limit: 1 });
    if (keyed.length)
      throw conflict(`Usage plan ${plan.id} still has API keys; delete its usage plan keys first`);
    const meta = await metaOf(store.db, plan.id);
    if (meta.productId && deps.products) await deps.products.unlink(actor, meta.productId, plan.id);
    const subs = await store.db
      .selectFrom('subscriptions')
      .select(['id', 'status'])
      .where('plan_id', '=', plan.id)
      .execute();
    if (subs.length === 0) {
      await catalog.plans.delete(actor, plan.id);
      await dropTags(store.db, plan.id);
      await store.db.deleteFrom('apigw_resources').where('resource_id', '=', plan.id).execute();
      return c.body(null, 202);
    }
    // History refers to the plan: it keeps its record, grants nothing and leaves this API.
    for (const s of subs) if (s.status !== 'cancelled') await catalog.subscriptions.cancel(actor, s.id);
    await catalog.plans.update(actor, plan.id, { apiIds: [], routeThrottles: {} });
    await setMeta(store.db, plan.id, { deletedAt: deps.clock.now(), productCode: null, productId: null });
    return c.body(null, 202);
  });
}
