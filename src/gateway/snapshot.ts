/**
 * The gateway's in-memory view of the control plane: APIs and their routes, plans, and
 * keys by hash. The hot path reads only this; it never touches the database. The admit
 * step only memoises on its objects (`CompiledPlan.window`, the current quota window, and
 * a per-key cache of the limits request), values derived from the records and the clock.
 *
 * A full load (`loadSnapshot`) reads the keys in pages and yields to the event loop between
 * them, so building a large catalog never stalls serving for long; the new snapshot is
 * swapped in whole. After that, changes are applied entity by entity (snapshot-patch.ts):
 * the maps are updated in place, but every entry or plan that changes is replaced by a new
 * object with empty memos, never edited, so no reader sees a record change half-way.
 * `SnapshotHolder` (snapshot-holder.ts) decides which of the two to do.
 */
import { quotaWindow } from '../limits/index.js';
import {
  type ApiKeyTable,
  type ApiTable,
  type Db,
  latestChange,
  type PlanTable,
  parseJson,
  type RouteTable,
  type Store,
  type SubscriptionTable,
} from '../store/index.js';
import { type CompiledCors, type CorsSettings, compileCors } from './cors.js';
import { compilePath, type PathTemplate, specificity } from './paths.js';

export interface Throttle {
  rate: number;
  burst: number;
}

export interface CompiledRoute {
  id: string;
  method: string;
  template: PathTemplate;
  dimension: string;
  /** Units per call, unless the upstream reports them in an `x-tollgate-units` header. */
  units: number;
  public: boolean;
  /** Route-wide throttle shared by every caller (API Gateway's stage/method throttle). */
  throttle: Throttle | null;
}

export interface CompiledApi {
  id: string;
  providerId: string;
  name: string;
  /** `http://host:port` of the upstream. */
  origin: string;
  /** Path of the upstream URL, prepended to the forwarded path ('' for `/`). */
  basePath: string;
  pathPrefix: string;
  host: string | null;
  stripPrefix: boolean;
  timeoutMs: number;
  routes: CompiledRoute[];
  /** Browser access; null: no CORS headers and preflights go to the routes like any call. */
  cors: CompiledCors | null;
  rateLimitHeaders: boolean;
}

export interface QuotaSpec {
  limit: number;
  period: 'DAY' | 'WEEK' | 'MONTH';
  offset: number;
  timeZone: string;
}

export interface CompiledPlan {
  id: string;
  providerId: string;
  apiIds: Set<string>;
  throttle: Throttle | null;
  quota: QuotaSpec | null;
  routeThrottles: Map<string, Throttle>;
  overQuota: 'block' | 'overage';
  billable: (status: number) => boolean;
  failureMode: 'open' | 'closed';
  /** Memo of the current quota window, filled by the admit step (derived from `quota` and the clock). */
  window: { start: number; end: number } | null;
  /** `RateLimit-Policy` value for this plan's throttle and quota, built once per snapshot. */
  ratePolicy: string | null;
}

export interface KeyEntry {
  keyId: string;
  subscriptionId: string;
  consumerId: string;
  enabled: boolean;
  expiresAt: number | null;
  /** The subscription is in a state that may call (trialing, active, cancel_pending). */
  active: boolean;
  subscriptionStart: number;
  /**
   * The buyer's spend cap is reached until this instant (ms; 0: not capped). Set by the
   * metering side (payments' spend control) in the store, so the gateway only compares.
   */
  cappedUntil: number;
  plan: CompiledPlan;
  /**
   * The same key on its further subscriptions (a key in several usage plans: the catalog's
   * api_key_subscriptions), oldest link first; none of their plans shares an API with `plan`
   * or with another's. Empty for almost every key. Each is an entry of its own (its own
   * subscription, plan and memos) with `others` empty.
   */
  others: readonly KeyEntry[];
}

export interface Snapshot {
  builtAt: number;
  /** The last change-log number (src/store/changes.ts) this snapshot includes. */
  version: number;
  /** Host-bound APIs first, then by prefix length, longest first. */
  apis: CompiledApi[];
  /** By key hash: the entry of the key's own subscription, its further ones in `others`. */
  keys: Map<string, KeyEntry>;
  /** Each key's hash by key id: finds the entry a key change replaces or drops. */
  hashes: Map<string, string>;
  /** Sum of quota adjustments by `${subscriptionId}:${windowStart}`. */
  adjustments: Map<string, number>;
  plans: Map<string, CompiledPlan>;
}

