/**
 * Tollgate records ↔ API Gateway shapes (restJson1 wire names; times in epoch seconds).
 *
 * - UsagePlan ↔ plan: throttle {rateLimit, burstLimit} and quota {limit, offset, period} are
 *   the same; `apiStages` ↔ plan.apiIds, each as stage `prod` (a Tollgate API has one stage);
 *   a stage's per-method throttles `"/resource/path/METHOD"` ↔ routeThrottles keyed by the
 *   route with that path template and method (`*` for any method).
 * - ApiKey ↔ key: id, name, enabled, created/updated; `customerId` ↔ the externalCustomerId
 *   of the key's consumer. The value is in the CreateApiKey answer, and later only where the
 *   installation keeps values (key-values.ts).
 */

import { sql } from 'kysely';
import type { Actor, PlanView } from '../catalog/index.js';
import type { Store } from '../store/index.js';
import { badRequest } from './errors.js';

export const STAGE = 'prod';
/** The reserved name of each provider's plan for keys that are in no usage plan (see attach.ts). */
export const HOLDING_PLAN = 'apigw: keys without a usage plan';

export interface WireThrottle {
  burstLimit?: number;
  rateLimit?: number;
}
export interface WireQuota {
  limit?: number;
  offset?: number;
  period?: string;
}
export interface WireApiStage {
  apiId?: string;
  stage?: string;
  throttle?: Record<string, WireThrottle>;
}

export const seconds = (iso: string | null): number | undefined =>
  iso ? Math.floor(Date.parse(iso) / 1000) : undefined;

interface RouteRow {
  id: string;
  api_id: string;
  method: string;
  path: string;
}

async function routesOf(store: Store, apiIds: string[]): Promise<RouteRow[]> {
  if (apiIds.length === 0) return [];
  return store.db
    .selectFrom('routes')
    .select(['id', 'api_id', 'method', 'path'])
    .where('api_id', 'in', apiIds)
    .execute();
}

/** `/pets/{id}` + `GET` → `/pets/{id}/GET`; the root `/` gives `//GET` as in API Gateway. */
export const methodKey = (path: string, method: string) => `${path}/${method}`;

/** A throttle or quota in the wire shape: exactly the fields that are set. */
const setFields = <T extends object>(o: T): Partial<T> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

export async function usagePlanWire(store: Store, plan: PlanView) {
  const routes = await routesOf(store, plan.apiIds);
  const byId = new Map(routes.map((r) => [r.id, r]));
  const apiStages = plan.apiIds.map((apiId) => {
    const throttle: Record<string, WireThrottle> = {};
    for (const [routeId, t] of Object.entries(plan.routeThrottles)) {
      const r = byId.get(routeId);
      if (r && r.api_id === apiId)
        throttle[methodKey(r.path, r.method)] = setFields({
          burstLimit: t.burstLimit,
          rateLimit: t.rateLimit,
        });
    }
    return { apiId, stage: STAGE, ...(Object.keys(throttle).length ? { throttle } : {}) };
  });
  const q = plan.quota;
  return {
    id: plan.id,
    name: plan.name,
    description: plan.description,
    apiStages,
    ...(plan.throttle
      ? { throttle: setFields({ burstLimit: plan.throttle.burstLimit, rateLimit: plan.throttle.rateLimit }) }
      : {}),
    ...(q ? { quota: setFields({ limit: q.limit, offset: q.offset, period: q.period }) } : {}),
  };
}

/**
 * apiStages → apiIds + routeThrottles; refuses stages other than `prod` and unknown methods.
 * The method throttles are taken as given (`whole` fills what they leave out with 0, for
 * CreateUsagePlan: see wholeThrottle).
 */
