/**
 * Carries out a diff through the admin API, in order, and undoes what it did if a later
 * step is refused: the file was validated whole before (load.ts), so a refusal here is the
 * server's (a path another provider owns, a plan with subscribers…). Each step pushes its
 * inverse — delete what it created, patch back what it changed — and a failure runs them
 * newest first. Two things have no inverse through the admin API: a created product (there
 * is no product delete; it is left as an unpublished draft) and a price version (the old
 * price is set again, as a newer version). Both are reported.
 */
import type { AdminClient } from '../client.js';
import type { Change } from './diff.js';
import {
  type ApiSpec,
  type PlanSpec,
  type ProductSpec,
  resolveRouteRef,
  type WebhookSpec,
} from './schema.js';
import type { ApiView, State } from './state.js';

export interface ApplyResult {
  applied: Change[];
  /** Values shown once by the server (a new webhook endpoint's signing secret). */
  secrets: Array<{ what: string; value: string }>;
}

export class ApplyError extends Error {
  override name = 'ApplyError';
  constructor(
    readonly change: Change,
    override readonly cause: Error,
    readonly notUndone: string[],
  ) {
    super(
      `${change.op} ${change.entity} ${change.name} was refused: ${cause.message}\n` +
        (notUndone.length
          ? `Rolled back, except:\n${notUndone.map((n) => `  - ${n}`).join('\n')}`
          : 'Everything applied before it was rolled back; nothing changed.'),
    );
  }
}

export async function applyChanges(
  client: AdminClient,
  state: State,
  changes: Change[],
): Promise<ApplyResult> {
  let providerId = state.provider?.id ?? null;
  const apis = new Map<string, ApiView>([...state.apis].map(([n, e]) => [n, e.view]));
  const planIds = new Map([...state.plans].map(([n, e]) => [n, e.id]));
  const undo: Array<{ what: string; run: (() => Promise<unknown>) | null }> = [];
  const result: ApplyResult = { applied: [], secrets: [] };
  const owner = () => (providerId ? { providerId } : {});
  const apiId = (name: string) => apis.get(name)?.id ?? name;
  const planId = (name: string) => planIds.get(name) ?? name;

  const steps: Record<string, (c: Change) => Promise<void>> = {
    'create provider': async (c) => {
      const p = await client.post<{ id: string }>('/providers', { name: c.name });
      providerId = p.id;
      undo.push({ what: `provider ${c.name}`, run: () => client.delete(`/providers/${p.id}`) });
    },
    'create api': async (c) => {
      const a = await client.post<ApiView>('/apis', { ...owner(), ...apiBody(c.spec as ApiSpec, null) });
      apis.set(c.name, a);
      undo.push({ what: `api ${c.name}`, run: () => client.delete(`/apis/${a.id}`) });
    },
    'update api': async (c) => {
      const before = apis.get(c.name)!;
      const a = await client.patch<ApiView>(`/apis/${c.id}`, apiBody(c.spec as ApiSpec, before));
      apis.set(c.name, a);
      const kept = new Set(a.routes.map((r) => r.id));
      const back = {
        ...apiBody(c.before as ApiSpec, null),
        routes: before.routes.map((r) => (kept.has(r.id) ? r : { ...r, id: undefined })),
      };
      undo.push({ what: `api ${c.name}`, run: () => client.patch(`/apis/${c.id}`, back) });
    },
    'create plan': async (c) => {
      const p = await client.post<{ id: string }>('/plans', {
        ...owner(),
        ...planBody(c.spec as PlanSpec, apis, apiId),
      });
      planIds.set(c.name, p.id);
      undo.push({ what: `plan ${c.name}`, run: () => client.delete(`/plans/${p.id}`) });
    },
    'update plan': async (c) => {
      await client.patch(`/plans/${c.id}`, planBody(c.spec as PlanSpec, apis, apiId));
      const back = planBody(c.before as PlanSpec, apis, apiId);
      undo.push({ what: `plan ${c.name}`, run: () => client.patch(`/plans/${c.id}`, back) });
    },
    'create price': async (c) => {
      await client.put(`/plans/${planId(c.name)}/price`, c.spec);
      undo.push({ what: `the first price of plan ${c.name} (a price cannot be removed)`, run: null });
    },
    'update price': async (c) => {
      await client.put(`/plans/${planId(c.name)}/price`, c.spec);
      const before = c.before;
      undo.push({
        what: `plan ${c.name}'s price (set back as a new version)`,
        run: () => client.put(`/plans/${planId(c.name)}/price`, before),
      });
    },
    'create product': async (c) => {
      const spec = c.spec as ProductSpec;
      const p = await client.post<{ id: string }>('/products', {
        ...owner(),
        ...productBody(spec, apiId, planId),
        productCode: spec.productCode,
      });
      undo.push({
        what: `product ${c.name} (left as an unpublished draft; products cannot be deleted)`,
        run: null,
      });
      if (spec.published) {
        await client.post(`/products/${p.id}/publish`);
        undo.push({ what: `publishing ${c.name}`, run: () => client.post(`/products/${p.id}/unpublish`) });
      }
    },
    'update product': async (c) => {
      const spec = c.spec as ProductSpec;
      const before = c.before as ProductSpec;
      if (c.fields.some((f) => f.field !== 'published')) {
        await client.patch(`/products/${c.id}`, productBody(spec, apiId, planId));
        undo.push({
          what: `product ${c.name}`,
          run: () => client.patch(`/products/${c.id}`, productBody(before, apiId, planId)),
        });
      }
      if (spec.published !== before.published) {
        const [to, back] = spec.published ? ['publish', 'unpublish'] : ['unpublish', 'publish'];
        await client.post(`/products/${c.id}/${to}`);
        undo.push({ what: `${to} ${c.name}`, run: () => client.post(`/products/${c.id}/${back}`) });
      }
    },
    'create webhook': async (c) => {
      const spec = c.spec as WebhookSpec;
      const w = await client.post<{ id: string; secret: string }>('/webhooks/endpoints', {
        ...owner(),
        url: spec.url,
        enabled: spec.enabled,
      });
      result.secrets.push({ what: `webhook ${spec.url} signing secret`, value: w.secret });
      undo.push({ what: `webhook ${c.name}`, run: () => client.delete(`/webhooks/endpoints/${w.id}`) });
    },
    'update webhook': async (c) => {
      const spec = c.spec as WebhookSpec;
      await client.patch(`/webhooks/endpoints/${c.id}`, { enabled: spec.enabled });
      undo.push({
        what: `webhook ${c.name}`,
        run: () => client.patch(`/webhooks/endpoints/${c.id}`, { enabled: !spec.enabled }),
      });
    },
    'delete webhook': async (c) => {
      await client.delete(`/webhooks/endpoints/${c.id}`);
      undo.push({ what: `deleted webhook ${c.name} (recreate it by hand)`, run: null });
    },
    'delete product': async (c) => {
      // Products are never deleted (buyers' subscriptions point at them): pruning unpublishes.
      if ((c.before as ProductSpec).published) {
        await client.post(`/products/${c.id}/unpublish`);
        undo.push({ what: `unpublish ${c.name}`, run: () => client.post(`/products/${c.id}/publish`) });
      }
    },
    'delete plan': async (c) => {
      await client.delete(`/plans/${c.id}`);
      undo.push({
        what: `deleted plan ${c.name} (recreate it by applying the file without --prune)`,
        run: null,
      });
    },
    'delete api': async (c) => {
      await client.delete(`/apis/${c.id}`);
      undo.push({
        what: `deleted api ${c.name} (recreate it by applying the file without --prune)`,
        run: null,
      });
    },
  };

  for (const change of changes) {
    const step = steps[`${change.op} ${change.entity}`];
    if (!step) throw new Error(`no step for ${change.op} ${change.entity}`);
    try {
      await step(change);
      result.applied.push(change);
    } catch (err) {
      const notUndone: string[] = [];
      for (const u of undo.reverse()) {
        if (!u.run) {
          notUndone.push(u.what);
          continue;
        }
        try {
          await u.run();
        } catch (e) {
          notUndone.push(`${u.what}: ${(e as Error).message}`);
        }
      }
      throw new ApplyError(change, err as Error, notUndone);
    }
  }
  return result;
}