const CALLABLE = new Set(['trialing', 'active', 'cancel_pending']);
/** Keys read per query in a full load; the event loop runs between pages. */
const PAGE = 5_000;

export type KeyRow = Pick<ApiKeyTable, 'hash' | 'enabled' | 'expires_at'> &
  Pick<SubscriptionTable, 'consumer_id' | 'plan_id' | 'status' | 'started_at'> & {
    key_id: string;
    subscription_id: string;
  };

/** A KeyRow's columns: a key joined with one of its subscriptions. */
const KEY_ROW_COLUMNS = [
  'api_keys.id as key_id',
  'api_keys.hash',
  'api_keys.enabled',
  'api_keys.expires_at',
  'subscriptions.id as subscription_id',
  'subscriptions.consumer_id',
  'subscriptions.plan_id',
  'subscriptions.status',
  'subscriptions.started_at',
] as const;

/** Keys joined with their subscription: what a key entry is built from. */
export function keyRows(db: Db) {
  return db
    .selectFrom('api_keys')
    .innerJoin('subscriptions', 'subscriptions.id', 'api_keys.subscription_id')
    .select(KEY_ROW_COLUMNS);
}

/**
 * A key's further subscriptions (api_key_subscriptions), in the shape of keyRows, oldest
 * link first within a key.
 */
export function linkRows(db: Db) {
  return db
    .selectFrom('api_key_subscriptions')
    .innerJoin('api_keys', 'api_keys.id', 'api_key_subscriptions.key_id')
    .innerJoin('subscriptions', 'subscriptions.id', 'api_key_subscriptions.subscription_id')
    .select(KEY_ROW_COLUMNS)
    .orderBy('api_keys.id')
    .orderBy('api_key_subscriptions.created_at')
    .orderBy('subscriptions.id');
}

/** Link rows grouped by key id (order kept). */
export function byKey(rows: KeyRow[]): Map<string, KeyRow[]> {
  const out = new Map<string, KeyRow[]>();
  for (const r of rows) {
    const list = out.get(r.key_id);
    if (list) list.push(r);
    else out.set(r.key_id, [r]);
  }
  return out;
}

/**
 * A key's entry: its own subscription's row and its link rows. Null when the own plan is
 * unknown (a full load leaves such a key out); a link on an unknown plan is left out.
 */
export function assembleKey(
  own: KeyRow,
  links: KeyRow[] | undefined,
  planOf: (id: string) => CompiledPlan | null | undefined,
  capOf: (subscriptionId: string) => number,
): KeyEntry | null {
  const plan = planOf(own.plan_id);
  if (!plan) return null;
  const others: KeyEntry[] = [];
  for (const l of links ?? []) {
    const p = planOf(l.plan_id);
    if (p) others.push(keyEntry(l, p, capOf(l.subscription_id), []));
  }
  return keyEntry(own, plan, capOf(own.subscription_id), others);
}

/**
 * The entry for a call to `apiId`: the key's own when its plan grants the API, else the
 * further subscription whose plan does (at most one: the catalog's rule), else the own one
 * (which the caller then refuses as not in the plan). One Set lookup for a key in one plan.
 */
export function entryForApi(key: KeyEntry, apiId: string): KeyEntry {
  if (key.plan.apiIds.has(apiId)) return key;
  for (const o of key.others) if (o.plan.apiIds.has(apiId)) return o;
  return key;
}

/** Every entry of `keys`, the further subscriptions' included. */
export function* allEntries(keys: Iterable<KeyEntry>): Generator<KeyEntry> {
  for (const k of keys) {
    yield k;
    yield* k.others;
  }
}

/** Spend caps still in force at `now`, by subscription (all, or only those listed). */
export async function loadCaps(
  db: Db,
  now: number,
  subscriptionIds?: string[],
): Promise<Map<string, number>> {
  if (subscriptionIds?.length === 0) return new Map();
  let q = db
    .selectFrom('spend_budgets')
    .select(['subscription_id', 'capped_until'])
    .where('capped_until', '>', now);
  if (subscriptionIds) q = q.where('subscription_id', 'in', subscriptionIds);
  const rows = await q.execute();
  return new Map(rows.map((r) => [r.subscription_id, Number(r.capped_until)]));
}