export async function fromApiStages(
  store: Store,
  stages: WireApiStage[],
  field = 'apiStages',
  whole = false,
): Promise<{ apiIds: string[]; routeThrottles: Record<string, WireThrottle> }> {
  const apiIds: string[] = [];
  stages.forEach((s, i) => {
    if (typeof s.apiId !== 'string' || !s.apiId) throw badRequest(`${field}[${i}].apiId: is required`);
    if (s.stage !== undefined && s.stage !== STAGE)
      throw badRequest(`${field}[${i}].stage: Tollgate APIs have one stage, "${STAGE}" (got "${s.stage}")`);
    apiIds.push(s.apiId);
  });
  const routes = await routesOf(store, apiIds);
  const routeThrottles: Record<string, WireThrottle> = {};
  stages.forEach((s, i) => {
    for (const [key, t] of Object.entries(s.throttle ?? {})) {
      const cut = key.lastIndexOf('/');
      const path = key.slice(0, cut) || '/';
      const method = key.slice(cut + 1);
      const r = routes.find((x) => x.api_id === s.apiId && x.path === path && x.method === method);
      if (!r)
        throw badRequest(`${field}[${i}].throttle.${key}: API ${s.apiId} has no route ${method} ${path}`);
      const f = `${field}[${i}].throttle.${key}`;
      routeThrottles[r.id] = whole ? wholeThrottle(t, f) : throttleFields(t, f);
    }
  });
  return { apiIds, routeThrottles };
}

function numberField(v: unknown, field: string, int: boolean): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (int && !Number.isInteger(v)))
    throw badRequest(`${field}: must be ${int ? 'an integer' : 'a number'} of 0 or more`);
  return v;
}

/** The fields of a throttle that are set (a patch may have set one and not the other). */
export function throttleFields(t: WireThrottle, field: string): WireThrottle {
  if (!t || typeof t !== 'object') throw badRequest(`${field}: must be an object {rateLimit, burstLimit}`);
  const rateLimit = numberField(t.rateLimit, `${field}.rateLimit`, false);
  const burstLimit = numberField(t.burstLimit, `${field}.burstLimit`, true);
  return setFields({ rateLimit, burstLimit });
}

/**
 * A throttle sent whole (CreateUsagePlan). In API Gateway's model both members default to 0,
 * and restJson1 serializers leave out a member equal to its default (Terraform's
 * `throttle_settings { burst_limit = 10 }` arrives as `{"burstLimit": 10}`, and its later
 * patches send the rate as "0"), so what the object leaves out is 0. A limit of 0 admits
 * no call (burst) or never refills (rate).
 */
export function wholeThrottle(t: WireThrottle, field: string): { rateLimit: number; burstLimit: number } {
  const f = throttleFields(t, field);
  return { rateLimit: f.rateLimit ?? 0, burstLimit: f.burstLimit ?? 0 };
}

/** The fields of a quota that are set; `period` must be DAY, WEEK or MONTH when it is. */
export function quotaFields(q: WireQuota, field: string, timeZone = 'UTC') {
  if (!q || typeof q !== 'object') throw badRequest(`${field}: must be an object {limit, offset, period}`);
  if (q.period !== undefined && q.period !== 'DAY' && q.period !== 'WEEK' && q.period !== 'MONTH')
    throw badRequest(`${field}.period: must be DAY, WEEK or MONTH`);
  const limit = numberField(q.limit, `${field}.limit`, true);
  const offset = numberField(q.offset, `${field}.offset`, true) ?? 0;
  return {
    ...(limit !== undefined ? { limit } : {}),
    ...(q.period !== undefined ? { period: q.period as 'DAY' | 'WEEK' | 'MONTH' } : {}),
    offset,
    timeZone,
  };
}

/**
 * A quota sent whole (CreateUsagePlan): `limit` and `offset` default to 0 in API Gateway's
 * model, as for throttles (wholeThrottle); `period` has no default and stays unset when left
 * out (a quota without a period is not enforced).
 */
export function wholeQuota(q: WireQuota, field: string) {
  const f = quotaFields(q, field);
  return { ...f, limit: f.limit ?? 0 };
}

// ---------------------------------------------------------------- keys

export interface KeyRow {
  id: string;
  name: string;
  enabled: number;
  created_at: number;
  updated_at: number;
  subscription_id: string;
  plan_id: string;
  plan_name: string;
  provider_id: string;
  consumer_id: string;
  customer_id: string | null;
}

/** A KeyRow's columns but its subscription (whose source differs: own or linked). */
const KEY_COLUMNS = [
  'api_keys.id',
  'api_keys.name',
  'api_keys.enabled',
  'api_keys.created_at',
  'api_keys.updated_at',
  'plans.id as plan_id',
  'plans.name as plan_name',
  'plans.provider_id',
  'consumers.id as consumer_id',
  'consumers.external_customer_id as customer_id',
] as const;

