/**
 * The gateway's in-memory view of the control plane: APIs and their routes, plans, and
 * keys by hash. The hot path reads only this; it never touches the database. What a
 * snapshot says never changes once built: the admit step only memoises on its objects
 * (`CompiledPlan.window`, the current quota window, and a per-key cache of the limits
 * request), values derived from the records and the clock, so a new snapshot starts with
 * empty memos and no reader can see a record change. `SnapshotHolder` swaps in a new one
 * when the control plane says something changed (in-process callback, or Redis pub/sub
 * across processes) and on a periodic full reload as the safety net. Reloads are coalesced: at most one runs, and one
 * more is queued if a change arrives meanwhile, so a burst of admin writes costs two loads.
 */
import { quotaWindow } from '../limits/index.js';
import type { Logger } from '../shared/index.js';
import { parseJson, type Store } from '../store/index.js';
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
}

export interface Snapshot {
  builtAt: number;
  /** Host-bound APIs first, then by prefix length, longest first. */
  apis: CompiledApi[];
  keys: Map<string, KeyEntry>;
  /** Sum of quota adjustments by `${subscriptionId}:${windowStart}`. */
  adjustments: Map<string, number>;
  plans: Map<string, CompiledPlan>;
}

const CALLABLE = new Set(['trialing', 'active', 'cancel_pending']);

export async function loadSnapshot(store: Store, now: number): Promise<Snapshot> {
  const db = store.db;
  const [apiRows, routeRows, planRows, keyRows, adjRows, capRows] = await Promise.all([
    db.selectFrom('apis').selectAll().execute(),
    db.selectFrom('routes').selectAll().orderBy('position').execute(),
    db.selectFrom('plans').selectAll().execute(),
    db
      .selectFrom('api_keys')
      .innerJoin('subscriptions', 'subscriptions.id', 'api_keys.subscription_id')
      .select([
        'api_keys.id as key_id',
        'api_keys.hash',
        'api_keys.enabled',
        'api_keys.expires_at',
        'subscriptions.id as subscription_id',
        'subscriptions.consumer_id',
        'subscriptions.plan_id',
        'subscriptions.status',
        'subscriptions.started_at',
      ])
      .execute(),
    db
      .selectFrom('quota_adjustments')
      .select(['subscription_id', 'window_start', (eb) => eb.fn.sum<number>('delta').as('delta')])
      .groupBy(['subscription_id', 'window_start'])
      .execute(),
    db
      .selectFrom('spend_budgets')
      .select(['subscription_id', 'capped_until'])
      .where('capped_until', '>', now)
      .execute(),
  ]);
  const capped = new Map(capRows.map((r) => [r.subscription_id, Number(r.capped_until)]));

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
  apis.sort(
    (x, y) => Number(y.host !== null) - Number(x.host !== null) || y.pathPrefix.length - x.pathPrefix.length,
  );

  const plans = new Map<string, CompiledPlan>();
  for (const p of planRows) {
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
    plans.set(p.id, {
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
    });
  }

  const keys = new Map<string, KeyEntry>();
  for (const k of keyRows) {
    const plan = plans.get(k.plan_id);
    if (!plan) continue;
    keys.set(k.hash, {
      keyId: k.key_id,
      subscriptionId: k.subscription_id,
      consumerId: k.consumer_id,
      enabled: k.enabled === 1,
      expiresAt: k.expires_at,
      active: CALLABLE.has(k.status),
      subscriptionStart: k.started_at,
      cappedUntil: capped.get(k.subscription_id) ?? 0,
      plan,
    });
  }

  const adjustments = new Map<string, number>();
  for (const a of adjRows) adjustments.set(`${a.subscription_id}:${a.window_start}`, Number(a.delta));

  return { builtAt: now, apis, keys, adjustments, plans };
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

/** Runs after a reload, before the new snapshot goes live (e.g. quota counter seeding). */
export type BeforeSwap = (prev: Snapshot, next: Snapshot) => Promise<void>;

export class SnapshotHolder {
  current: Snapshot;
  private loading: Promise<void> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | null = null;
  private beforeSwap: BeforeSwap | null = null;

  constructor(
    initial: Snapshot,
    private readonly load: () => Promise<Snapshot>,
    private readonly log: Logger,
  ) {
    this.current = initial;
  }

  static async create(store: Store, now: () => number, log: Logger): Promise<SnapshotHolder> {
    const load = () => loadSnapshot(store, now());
    return new SnapshotHolder(await load(), load, log);
  }

  setBeforeSwap(fn: BeforeSwap): void {
    this.beforeSwap = fn;
  }

  /** Reload soon; resolves when a snapshot that includes every change before the call is live. */
  refresh(): Promise<void> {
    if (this.loading) {
      this.again = true;
      return this.loading;
    }
    this.loading = (async () => {
      try {
        do {
          this.again = false;
          const next = await this.load();
          if (this.beforeSwap) {
            // A failed hook must not keep the control plane's change from the gateway.
            await this.beforeSwap(this.current, next).catch((err) =>
              this.log.error({ err }, 'snapshot before-swap step failed; swapping anyway'),
            );
          }
          this.current = next;
        } while (this.again);
      } catch (err) {
        this.log.error({ err }, 'snapshot reload failed; keeping the previous one');
      } finally {
        this.loading = null;
      }
    })();
    return this.loading;
  }

  startPeriodic(everyMs: number): void {
    this.timer = setInterval(() => void this.refresh(), everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
