/**
 * Provider side: clients for the external marketplace (AWS Marketplace, or another
 * Tollgate), built from configuration. The official SDK clients are used as-is with an
 * endpoint override. The exporter's client makes one attempt per call because the exporter
 * owns its retry policy (retry UnprocessedRecords only, exponential backoff on
 * ThrottlingException). ResolveCustomer, with a buyer's browser waiting on it, and the
 * entitlement reads use the SDK's standard retries: a kept-alive socket that the server
 * closed as the request went out (ECONNRESET) or a throttled call is tried again rather than
 * showing the buyer "Marketplace unavailable". Retrying ResolveCustomer is safe: AWS returns
 * the same answer for the same token until it expires.
 */
import { MarketplaceEntitlementServiceClient } from '@aws-sdk/client-marketplace-entitlement-service';
import { MarketplaceMeteringClient } from '@aws-sdk/client-marketplace-metering';

export interface ExternalMarketplaceConfig {
  /** e.g. `https://metering.marketplace.us-east-1.amazonaws.com` or a Tollgate console URL. */
  endpoint: string;
  /** Entitlement service endpoint; defaults to `endpoint` (a Tollgate serves both on one URL). */
  entitlementEndpoint?: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Optional HMAC secret for notifications relayed by something that cannot SigV4-sign. */
  notificationSecret?: string;
}

export interface ExternalClients {
  /** BatchMeterUsage for the exporter: one attempt per call. */
  metering: MarketplaceMeteringClient;
  /** ResolveCustomer for buyer registration: standard retries. */
  registration: MarketplaceMeteringClient;
  entitlements: MarketplaceEntitlementServiceClient;
  destroy(): void;
}

/** The SDK's standard retry strategy: three attempts with jittered backoff. */
const RETRIED_ATTEMPTS = 3;

export function externalClients(cfg: ExternalMarketplaceConfig): ExternalClients {
  const common = {
    region: cfg.region,
    maxAttempts: RETRIED_ATTEMPTS,
    credentials: { accessKeyId: cfg.accessKeyId, secretAccessKey: cfg.secretAccessKey },
  };
  const metering = new MarketplaceMeteringClient({ ...common, maxAttempts: 1, endpoint: cfg.endpoint });
  const registration = new MarketplaceMeteringClient({ ...common, endpoint: cfg.endpoint });
  const entitlements = new MarketplaceEntitlementServiceClient({
    ...common,
    endpoint: cfg.entitlementEndpoint ?? cfg.endpoint,
  });
  return {
    metering,
    registration,
    entitlements,
    destroy() {
      metering.destroy();
      registration.destroy();
      entitlements.destroy();
    },
  };
}