/** Keys visible to the actor (a provider: keys on its plans), with plan and consumer. */
export function keysQuery(store: Store, actor: Actor) {
  let q = store.db
    .selectFrom('api_keys')
    .innerJoin('subscriptions', 'subscriptions.id', 'api_keys.subscription_id')
    .innerJoin('plans', 'plans.id', 'subscriptions.plan_id')
    .innerJoin('consumers', 'consumers.id', 'subscriptions.consumer_id')
    .select([...KEY_COLUMNS, 'api_keys.subscription_id']);
  if (actor.kind === 'provider') q = q.where('plans.provider_id', '=', actor.providerId);
  return q;
}

/**
 * The further usage plans of keys (a key in several plans: the catalog's
 * api_key_subscriptions), one row per (key, linked subscription), in the shape of keysQuery
 * with that subscription's plan.
 */
export function linkedKeysQuery(store: Store, actor: Actor) {
  let q = store.db
    .selectFrom('api_key_subscriptions')
    .innerJoin('api_keys', 'api_keys.id', 'api_key_subscriptions.key_id')
    .innerJoin('subscriptions', 'subscriptions.id', 'api_key_subscriptions.subscription_id')
    .innerJoin('plans', 'plans.id', 'subscriptions.plan_id')
    .innerJoin('consumers', 'consumers.id', 'subscriptions.consumer_id')
    .select([...KEY_COLUMNS, 'api_key_subscriptions.subscription_id']);
  if (actor.kind === 'provider') q = q.where('plans.provider_id', '=', actor.providerId);
  return q;
}

/** The keys in a usage plan — by their own subscription or a linked one — ordered by id. */
export async function keysInPlan(
  store: Store,
  actor: Actor,
  planId: string,
  opts: { after?: string | undefined; name?: string | undefined; limit: number },
): Promise<KeyRow[]> {
  let own = keysQuery(store, actor).where('plans.id', '=', planId).orderBy('api_keys.id').limit(opts.limit);
  let linked = linkedKeysQuery(store, actor)
    .where('plans.id', '=', planId)
    .orderBy('api_keys.id')
    .limit(opts.limit);
  if (opts.after) {
    own = own.where('api_keys.id', '>', opts.after);
    linked = linked.where('api_keys.id', '>', opts.after);
  }
  if (opts.name) {
    const prefix = sql<string>`substr(api_keys.name, 1, ${opts.name.length})`;
    own = own.where(prefix, '=', opts.name);
    linked = linked.where(prefix, '=', opts.name);
  }
  const rows = [...(await own.execute()), ...(await linked.execute())];
  rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return rows.slice(0, opts.limit);
}

export function apiKeyWire(
  k: KeyRow,
  value?: string,
  extra: { description?: string | null; tags?: Record<string, string> } = {},
) {
  return {
    id: k.id,
    ...(value !== undefined ? { value } : {}),
    name: k.name,
    ...(k.customer_id ? { customerId: k.customer_id } : {}),
    ...(extra.description ? { description: extra.description } : {}),
    enabled: Number(k.enabled) === 1,
    createdDate: Math.floor(Number(k.created_at) / 1000),
    lastUpdatedDate: Math.floor(Number(k.updated_at) / 1000),
    stageKeys: [] as string[],
    ...(extra.tags && Object.keys(extra.tags).length ? { tags: extra.tags } : {}),
  };
}

export function usagePlanKeyWire(k: KeyRow) {
  return { id: k.id, type: 'API_KEY', name: k.name };
}

/** `limit` (default 25, at most 500) and `position` (an id from a previous page). */
export function paging(q: { limit?: string | undefined; position?: string | undefined }) {
  const limit = q.limit === undefined ? 25 : Number(q.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 500)
    throw badRequest('limit: must be an integer 1-500');
  if (q.position !== undefined && !/^[a-z]{2,5}_[0-9A-Z]{26}$/.test(q.position))
    throw badRequest('position: must be a position from a previous page');
  return { limit, position: q.position };
}
