/**
 * The marketplace: products, subscription lifecycle, AWS-Marketplace-compatible endpoints
 * (Tollgate as the marketplace), and onboarding + metering export (Tollgate selling
 * through an external marketplace). See docs/marketplace.md.
 *
 * Mount `app` on the console port at `/`: it serves `POST /` for awsJson1_1 requests
 * carrying `X-Amz-Target` (others fall through), and, when `external` is configured,
 * `POST /marketplace/register` and `POST /marketplace/notifications`.
 */
import { Hono } from 'hono';
import { type Clock, type Logger, OutboundPolicy } from '../shared/index.js';
import type { Store } from '../store/index.js';
import { createAgreements } from './agreements.js';
import { createMarketplaceAwsApp } from './aws/app.js';
import { createCredentials } from './credentials.js';
import { createExporter, type ExportAlert, type Exporter } from './exporter.js';
import { type ExternalMarketplaceConfig, externalClients } from './external.js';
import { type Listing, listing } from './listing.js';
import { createOnboarding, type Onboarding } from './onboarding.js';
import { createNotifier } from './outbound-notifications.js';
import type { BillingPort, CatalogPort, WebhooksPort } from './ports.js';
import { createProducts } from './products.js';
import { createLifecycle } from './subscriptions.js';

export { marketplaceRoutes } from './admin-routes.js';
export type { Agreement, AgreementService } from './agreements.js';
export { TOKEN_TTL_MS } from './agreements.js';
export { createMarketplaceAwsApp, type MarketplaceAwsDeps } from './aws/app.js';
export { AwsError } from './aws/errors.js';
export type { CredentialService, IssuedCredentials } from './credentials.js';
export { seal, sealingKey, unseal } from './credentials.js';
export type { ExportAlert, Exporter, ExportReport, ExportStatus } from './exporter.js';
export { createExporter } from './exporter.js';
export type { ExternalMarketplaceConfig } from './external.js';
export { errorPage, escapeHtml, registrationRedirectPage, welcomePage } from './html.js';
export type { Listing, ListingApi, ListingPlan } from './listing.js';
export type { Onboarding } from './onboarding.js';
export type { LifecycleAction } from './outbound-notifications.js';
export { type PlanProductLink, planProductLink } from './plan-link.js';
export type { Actor, BillingPort, CatalogPort, WebhooksPort } from './ports.js';
export { MARKETPLACE_ACTOR } from './ports.js';
export {
  browseQuery,
  type Product,
  type ProductService,
  productCreate,
  productUpdate,
} from './products.js';
export type { Lifecycle, SubscribeResult, SubscriptionEvent } from './subscriptions.js';
export { subscribeInput } from './subscriptions.js';

export interface MarketplaceDeps {
  store: Store;
  clock: Clock;
  log: Logger;
  catalog: CatalogPort;
  /** Seals the SigV4 secrets Tollgate issues (from configuration; never stored in the database). */
  secretKey: string;
  webhooks?: WebhooksPort;
  billing?: BillingPort;
  /** Judges products' notification URLs, when written and when called. Default: nothing private. */
  outbound?: OutboundPolicy;
  /** Selling through an external marketplace: its endpoint and the credentials it gave us. */
  external?: ExternalMarketplaceConfig;
  /** Flushes the gateway meter to the store (cancel, unsubscribe-pending, exporter). */
  flushUsage?: () => Promise<void>;
  /** Told about writes the catalog did not make (plan change) so the gateway reloads. */
  onChange?: (change: { entity: string; id: string; action: string }) => void;
  onAlert?: (alert: ExportAlert) => void;
  /** Marketplace side: how long cancel_pending lasts for externally fulfilled products (default 1 h). */
  cancelGraceMs?: number;
}

export interface Marketplace {
  products: ReturnType<typeof createProducts>;
  subscriptions: ReturnType<typeof createLifecycle>;
  agreements: ReturnType<typeof createAgreements>;
  credentials: ReturnType<typeof createCredentials>;
  /** AWS endpoint + (with `external`) onboarding routes; mount at `/` on the console. */
  app: Hono;
  onboarding?: Onboarding;
  exporter?: Exporter;
  /** Buyers: one published product with its plans (limits, price) and API documents. */
  listing(productId: string, inviteCode?: string): Promise<Listing>;
  /** Delivers queued notifications to providers now (the sweep does this every 30 s). */
  deliverNotifications(): Promise<number>;
  /** Starts the hourly exporter (every `exportEveryMs`, default 5 min) and the sweep (notifications, cancellations). */
  start(options?: { exportEveryMs?: number; sweepEveryMs?: number }): void;
  stop(): void;
}

export function createMarketplace(deps: MarketplaceDeps): Marketplace {
  const db = deps.store.db;
  const { clock, log } = deps;
  const outbound = deps.outbound ?? new OutboundPolicy();
  const products = createProducts({ db, clock, outbound });
  const agreements = createAgreements({ db, clock });
  const credentials = createCredentials({ db, clock, secretKey: deps.secretKey });
  const notifier = createNotifier({ db, credentials, clock, log, outbound });
  const subscriptions = createLifecycle({
    db,
    clock,
    log,
    catalog: deps.catalog,
    products,
    agreements,
    notifier,
    ...(deps.webhooks ? { webhooks: deps.webhooks } : {}),
    ...(deps.billing ? { billing: deps.billing } : {}),
    ...(deps.flushUsage ? { flushUsage: deps.flushUsage } : {}),
    ...(deps.onChange ? { onChange: deps.onChange } : {}),
    ...(deps.cancelGraceMs !== undefined ? { cancelGraceMs: deps.cancelGraceMs } : {}),
  });
  const app = new Hono();
  app.route('/', createMarketplaceAwsApp({ db, clock, log, secretKey: deps.secretKey }));

  let onboarding: Onboarding | undefined;
  let exporter: Exporter | undefined;
  let clients: ReturnType<typeof externalClients> | undefined;
  if (deps.external) {
    clients = externalClients(deps.external);
    exporter = createExporter({
      db,
      clock,
      log,
      metering: clients.metering,
      ...(deps.flushUsage ? { flushUsage: deps.flushUsage } : {}),
      ...(deps.onAlert ? { onAlert: deps.onAlert } : {}),
    });
    onboarding = createOnboarding({
      db,
      clock,
      log,
      catalog: deps.catalog,
      products,
      lifecycle: subscriptions,
      clients,
      config: deps.external,
      exporter,
      ...(deps.flushUsage ? { flushUsage: deps.flushUsage } : {}),
    });
    app.route('/', onboarding.app);
  }

  let sweep: NodeJS.Timeout | undefined;
  return {
    products,
    subscriptions,
    agreements,
    credentials,
    app,
    ...(onboarding ? { onboarding } : {}),
    ...(exporter ? { exporter } : {}),
    listing: (productId, inviteCode) =>
      listing({ db, products, ...(deps.billing ? { billing: deps.billing } : {}) }, productId, inviteCode),
    deliverNotifications: () => notifier.deliverDue(),
    start(options = {}) {
      exporter?.start(options.exportEveryMs);
      if (!sweep) {
        sweep = setInterval(() => {
          notifier.deliverDue().catch((err) => log.error({ err }, 'notification delivery failed'));
          subscriptions
            .completeCancellations()
            .catch((err) => log.error({ err }, 'cancellation sweep failed'));
        }, options.sweepEveryMs ?? 30_000);
        sweep.unref();
      }
    },
    stop() {
      exporter?.stop();
      if (sweep) clearInterval(sweep);
      sweep = undefined;
      clients?.destroy();
    },
  };
}