/** Quota adjustments summed by `${subscriptionId}:${windowStart}` (all, or only those listed). */
export async function loadAdjustments(db: Db, subscriptionIds?: string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (subscriptionIds?.length === 0) return out;
  let q = db
    .selectFrom('quota_adjustments')
    .select(['subscription_id', 'window_start', (eb) => eb.fn.sum<number>('delta').as('delta')])
    .groupBy(['subscription_id', 'window_start']);
  if (subscriptionIds) q = q.where('subscription_id', 'in', subscriptionIds);
  for (const a of await q.execute()) out.set(`${a.subscription_id}:${a.window_start}`, Number(a.delta));
  return out;
}

export async function loadSnapshot(store: Store, now: number): Promise<Snapshot> {
  const db = store.db;
  // Read first: a change committed while the pages are read is applied again afterwards,
  // which is harmless (a change reloads the entity's current state).
  const version = await latestChange(db);
  const [apiRows, routeRows, planRows, adjustments, capped] = await Promise.all([
    db.selectFrom('apis').selectAll().execute(),
    db.selectFrom('routes').selectAll().orderBy('position').execute(),
    db.selectFrom('plans').selectAll().execute(),
    loadAdjustments(db),
    loadCaps(db, now),
  ]);
  const plans = new Map<string, CompiledPlan>();
  for (const p of planRows) plans.set(p.id, compilePlan(p, now));
  const keys = new Map<string, KeyEntry>();
  const hashes = new Map<string, string>();
  let cursor = '';
  for (;;) {
    const page = await keyRows(db)
      .where('api_keys.id', '>', cursor)
      .orderBy('api_keys.id')
      .limit(PAGE)
      .execute();
    const links =
      page.length === 0
        ? new Map<string, KeyRow[]>()
        : byKey(
            await linkRows(db)
              .where('api_keys.id', '>', cursor)
              .where('api_keys.id', '<=', page[page.length - 1]!.key_id)
              .execute(),
          );
    for (const k of page) {
      const entry = assembleKey(
        k,
        links.get(k.key_id),
        (id) => plans.get(id),
        (sub) => capped.get(sub) ?? 0,
      );
      if (!entry) continue;
      keys.set(k.hash, entry);
      hashes.set(k.key_id, k.hash);
    }
    if (page.length < PAGE) break;
    cursor = page[page.length - 1]!.key_id;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return { builtAt: now, version, apis: compileApis(apiRows, routeRows), keys, hashes, adjustments, plans };
}

export function keyEntry(
  k: KeyRow,
  plan: CompiledPlan,
  cappedUntil: number,
  others: readonly KeyEntry[] = [],
): KeyEntry {
  return {
    keyId: k.key_id,
    subscriptionId: k.subscription_id,
    consumerId: k.consumer_id,
    enabled: k.enabled === 1,
    expiresAt: k.expires_at,
    active: CALLABLE.has(k.status),
    subscriptionStart: k.started_at,
    cappedUntil,
    plan,
    others,
  };
}

/** A copy of `e` on another plan (a new object: the admit step caches rules per entry). */
export function onPlan(e: KeyEntry, plan: CompiledPlan, others: readonly KeyEntry[] = e.others): KeyEntry {
  return {
    keyId: e.keyId,
    subscriptionId: e.subscriptionId,
    consumerId: e.consumerId,
    enabled: e.enabled,
    expiresAt: e.expiresAt,
    active: e.active,
    subscriptionStart: e.subscriptionStart,
    cappedUntil: e.cappedUntil,
    plan,
    others,
  };
}

/**
 * `e` after the plans in `changed` were recompiled (null: deleted): `e` itself when none of
 * its plans changed; null when its own plan is gone (as a full load would leave the key
 * out); otherwise a new entry whose changed plans are the new objects and whose further
 * subscriptions on a deleted plan are left out.
 */
export function replanned(e: KeyEntry, changed: Map<string, CompiledPlan | null>): KeyEntry | null {
  if (!changed.has(e.plan.id) && !e.others.some((o) => changed.has(o.plan.id))) return e;
  const own = changed.has(e.plan.id) ? changed.get(e.plan.id) : e.plan;
  if (!own) return null;
  const others: KeyEntry[] = [];
  for (const o of e.others) {
    if (!changed.has(o.plan.id)) others.push(o);
    else {
      const p = changed.get(o.plan.id);
      if (p) others.push(onPlan(o, p, []));
    }
  }
  return onPlan(e, own, others);
}

/** Every API with its routes, host-bound first, then by prefix length, longest first. */
export function compileApis(apiRows: ApiTable[], routeRows: RouteTable[]): CompiledApi[] {
  const routesByApi = new Map<string, CompiledRoute[]>();
  for (const r of routeRows) {
    const list = routesByApi.get(r.api_id) ?? [];
    list.push({
      id: r.id,
      method: r.method.toUpperCase(),
      template: compilePath(r.path),
      dimension: r.dimension,
      units: r.units,
      public: r.public === 1,
      throttle: bucket(r.throttle_rate, r.throttle_burst),
    });
    routesByApi.set(r.api_id, list);
  }
  const apis: CompiledApi[] = apiRows.map((a) => {
    const u = new URL(a.upstream_url);
    const routes = routesByApi.get(a.id) ?? [];
    routes.sort((x, y) => specificity(y.template) - specificity(x.template));
    return {
      id: a.id,
      providerId: a.provider_id,
      name: a.name,
      origin: u.origin,
      basePath: u.pathname === '/' ? '' : u.pathname.replace(/\/$/, ''),
      pathPrefix: a.path_prefix ? a.path_prefix.replace(/\/$/, '') : '',
      host: a.host ? a.host.toLowerCase() : null,
      stripPrefix: a.strip_prefix === 1,
      timeoutMs: a.timeout_ms,
      routes,
      cors: a.cors ? compileCors(parseJson<CorsSettings | null>(a.cors, null)) : null,
      rateLimitHeaders: a.ratelimit_headers === 1,
    };
  });
  return apis.sort(
    (x, y) => Number(y.host !== null) - Number(x.host !== null) || y.pathPrefix.length - x.pathPrefix.length,
  );
}

export function compilePlan(p: PlanTable, now: number): CompiledPlan {
  const routeThrottles = new Map<string, Throttle>();
  const raw = parseJson<Record<string, { rateLimit?: number; burstLimit?: number }>>(p.route_throttles, {});
  for (const [routeId, t] of Object.entries(raw)) {
    const b = bucket(t.rateLimit, t.burstLimit);
    if (b) routeThrottles.set(routeId, b);
  }
  const throttle = bucket(p.throttle_rate, p.throttle_burst);
  const quota: QuotaSpec | null =
    p.quota_limit != null && p.quota_period
      ? {
          limit: p.quota_limit,
          period: p.quota_period as QuotaSpec['period'],
          offset: p.quota_offset,
          timeZone: p.quota_time_zone,
        }
      : null;
  return {
    id: p.id,
    providerId: p.provider_id,
    apiIds: new Set(parseJson<string[]>(p.api_ids, [])),
    throttle,
    quota,
    routeThrottles,
    overQuota: p.over_quota === 'overage' ? 'overage' : 'block',
    billable: p.billable === '2xx' ? (s) => s >= 200 && s < 300 : (s) => s < 500,
    failureMode: p.failure_mode === 'closed' ? 'closed' : 'open',
    window: null,
    ratePolicy: ratePolicy(throttle, quota, now),
  };
}

/**
 * A throttle the gateway enforces: both fields set (0 included: burst 0 admits nothing, rate
 * 0 never refills). A throttle with a field unset limits nothing at its level, as in API
 * Gateway, where the next level of its throttling order applies instead.
 */
function bucket(rate: number | null | undefined, burst: number | null | undefined): Throttle | null {
  return rate != null && burst != null ? { rate: Number(rate), burst: Number(burst) } : null;
}

/**
 * The IETF RateLimit-Policy field (draft-ietf-httpapi-ratelimit-headers): the throttle as
 * a burst per second, the quota as its limit over the current window's length (a month's
 * length changes with the month; the snapshot is rebuilt often enough to follow).
 */
function ratePolicy(throttle: Throttle | null, quota: QuotaSpec | null, now: number): string | null {
  const parts: string[] = [];
  if (throttle) parts.push(`"throttle";q=${throttle.burst};w=1`);
  if (quota) {
    const w = quotaWindow(quota.period, quota.timeZone, now);
    parts.push(`"quota";q=${quota.limit};w=${Math.round((w.end - w.start) / 1000)}`);
  }
  return parts.length ? parts.join(', ') : null;
}
