/**
 * Tables owned by the marketplace module. Times are integer ms, JSON is text, booleans 0/1.
 *
 * Two roles share these tables:
 * - marketplace side (Tollgate *is* the marketplace): products with a `product_code`,
 *   agreements (one per externally fulfilled subscription, carrying the AWS-style customer
 *   identifiers), registration tokens, per-provider SigV4 credentials, accepted metering
 *   records;
 * - provider side (Tollgate sells *through* an external marketplace): products with an
 *   `external_product_code`, the export ledger of metering records it sends, received
 *   notifications.
 */

export interface MarketplaceProductTable {
  id: string;
  provider_id: string;
  title: string;
  summary: string;
  /** Markdown. */
  description: string;
  /** JSON array of API ids. */
  api_ids: string;
  /** JSON array of plan ids on offer. */
  plan_ids: string;
  /** `public` | `private` */
  visibility: string;
  /** JSON array of SHA-256 (hex) of invite codes for private products. */
  invite_codes: string;
  /** `metered` | `wholesale` */
  fulfilment: string;
  /** Provider side: the product's code at an external marketplace (ResolveCustomer's ProductCode). */
  external_product_code: string | null;
  /** Marketplace side: the ProductCode this Tollgate assigns (unique). */
  product_code: string;
  /** Marketplace side: set when the provider fulfils the product on its own system; buyers are sent here with a token. */
  registration_url: string | null;
  /** Marketplace side: where lifecycle notifications (SNS-shaped, SigV4-signed) go for external fulfilment. */
  notification_url: string | null;
  /** `draft` | `published` */
  status: string;
  published_at: number | null;
  created_at: number;
  updated_at: number;
}

/** SigV4 credentials Tollgate issues to a provider for its AWS-compatible endpoints. */
export interface MarketplaceCredentialTable {
  access_key_id: string;
  provider_id: string;
  name: string;
  /** AES-256-GCM sealed secret access key: `v1.<iv>.<tag>.<ciphertext>` (base64url). */
  secret_sealed: string;
  /** Set for buyer-deployment credentials (MeterUsage): the agreement they meter for. */
  agreement_id: string | null;
  created_at: number;
  revoked_at: number | null;
  last_used_at: number | null;
}

/** Marketplace side: the buyer's agreement for an externally fulfilled product (one per subscription). */
export interface MarketplaceAgreementTable {
  id: string;
  product_id: string;
  provider_id: string;
  subscription_id: string;
  consumer_id: string;
  customer_identifier: string;
  customer_aws_account_id: string;
  license_arn: string;
  created_at: number;
  /** First successful ResolveCustomer. */
  resolved_at: number | null;
}

export interface MarketplaceRegistrationTokenTable {
  /** SHA-256 hex of the token; the token itself is never stored. */
  token_hash: string;
  agreement_id: string;
  product_id: string;
  issued_at: number;
  expires_at: number;
  used_at: number | null;
  used_by: string | null;
}

/** Marketplace side: usage records accepted through BatchMeterUsage / MeterUsage. */
export interface MeteringRecordTable {
  /** The MeteringRecordId returned to the caller. */
  id: string;
  product_id: string;
  agreement_id: string;
  subscription_id: string;
  dimension: string;
  /** Start of the UTC hour of the record's timestamp, ms. */
  hour: number;
  /** The record's own timestamp, ms. */
  timestamp: number;
  quantity: number;
  /** JSON array of UsageAllocations, or null. */
  allocations: string | null;
  /** `BatchMeterUsage` | `MeterUsage` */
  source: string;
  access_key_id: string;
  received_at: number;
}

/** Provider side: the export ledger. One row per (subscription, dimension, hour), quantity frozen at creation. */
export interface MarketplaceExportTable {
  id: string;
  subscription_id: string;
  consumer_id: string;
  product_code: string;
  customer_identifier: string | null;
  customer_aws_account_id: string | null;
  license_arn: string | null;
  dimension: string;
  hour: number;
  quantity: number;
  /** pending | sent | duplicate | not_subscribed | failed | expired */
  status: string;
  attempts: number;
  metering_record_id: string | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
  sent_at: number | null;
}

/** Append-only history of subscription transitions. */
export interface SubscriptionEventTable {
  id: string;
  subscription_id: string;
  /** e.g. `subscribed`, `activated`, `plan_changed`, `cancel_requested`, `cancelled`, `suspended`, `resumed`. */
  type: string;
  from_status: string | null;
  to_status: string;
  actor: string;
  /** JSON object with details. */
  data: string;
  at: number;
}

/** Provider side: lifecycle notifications received (dedup by SNS MessageId). */
export interface MarketplaceNotificationTable {
  message_id: string;
  action: string;
  customer_identifier: string | null;
  product_code: string | null;
  /** JSON of the decoded message. */
  body: string;
  /** `processed` | `ignored` | `failed` */
  outcome: string;
  received_at: number;
}

/** Marketplace side: lifecycle notifications to providers, delivered at least once, in order per customer. */
export interface MarketplaceOutboxTable {
  /** Also the SNS MessageId: stable across retries so the receiver dedups. */
  id: string;
  provider_id: string;
  url: string;
  /** JSON of the notification target + action. */
  payload: string;
  customer_identifier: string;
  /** pending | delivered | failed */
  status: string;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  created_at: number;
  delivered_at: number | null;
}

/**
 * MeterUsage ClientTokens: per credential, the token, the request's parameters (canonical
 * JSON) and the MeteringRecordId it got. The same token with the same parameters answers
 * that id again; with other parameters, IdempotencyConflictException.
 */
export interface MarketplaceClientTokenTable {
  access_key_id: string;
  client_token: string;
  params: string;
  metering_record_id: string;
  created_at: number;
}

export interface MarketplaceTables {
  marketplace_outbox: MarketplaceOutboxTable;
  marketplace_products: MarketplaceProductTable;
  marketplace_credentials: MarketplaceCredentialTable;
  marketplace_agreements: MarketplaceAgreementTable;
  marketplace_registration_tokens: MarketplaceRegistrationTokenTable;
  metering_records: MeteringRecordTable;
  marketplace_client_tokens: MarketplaceClientTokenTable;
  marketplace_exports: MarketplaceExportTable;
  subscription_events: SubscriptionEventTable;
  marketplace_notifications: MarketplaceNotificationTable;
}
