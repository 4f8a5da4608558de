/**
 * Usage plan keys and usage: CreateUsagePlanKey (201), GetUsagePlanKey(s), DeleteUsagePlanKey
 * (202) — see attach.ts for how a key moves between plans — and GetUsage / UpdateUsage.
 *
 * GetUsage is metering's getUsage (exact hourly aggregates): per key id, one `[used,
 * remaining]` per calendar day of the plan's quota time zone; wire name `values`, paged over
 * keys with `position` / `limit`. UpdateUsage (`replace /remaining`) goes through the catalog's
 * audited quota adjustment, which counts what the gateway has counted so far, and answers the
 * key's usage for today.
 */
import type { Hono } from 'hono';
import { enforcedQuota } from '../catalog/index.js';
import { getUsage, localDate } from '../metering/index.js';
import { type AttachDeps, attachKey, detachKey, keyInPlan, loadKeyRow } from './attach.js';
import type { ApigwEnv } from './auth.js';
import { badRequest } from './errors.js';
import { keysInPlan, paging, usagePlanKeyWire } from './model.js';
import { patchOps } from './patch.js';
import { visiblePlan } from './plans.js';
import { jsonOf } from './util.js';

export function registerUsage(app: Hono<ApigwEnv>, deps: AttachDeps): void {
  const { catalog, store, clock } = deps;

  app.post('/usageplans/:id/keys', async (c) => {
    const body = jsonOf<{ keyId?: unknown; keyType?: unknown }>(c.var.body);
    if (typeof body.keyId !== 'string' || !body.keyId) throw badRequest('keyId: is required');
    if (body.keyType !== 'API_KEY') throw badRequest('keyType: must be API_KEY');
    const key = await attachKey(deps, c.var.actor, c.req.param('id'), body.keyId);
    return c.json(usagePlanKeyWire(key), 201);
  });

  app.get('/usageplans/:id/keys', async (c) => {
    const plan = await visiblePlan(deps, c.var.actor, c.req.param('id'));
    const { limit, position } = paging(c.req.query());
    const rows = await keysInPlan(store, c.var.actor, plan.id, {
      after: position,
      name: c.req.query('name'),
      limit: limit + 1,
    });
    const more = rows.length > limit;
    const kept = more ? rows.slice(0, limit) : rows;
    return c.json(
      { ...(more ? { position: kept[kept.length - 1]!.id } : {}), item: kept.map(usagePlanKeyWire) },
      200,
    );
  });

  async function planKey(actor: ApigwEnv['Variables']['actor'], planId: string, keyId: string) {
    const plan = await visiblePlan(deps, actor, planId);
    return { plan, key: await keyInPlan(deps, actor, plan.id, keyId) };
  }

  app.get('/usageplans/:id/keys/:keyId', async (c) => {
    const { key } = await planKey(c.var.actor, c.req.param('id'), c.req.param('keyId'));
    return c.json(usagePlanKeyWire(key), 200);
  });

  app.delete('/usageplans/:id/keys/:keyId', async (c) => {
    await visiblePlan(deps, c.var.actor, c.req.param('id'));
    await detachKey(deps, c.var.actor, c.req.param('id'), c.req.param('keyId'));
    return c.body(null, 202);
  });

  app.get('/usageplans/:id/usage', async (c) => {
    const plan = await visiblePlan(deps, c.var.actor, c.req.param('id'));
    const q = c.req.query();
    if (!q.startDate) throw badRequest('startDate: is required (YYYY-MM-DD)');
    if (!q.endDate) throw badRequest('endDate: is required (YYYY-MM-DD)');
    const { limit, position } = paging(q);
    if (q.keyId) await loadKeyRow(deps, c.var.actor, q.keyId);
    const r = await getUsage(
      { store, clock },
      {
        usagePlanId: plan.id,
        startDate: q.startDate,
        endDate: q.endDate,
        ...(q.keyId ? { keyId: q.keyId } : {}),
      },
    );
    const ids = Object.keys(r.items)
      .sort()
      .filter((k) => !position || k > position);
    const page = ids.slice(0, limit);
    const values: Record<string, Array<[number, number | null]>> = {};
    for (const k of page) values[k] = r.items[k]!;
    return c.json(
      {
        usagePlanId: r.usagePlanId,
        startDate: r.startDate,
        endDate: r.endDate,
        ...(ids.length > limit ? { position: page[page.length - 1] } : {}),
        values,
      },
      200,
    );
  });

  app.patch('/usageplans/:id/keys/:keyId/usage', async (c) => {
    const actor = c.var.actor;
    const { plan, key } = await planKey(actor, c.req.param('id'), c.req.param('keyId'));
    const ops = patchOps(jsonOf(c.var.body));
    let remaining: number | undefined;
    ops.forEach((o, i) => {
      if (o.op !== 'replace' || o.path !== '/remaining')
        throw badRequest(`patchOperations[${i}]: only replace /remaining is supported`);
      const n = Number(o.value);
      if (!o.value || !Number.isSafeInteger(n) || n < 0)
        throw badRequest(`patchOperations[${i}].value: must be a non-negative integer (as a string)`);
      remaining = n;
    });
    if (remaining === undefined) throw badRequest('patchOperations: give replace /remaining');
    if (!enforcedQuota(plan.quota))
      throw badRequest(
        `usage plan ${plan.id} has no quota (limit and period): there is nothing remaining to set`,
      );
    await catalog.quota.adjust(actor, key.subscription_id, {
      remaining,
      reason: 'UpdateUsage through the API Gateway API',
    });
    const today = localDate(clock.now(), plan.quota?.timeZone ?? 'UTC');
    const r = await getUsage(
      { store, clock },
      { usagePlanId: plan.id, startDate: today, endDate: today, keyId: key.id },
    );
    return c.json({ usagePlanId: plan.id, startDate: today, endDate: today, values: r.items }, 200);
  });
}
