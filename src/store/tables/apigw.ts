/**
 * Tables owned by the API Gateway compatibility module (src/apigw). Times are integer ms.
 * Secrets are sealed (AES-256-GCM under a key derived from the installation secret, which
 * is configuration, never in the database): a database copy alone reveals none of them.
 */

/** SigV4 credentials for `/apigateway`; each acts as the admin token it was issued for. */
export interface ApigwCredentialTable {
  access_key_id: string;
  token_id: string;
  secret_sealed: string;
  created_at: number;
  revoked_at: number | null;
}

/** API Gateway resource tags of usage plans and API keys (`resource_id` = `pln_…` / `key_…`). */
export interface ApigwTagTable {
  resource_id: string;
  tag_key: string;
  tag_value: string;
}

/** Key values kept for includeValue(s), only when the installation allows it (sealed). */
export interface ApigwKeyValueTable {
  key_id: string;
  value_sealed: string;
}

/**
 * API Gateway fields with no home in Tollgate's records (`resource_id` = `pln_…` / `key_…`):
 * a key's description; a plan's `productCode` as sent and the marketplace product it
 * resolved to; `deleted_at` for a plan deleted through DeleteUsagePlan whose subscriptions
 * (usage, invoices) keep it in the catalog — hidden from the API Gateway API from then on.
 */
export interface ApigwResourceTable {
  resource_id: string;
  description: string | null;
  product_code: string | null;
  product_id: string | null;
  deleted_at: number | null;
}

export interface ApigwTables {
  apigw_credentials: ApigwCredentialTable;
  apigw_tags: ApigwTagTable;
  apigw_key_values: ApigwKeyValueTable;
  apigw_resources: ApigwResourceTable;
}
