/**
 * Provider side: clients for the external marketplace (AWS Marketplace, or another
 * Tollgate), built from configuration. The official SDK clients are used as-is with an
 * endpoint override; `maxAttempts: 1` because the exporter owns its retry policy
 * (retry UnprocessedRecords only, exponential backoff on ThrottlingException).
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
  metering: MarketplaceMeteringClient;
  entitlements: MarketplaceEntitlementServiceClient;
  destroy(): void;
}

export function externalClients(cfg: ExternalMarketplaceConfig): ExternalClients {
  const common = {
    region: cfg.region,
    maxAttempts: 1,
    credentials: { accessKeyId: cfg.accessKeyId, secretAccessKey: cfg.secretAccessKey },
  };
  const metering = new MarketplaceMeteringClient({ ...common, endpoint: cfg.endpoint });
  const entitlements = new MarketplaceEntitlementServiceClient({
    ...common,
    endpoint: cfg.entitlementEndpoint ?? cfg.endpoint,
  });
  return {
    metering,
    entitlements,
    destroy() {
      metering.destroy();
      entitlements.destroy();
    },
  };
}
