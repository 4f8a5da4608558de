/**
 * Rows → the JSON views the admin API returns and the audit log records: camelCase, times
 * as ISO 8601 strings, booleans as booleans, JSON columns parsed. Never a key or token hash.
 */
import {
  type AdminTokenTable,
  type ApiKeyTable,
  type ApiTable,
  type AuditTable,
  type ConsumerTable,
  type PlanTable,
  type ProviderTable,
  parseJson,
  type RouteTable,
  type SubscriptionTable,
} from '../store/index.js';
import { bool, iso } from './context.js';
import type { SubscriptionStatus } from './schemas.js';

/** A field left unset is absent (API Gateway sets them one at a time); enforced once both are set. */
export interface Throttle {
  rateLimit?: number;
  burstLimit?: number;
}

export interface ProviderView {
  id: string;
  name: string;
  createdAt: string;
}

export interface RouteView {
  id: string;
  method: string;
  path: string;
  dimension: string;
  units: number;
  public: boolean;
  throttle: Throttle | null;
}

export interface ApiView {
  id: string;
  providerId: string;
  name: string;
  upstreamUrl: string;
  pathPrefix: string | null;
  host: string | null;
  stripPrefix: boolean;
  timeoutMs: number;
  openapi: Record<string, unknown> | null;
  routes: RouteView[];
  cors: CorsView | null;
  rateLimitHeaders: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface CorsView {
  allowOrigins: string[];
  allowMethods: string[];
  allowHeaders: string[];
  maxAgeSeconds: number;
}

/** `limit` or `period` may be unset (absent); the quota is enforced once both are set. */
export interface QuotaView {
  limit?: number;
  period?: 'DAY' | 'WEEK' | 'MONTH';
  offset: number;
  timeZone: string;
}

/** The throttle the gateway enforces: both fields set, else none. */
export function enforcedThrottle(t: Throttle | null): Required<Throttle> | null {
  return t?.rateLimit !== undefined && t.burstLimit !== undefined
    ? { rateLimit: t.rateLimit, burstLimit: t.burstLimit }
    : null;
}

/** The quota the gateway enforces: limit and period set, else none. */
export function enforcedQuota(q: QuotaView | null): Required<QuotaView> | null {
  return q?.limit !== undefined && q.period !== undefined
    ? { limit: q.limit, period: q.period, offset: q.offset, timeZone: q.timeZone }
    : null;
}

export interface PlanView {
  id: string;
  providerId: string;
  name: string;
  description: string;
  apiIds: string[];
  throttle: Throttle | null;
  quota: QuotaView | null;
  routeThrottles: Record<string, Throttle>;
  overQuota: 'block' | 'overage';
  billable: 'lt500' | '2xx';
  failureMode: 'open' | 'closed';
  createdAt: string;
  updatedAt: string;
}

export interface ConsumerView {
  id: string;
  providerId: string | null;
  name: string;
  email: string | null;
  externalCustomerId: string | null;
  external: Record<string, string>;
  createdAt: string;
  updatedAt: string;
}

export interface SubscriptionView {
  id: string;
  consumerId: string;
  planId: string;
  status: SubscriptionStatus;
  startedAt: string;
  trialEndsAt: string | null;
  cancelledAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface KeyView {
  id: string;
  subscriptionId: string;
  name: string;
  prefix: string;
  enabled: boolean;
  expiresAt: string | null;
  replacedBy: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface TokenView {
  id: string;
  name: string;
  scope: 'operator' | 'provider';
  providerId: string | null;
  createdAt: string;
  revokedAt: string | null;
}

export interface AuditView {
  id: string;
  at: string;
  actor: string;
  action: string;
  entity: string;
  entityId: string;
  providerId: string | null;
  before: unknown;
  after: unknown;
}

const throttleOf = (rate: number | null, burst: number | null): Throttle | null =>
  rate == null && burst == null
    ? null
    : {
        ...(rate != null ? { rateLimit: Number(rate) } : {}),
        ...(burst != null ? { burstLimit: Number(burst) } : {}),
      };

export const providerView = (r: ProviderTable): ProviderView => ({
  id: r.id,
  name: r.name,
  createdAt: iso(r.created_at)!,
});

export const routeView = (r: RouteTable): RouteView => ({
  id: r.id,
  method: r.method,
  path: r.path,
  dimension: r.dimension,
  units: Number(r.units),
  public: bool(r.public),
  throttle: throttleOf(r.throttle_rate, r.throttle_burst),
});

export const apiView = (r: ApiTable, routes: RouteTable[]): ApiView => ({
  id: r.id,
  providerId: r.provider_id,
  name: r.name,
  upstreamUrl: r.upstream_url,
  pathPrefix: r.path_prefix,
  host: r.host,
  stripPrefix: bool(r.strip_prefix),
  timeoutMs: Number(r.timeout_ms),
  openapi: parseJson<Record<string, unknown> | null>(r.openapi, null),
  routes: [...routes].sort((a, b) => a.position - b.position).map(routeView),
  cors: parseJson<CorsView | null>(r.cors, null),
  rateLimitHeaders: bool(r.ratelimit_headers),
  createdAt: iso(r.created_at)!,
  updatedAt: iso(r.updated_at)!,
});

export const planView = (r: PlanTable): PlanView => ({
  id: r.id,
  providerId: r.provider_id,
  name: r.name,
  description: r.description,
  apiIds: parseJson<string[]>(r.api_ids, []),
  throttle: throttleOf(r.throttle_rate, r.throttle_burst),
  quota:
    r.quota_limit == null && r.quota_period == null && !Number(r.quota_offset)
      ? null
      : {
          ...(r.quota_limit != null ? { limit: Number(r.quota_limit) } : {}),
          ...(r.quota_period != null ? { period: r.quota_period as NonNullable<QuotaView['period']> } : {}),
          offset: Number(r.quota_offset),
          timeZone: r.quota_time_zone,
        },
  routeThrottles: parseJson<Record<string, Throttle>>(r.route_throttles, {}),
  overQuota: r.over_quota as PlanView['overQuota'],
  billable: r.billable as PlanView['billable'],
  failureMode: r.failure_mode as PlanView['failureMode'],
  createdAt: iso(r.created_at)!,
  updatedAt: iso(r.updated_at)!,
});

export const consumerView = (r: ConsumerTable): ConsumerView => ({
  id: r.id,
  providerId: r.provider_id,
  name: r.name,
  email: r.email,
  externalCustomerId: r.external_customer_id,
  external: parseJson<Record<string, string>>(r.external, {}),
  createdAt: iso(r.created_at)!,
  updatedAt: iso(r.updated_at)!,
});

export const subscriptionView = (r: SubscriptionTable): SubscriptionView => ({
  id: r.id,
  consumerId: r.consumer_id,
  planId: r.plan_id,
  status: r.status as SubscriptionStatus,
  startedAt: iso(r.started_at)!,
  trialEndsAt: iso(r.trial_ends_at),
  cancelledAt: iso(r.cancelled_at),
  createdAt: iso(r.created_at)!,
  updatedAt: iso(r.updated_at)!,
});

export const keyView = (r: ApiKeyTable): KeyView => ({
  id: r.id,
  subscriptionId: r.subscription_id,
  name: r.name,
  prefix: r.prefix,
  enabled: bool(r.enabled),
  expiresAt: iso(r.expires_at),
  replacedBy: r.replaced_by,
  createdAt: iso(r.created_at)!,
  updatedAt: iso(r.updated_at)!,
});

export const tokenView = (r: AdminTokenTable): TokenView => ({
  id: r.id,
  name: r.name,
  scope: r.scope as TokenView['scope'],
  providerId: r.provider_id,
  createdAt: iso(r.created_at)!,
  revokedAt: iso(r.revoked_at),
});

export const auditView = (r: AuditTable): AuditView => ({
  id: r.id,
  at: iso(r.at)!,
  actor: r.actor,
  action: r.action,
  entity: r.entity,
  entityId: r.entity_id,
  providerId: r.provider_id,
  before: parseJson<unknown>(r.before, null),
  after: parseJson<unknown>(r.after, null),
});
