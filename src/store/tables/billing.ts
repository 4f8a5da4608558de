/**
 * Tables owned by the billing module (and the webhook outbox it shares with the
 * marketplace). Times are integer ms, money is decimal text, JSON is text.
 */

/** Price versions of a plan: the current price is the highest version; older ones are history. */
export interface PriceTable {
  id: string;
  plan_id: string;
  version: number;
  currency: string;
  /** JSON of the validated Price (src/billing/pricing.ts). */
  body: string;
  /** In force from this instant (the time it was set). */
  created_at: number;
  created_by: string;
}

/** Plan changes of a subscription, recorded by whoever changes the plan (marketplace, admin). */
export interface PlanChangeTable {
  subscription_id: string;
  at: number;
  from_plan_id: string;
  to_plan_id: string;
  created_at: number;
}

/** Next invoice number per provider: numbers are gapless because allocation is transactional. */
export interface InvoiceSequenceTable {
  provider_id: string;
  next_number: number;
}

export interface InvoiceTable {
  id: string;
  /** `<provider prefix>-<000001>`: unique and sequential per provider. */
  number: string;
  seq: number;
  provider_id: string;
  consumer_id: string;
  subscription_id: string;
  /** Inclusive start and exclusive end of the billed period, ms. Unique per subscription among invoices that are not void. */
  period_start: number;
  period_end: number;
  currency: string;
  subtotal: string;
  total: string;
  /** draft | open | paid | void */
  status: string;
  created_at: number;
  updated_at: number;
  finalized_at: number | null;
  paid_at: number | null;
  voided_at: number | null;
  /** 1 on the last invoice of a subscription whose billing was closed (no runs after it). */
  closes_subscription: number;
  /** Why it was voided (given by whoever voided it). */
  void_reason: string | null;
  /** The payment's reference (bank transfer id, payment intent…) given when marked paid. */
  paid_reference: string | null;
  /** The void invoice this one re-issues (same subscription and period), or null. */
  reissue_of: string | null;
}

/** A named lease: the holder runs the job until expires_at, renewing it as it goes. */
export interface SchedulerLeaseTable {
  name: string;
  holder: string;
  expires_at: number;
}

/** Usage reported through the admin API (not the gateway); the key deduplicates retries. */
export interface UsageEventTable {
  provider_id: string;
  event_id: string;
  subscription_id: string;
  /** '' when the event named a subscription, not a key (migration 015). */
  key_id: string;
  api_id: string;
  dimension: string;
  units: number;
  at: number;
  created_at: number;
}

export interface InvoiceLineTable {
  id: string;
  invoice_id: string;
  position: number;
  /** recurring | setup | usage | deployment */
  kind: string;
  description: string;
  dimension: string | null;
  /** Decimal text. */
  quantity: string;
  unit_price: string | null;
  amount: string;
  /** Usage hours this line came from: hour ∈ [usage_from, usage_to). */
  usage_from: number | null;
  usage_to: number | null;
  plan_id: string;
  price_id: string | null;
  /** JSON: tiers, packages, proration shares, limits applied. */
  detail: string;
}

/**
 * Where a provider receives signed webhooks. The secret signs, so it is needed in clear when
 * sending: it is stored sealed with the installation secret (`secret_sealed`); `secret` is the
 * clear column of rows written before migration 014, emptied once they are sealed.
 */
export interface WebhookEndpointTable {
  id: string;
  provider_id: string;
  url: string;
  secret: string;
  secret_sealed: string | null;
  enabled: number;
  created_at: number;
  updated_at: number;
}

/** One row per (event, endpoint): the transactional outbox the sender drains. */
export interface WebhookOutboxTable {
  id: string;
  event_id: string;
  provider_id: string;
  endpoint_id: string;
  type: string;
  /** The JSON body that is signed and sent. */
  payload: string;
  url: string;
  attempts: number;
  /** Null once delivered or given up. */
  next_attempt_at: number | null;
  delivered_at: number | null;
  failed_at: number | null;
  last_status: number | null;
  last_error: string | null;
  created_at: number;
}

export interface BillingTables {
  prices: PriceTable;
  plan_changes: PlanChangeTable;
  invoice_sequences: InvoiceSequenceTable;
  invoices: InvoiceTable;
  invoice_lines: InvoiceLineTable;
  scheduler_leases: SchedulerLeaseTable;
  usage_events: UsageEventTable;
  webhook_endpoints: WebhookEndpointTable;
  webhook_outbox: WebhookOutboxTable;
}