function apiBody(spec: ApiSpec, current: ApiView | null) {
  const ids = new Map((current?.routes ?? []).map((r) => [`${r.method} ${r.path}`, r.id]));
  return {
    name: spec.name,
    upstreamUrl: spec.upstreamUrl,
    pathPrefix: spec.pathPrefix,
    host: spec.host,
    stripPrefix: spec.stripPrefix,
    timeoutMs: spec.timeoutMs,
    // Keep a route's id when its method and path stay, so plan overrides naming it survive.
    routes: spec.routes.map((r) => {
      const id = ids.get(`${r.method} ${r.path}`);
      return id ? { id, ...r } : r;
    }),
  };
}

function planBody(spec: PlanSpec, apis: ReadonlyMap<string, ApiView>, apiId: (n: string) => string) {
  const routeThrottles: Record<string, unknown> = {};
  for (const [ref, throttle] of Object.entries(spec.routeThrottles)) {
    const r = resolveRouteRef(ref, apis);
    if (typeof r === 'string') throw new Error(`routeThrottles ${ref}: ${r}`);
    const route = apis.get(r.api)!.routes.find((x) => x.method === r.method && x.path === r.path)!;
    routeThrottles[route.id] = throttle;
  }
  return {
    name: spec.name,
    description: spec.description,
    apiIds: spec.apis.map(apiId),
    throttle: spec.throttle,
    quota: spec.quota,
    routeThrottles,
    overQuota: spec.overQuota,
    billable: spec.billable,
    failureMode: spec.failureMode,
  };
}

function productBody(spec: ProductSpec, apiId: (n: string) => string, planId: (n: string) => string) {
  return {
    title: spec.title,
    summary: spec.summary,
    description: spec.description,
    apiIds: spec.apis.map(apiId),
    planIds: spec.plans.map(planId),
    visibility: spec.visibility,
    fulfilment: spec.fulfilment,
    externalProductCode: spec.externalProductCode,
    registrationUrl: spec.registrationUrl,
    notificationUrl: spec.notificationUrl,
  };
}
