/**
 * Tables owned by the payments module (migration 007_payments): processor connections,
 * processor customers, what Tollgate collects for each invoice, processed processor events,
 * dunning policies and buyers' spend budgets. Same conventions as ../schema.ts.
 */

/** A payment processor account: one per provider, or the operator's (`owner` = '*') for all. */
export interface PaymentConnectionTable {
  /** A provider id, or '*' for the installation-wide connection. */
  owner: string;
  /** `stripe` (the one processor so far). */
  processor: string;
  /** Sealed with the installation secret (AES-256-GCM); never returned in clear. */
  secret_key_sealed: string;
  /** What the console shows: `sk_test_…4242`. */
  secret_key_hint: string;
  webhook_secret_sealed: string;
  webhook_secret_hint: string;
  /** The processor's account id, learnt by "check connection". */
  account_ref: string | null;
  checked_at: number | null;
  /** `ok`, or why the last check failed. */
  check_result: string | null;
  created_at: number;
  updated_at: number;
}

/** The processor's customer for one (provider, consumer), and the card on file as it reports it. */
export interface PaymentCustomerTable {
  provider_id: string;
  consumer_id: string;
  customer_ref: string;
  payment_method_ref: string | null;
  card_brand: string | null;
  card_last4: string | null;
  card_exp_month: number | null;
  card_exp_year: number | null;
  created_at: number;
  updated_at: number;
}

/** Collection of one Tollgate invoice. */
export interface InvoicePaymentTable {
  invoice_id: string;
  provider_id: string;
  subscription_id: string;
  /** pending | open | past_due | paid | void | uncollectible */
  status: string;
  /** The processor's invoice id (`in_…`); null until created (or for zero amounts). */
  reference: string | null;
  hosted_url: string | null;
  /** First failed payment: the dunning clock starts here. */
  past_due_since: number | null;
  /** When dunning suspended the subscription for this invoice (null: not suspended by it). */
  suspended_at: number | null;
  attempts: number;
  last_error: string | null;
  /** When the collector tries again (pending rows); null when nothing is due. */
  next_attempt_at: number | null;
  created_at: number;
  updated_at: number;
}

/** Processor events already applied: a redelivered event id changes nothing. */
export interface PaymentEventTable {
  event_id: string;
  owner: string;
  type: string;
  received_at: number;
}

/** Dunning policy of a plan: suspend after this many days past due (null: never). */
export interface DunningPolicyTable {
  plan_id: string;
  suspend_after_days: number | null;
  updated_at: number;
}

/** A buyer's monthly budget for one subscription. */
export interface SpendBudgetTable {
  subscription_id: string;
  /** Decimal text in the plan's currency. */
  amount: string;
  /** 1: answer 429 once the estimated charge reaches the budget. */
  hard_cap: number;
  /** Set while the cap is reached: the end of the budget window (ms); the gateway refuses until then. */
  capped_until: number | null;
  updated_at: number;
}

export interface PaymentsTables {
  payment_connections: PaymentConnectionTable;
  payment_customers: PaymentCustomerTable;
  invoice_payments: InvoicePaymentTable;
  payment_events: PaymentEventTable;
  dunning_policies: DunningPolicyTable;
  spend_budgets: SpendBudgetTable;
}
