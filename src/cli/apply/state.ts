/**
 * What a running Tollgate holds for one provider, read through the admin API and put in the
 * file's own shape (names instead of ids), so that `export` is this state written out and
 * `diff` compares like with like. Ids are kept beside each entry for `apply`.
 */
import type { ApiView, PlanView } from '../../catalog/index.js';
import { AdminApiError, type AdminClient } from '../client.js';

export type { ApiView } from '../../catalog/index.js';

import {
  type ApiSpec,
  apiSpec,
  type PlanSpec,
  type ProductSpec,
  planSpec,
  productSpec,
  routeRefOf,
  type TollgateFile,
  type WebhookSpec,
  webhookSpec,
} from './schema.js';

interface ProductView {
  id: string;
  providerId: string;
  productCode: string;
  title: string;
  summary: string;
  description: string;
  apiIds: string[];
  planIds: string[];
  visibility: ProductSpec['visibility'];
  fulfilment: ProductSpec['fulfilment'];
  externalProductCode: string | null;
  registrationUrl: string | null;
  notificationUrl: string | null;
  status: 'draft' | 'published';
}
interface EndpointView {
  id: string;
  providerId: string;
  url: string;
  enabled: boolean;
}

export interface Entry<S> {
  id: string;
  spec: S;
}

export interface State {
  provider: { id: string; name: string } | null;
  apis: Map<string, Entry<ApiSpec> & { view: ApiView }>;
  plans: Map<string, Entry<PlanSpec>>;
  products: Map<string, Entry<ProductSpec>>;
  webhooks: Map<string, Entry<WebhookSpec>>;
}

/**
 * The caller's provider: a provider token's own, or (operator) the one named `name`, which
 * may not exist yet (`null`: apply creates it).
 */
export async function resolveProvider(
  client: AdminClient,
  name: string | undefined,
): Promise<{ provider: { id: string; name: string } | null; operator: boolean }> {
  const me = await client.get<{ scope: 'operator' | 'provider'; providerId: string | null }>('/whoami');
  if (me.scope === 'provider') {
    const own = await client.get<{ id: string; name: string }>(`/providers/${me.providerId}`);
    if (name !== undefined && name !== own.name)
      throw new AdminApiError(
        403,
        'FORBIDDEN',
        `the file is for provider ${JSON.stringify(name)}, but this token belongs to ${JSON.stringify(own.name)}`,
      );
    return { provider: own, operator: false };
  }
  if (name === undefined)
    throw new AdminApiError(
      400,
      'VALIDATION_FAILED',
      "provider: required with an operator token (the provider's name)",
    );
  const named = (await client.all<{ id: string; name: string }>('/providers')).filter((p) => p.name === name);
  if (named.length > 1)
    throw new AdminApiError(
      409,
      'CONFLICT',
      `${named.length} providers are named ${JSON.stringify(name)}; rename one`,
    );
  return { provider: named[0] ?? null, operator: true };
}

export async function readState(
  client: AdminClient,
  provider: { id: string; name: string } | null,
): Promise<State> {
  const state: State = {
    provider,
    apis: new Map(),
    plans: new Map(),
    products: new Map(),
    webhooks: new Map(),
  };
  if (!provider) return state;
  const mine = <T extends { providerId: string }>(items: T[]) =>
    items.filter((i) => i.providerId === provider.id);
  const [apis, plans, products, hooks] = await Promise.all([
    client.all<ApiView>('/apis').then(mine),
    client.all<PlanView>('/plans').then(mine),
    client.all<ProductView>('/products').then(mine),
    // Endpoints come in one list (a provider has few), not in pages.
    client
      .get<{ items: EndpointView[] }>('/webhooks/endpoints', { providerId: provider.id })
      .then((r) => mine(r.items)),
  ]);
  const apiName = new Map<string, string>();
  for (const a of apis) {
    unique(state.apis, a.name, 'API');
    apiName.set(a.id, a.name);
    state.apis.set(a.name, { id: a.id, view: a, spec: apiSpec.parse(apiOf(a)) });
  }
  const routeRef = new Map<string, string>();
  for (const a of apis) for (const r of a.routes) routeRef.set(r.id, routeRefOf(a.name, r));
  const planName = new Map<string, string>();
  for (const pl of plans) {
    unique(state.plans, pl.name, 'plan');
    planName.set(pl.id, pl.name);
    const price = await client
      .get<{ price: unknown }>(`/plans/${pl.id}/price`)
      .then((r) => r.price)
      .catch((err: unknown) => {
        if (err instanceof AdminApiError && err.status === 404) return undefined;
        throw err;
      });
    const spec = {
      name: pl.name,
      description: pl.description,
      apis: pl.apiIds.map((id) => apiName.get(id) ?? id),
      throttle: pl.throttle,
      quota: pl.quota,
      routeThrottles: Object.fromEntries(
        Object.entries(pl.routeThrottles).flatMap(([id, t]) =>
          routeRef.has(id) ? [[routeRef.get(id), t]] : [],
        ),
      ),
      overQuota: pl.overQuota,
      billable: pl.billable,
      failureMode: pl.failureMode,
      ...(price === undefined ? {} : { price }),
    };
    state.plans.set(pl.name, { id: pl.id, spec: planSpec.parse(spec) });
  }
  for (const pr of products) {
    state.products.set(pr.productCode, {
      id: pr.id,
      spec: productSpec.parse({
        productCode: pr.productCode,
        title: pr.title,
        summary: pr.summary,
        description: pr.description,
        apis: pr.apiIds.map((id) => apiName.get(id) ?? id),
        plans: pr.planIds.map((id) => planName.get(id) ?? id),
        visibility: pr.visibility,
        fulfilment: pr.fulfilment,
        externalProductCode: pr.externalProductCode,
        registrationUrl: pr.registrationUrl,
        notificationUrl: pr.notificationUrl,
        published: pr.status === 'published',
      }),
    });
  }
  for (const h of hooks)
    state.webhooks.set(h.url, { id: h.id, spec: webhookSpec.parse({ url: h.url, enabled: h.enabled }) });
  return state;
}

function apiOf(a: ApiView) {
  return {
    name: a.name,
    upstreamUrl: a.upstreamUrl,
    pathPrefix: a.pathPrefix,
    host: a.host,
    stripPrefix: a.stripPrefix,
    timeoutMs: a.timeoutMs,
    routes: a.routes.map((r) => ({
      method: r.method,
      path: r.path,
      dimension: r.dimension,
      units: r.units,
      public: r.public,
      throttle: r.throttle,
    })),
  };
}

function unique(map: Map<string, unknown>, name: string, what: string) {
  if (map.has(name))
    throw new AdminApiError(
      409,
      'CONFLICT',
      `two ${what}s are named ${JSON.stringify(name)}; rename one before using a file`,
    );
}

/** The state as a file: what `tollgate export` writes. */
export function toFile(state: State): TollgateFile {
  return {
    version: 1,
    ...(state.provider ? { provider: state.provider.name } : {}),
    apis: [...state.apis.values()].map((e) => e.spec),
    plans: [...state.plans.values()].map((e) => e.spec),
    products: [...state.products.values()].map((e) => e.spec),
    webhooks: [...state.webhooks.values()].map((e) => e.spec),
  };
}
