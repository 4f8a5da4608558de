/**
 * Row types of every table, as Kysely sees them. Conventions, identical on SQLite and
 * PostgreSQL so one query serves both:
 * - times are integer milliseconds since the epoch (`bigint` on PostgreSQL, parsed to number);
 * - booleans are integers 0/1;
 * - decimals (prices) are text, parsed by decimal.js;
 * - structured settings are JSON text.
 */
export interface ProviderTable {
  id: string;
  name: string;
  created_at: number;
}

/** A host the operator assigned to a provider: only it may bind APIs to that Host. */
export interface ProviderHostTable {
  host: string;
  provider_id: string;
  created_at: number;
}

export interface ApiTable {
  id: string;
  provider_id: string;
  name: string;
  upstream_url: string;
  /** Path prefix the gateway routes on, e.g. `/capture`; stripped before proxying. */
  path_prefix: string | null;
  /** Host header the gateway routes on, e.g. `capture.example.com`. */
  host: string | null;
  strip_prefix: number;
  timeout_ms: number;
  openapi: string | null;
  /** JSON of the API's CORS settings, null when browsers may not call it. */
  cors: string | null;
  /** 1: RateLimit-Policy / RateLimit headers on every keyed response. */
  ratelimit_headers: number;
  created_at: number;
  updated_at: number;
}

export interface RouteTable {
  id: string;
  api_id: string;
  /** Upper-case method or `*`. */
  method: string;
  /** Path template relative to the API, e.g. `/v1/things/{id}`; `/{proxy+}` matches all. */
  path: string;
  dimension: string;
  units: number;
  public: number;
  throttle_rate: number | null;
  throttle_burst: number | null;
  position: number;
}

export interface PlanTable {
  id: string;
  provider_id: string;
  name: string;
  description: string;
  /** JSON array of API ids this plan grants access to. */
  api_ids: string;
  throttle_rate: number | null;
  throttle_burst: number | null;
  quota_limit: number | null;
  quota_period: string | null;
  quota_offset: number;
  quota_time_zone: string;
  /** JSON object: `{ "<routeId>": { rate, burst } }`. */
  route_throttles: string;
  over_quota: string;
  /** `lt500` (default) or `2xx`. */
  billable: string;
  /** `open` or `closed`: what to do when the limit store is unreachable. */
  failure_mode: string;
  created_at: number;
  updated_at: number;
}

export interface ConsumerTable {
  id: string;
  /** Null for marketplace consumers (portal sign-up); set when a provider created it. */
  provider_id: string | null;
  name: string;
  email: string | null;
  external_customer_id: string | null;
  /** JSON object of marketplace identifiers (CustomerAWSAccountId, LicenseArn, ProductCode…). */
  external: string;
  created_at: number;
  updated_at: number;
}

export interface SubscriptionTable {
  id: string;
  consumer_id: string;
  plan_id: string;
  /** pending | trialing | active | cancel_pending | cancelled | suspended */
  status: string;
  started_at: number;
  trial_ends_at: number | null;
  cancelled_at: number | null;
  created_at: number;
  updated_at: number;
}

export interface ApiKeyTable {
  id: string;
  subscription_id: string;
  name: string;
  /** The visible start of the key, e.g. `tg_3F9a2B`. */
  prefix: string;
  /** Hex SHA-256 of the whole key value. */
  hash: string;
  enabled: number;
  expires_at: number | null;
  /** Set on a key that was rolled: the id of the key that replaced it. */
  replaced_by: string | null;
  created_at: number;
  updated_at: number;
}

/**
 * A further subscription an API key opens besides its own (`api_keys.subscription_id`): an
 * API Gateway key in several usage plans. Rule (catalog keys.link): the subscription is the
 * same consumer's, and no two of the key's plans — its own subscription's and every linked
 * one's — grant the same API, so (key, API) names at most one subscription. The gateway
 * takes, per call, the one whose plan grants the called API.
 */
export interface ApiKeySubscriptionTable {
  key_id: string;
  subscription_id: string;
  created_at: number;
}

export interface QuotaAdjustmentTable {
  id: string;
  subscription_id: string;
  /** Start of the quota window the adjustment applies to. */
  window_start: number;
  /** Added to the limit for that window (negative reduces what remains). */
  delta: number;
  reason: string;
  actor: string;
  created_at: number;
}

export interface AdminTokenTable {
  id: string;
  name: string;
  hash: string;
  /** `operator` or `provider`. */
  scope: string;
  provider_id: string | null;
  created_at: number;
  revoked_at: number | null;
}

export interface AuditTable {
  id: string;
  at: number;
  actor: string;
  action: string;
  entity: string;
  entity_id: string;
  provider_id: string | null;
  before: string | null;
  after: string | null;
}

/** The one row (id 1) holding the last change sequence number handed out. */
export interface CatalogVersionTable {
  id: number;
  seq: number;
}

/** One committed catalog change, in commit order (src/store/changes.ts). */
export interface CatalogChangeTable {
  seq: number;
  entity: string;
  entity_id: string;
  at: number;
}

/** Hourly usage aggregates: the source of truth for quotas, reports, invoices and exports. */
export interface UsageTable {
  subscription_id: string;
  key_id: string;
  api_id: string;
  dimension: string;
  /** Start of the UTC hour, ms. */
  hour: number;
  units: number;
  requests: number;
}

/** One row per flushed batch: a retried flush with the same id is a no-op. */
export interface UsageBatchTable {
  batch_id: string;
  node: string;
  flushed_at: number;
  events: number;
}

import type { ApigwTables } from './tables/apigw.js';
import type { BillingTables } from './tables/billing.js';
import type { LicencesTables } from './tables/licences.js';
import type { MarketplaceTables } from './tables/marketplace.js';
import type { MeteringTables } from './tables/metering.js';
import type { PaymentsTables } from './tables/payments.js';
import type { PortalTables } from './tables/portal.js';

export interface Database
  extends MeteringTables,
    BillingTables,
    MarketplaceTables,
    LicencesTables,
    PortalTables,
    ApigwTables,
    PaymentsTables {
  providers: ProviderTable;
  provider_hosts: ProviderHostTable;
  apis: ApiTable;
  routes: RouteTable;
  plans: PlanTable;
  consumers: ConsumerTable;
  subscriptions: SubscriptionTable;
  api_keys: ApiKeyTable;
  api_key_subscriptions: ApiKeySubscriptionTable;
  quota_adjustments: QuotaAdjustmentTable;
  admin_tokens: AdminTokenTable;
  audit_log: AuditTable;
  usage: UsageTable;
  usage_batches: UsageBatchTable;
  catalog_version: CatalogVersionTable;
  catalog_changes: CatalogChangeTable;
}
