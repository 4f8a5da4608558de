/**
 * The console port: one Hono app carrying every surface that is not the data plane. Each
 * surface is built by its own module; this file only mounts them, in this order:
 *
 *   /healthz, /metrics                 operations (/metrics: operator or metrics token only)
 *   /admin/v1/…                        admin REST API (+ billing, licences, webhooks routes)
 *   /licences/v1/…                     what wholesale deployments call (seats, public keys)
 *   /apigateway/…                      API Gateway REST subset (usage plans, keys, usage)
 *   POST / with X-Amz-Target           AWS Marketplace Metering/Entitlement protocol
 *   /marketplace/register, …           onboarding from an external marketplace (if configured)
 *   POST /payments/stripe/webhook…     Stripe events (docs/payments.md)
 *   /, /products, /account, /console…  developer portal and provider console
 */
import type { AddressInfo } from 'node:net';
import { Hono } from 'hono';
import {
  apigwAdminRoutes,
  createApiGatewayApp,
  createApigwCredentials,
  createKeyValueVault,
} from '../apigw/index.js';
import { billingAdminRoutes } from '../billing/http/index.js';
import type { Billing } from '../billing/index.js';
import { type BillingScheduler, createBillingScheduler } from '../billing/scheduler.js';
import type { Catalog, Change } from '../catalog/index.js';
import type { Config } from '../config/index.js';
import { createControlApp } from '../control/index.js';
import { drainServer, trackResponses } from '../gateway/index.js';
import { licenceAdminRoutes, licencePublicApp } from '../licences/http/index.js';
import type { Licences } from '../licences/index.js';
import { type Marketplace, marketplaceRoutes, planProductLink } from '../marketplace/index.js';
import { usageAdminRoutes } from '../metering/http/index.js';
import type { Meter, TollgateMetrics } from '../metering/index.js';
import { type Payments, paymentWebhookApp } from '../payments/index.js';
import { createPortalApp, portalNotFound } from '../portal/index.js';
import type { Clock, Logger } from '../shared/index.js';
import type { Store } from '../store/index.js';
import { webhookAdminRoutes } from '../webhooks/http/index.js';
import type { Webhooks } from '../webhooks/index.js';
import { listenApp, listenerUrl } from './listen.js';
import type { Mail } from './mail.js';
import { metricsApp } from './metrics-endpoint.js';
import type { Opened } from './opened.js';

export interface ConsoleDeps {
  config: Config;
  store: Store;
  clock: Clock;
  log: Logger;
  catalog: Catalog;
  meter: Meter;
  metrics: TollgateMetrics;
  billing: Billing;
  licences: Licences;
  webhooks: Webhooks;
  marketplace: Marketplace;
  payments: Payments;
  gatewayUrl: string | null;
  onChange: (change: Change) => void;
  mail: Mail;
  /** The installation secret (seals /apigateway SigV4 credentials). */
  secret: string;
}

export function buildConsole(deps: ConsoleDeps): Hono {
  const { catalog, store, clock, log, config } = deps;
  const app = new Hono();
  const apigwCredentials = createApigwCredentials({ db: store.db, clock, secret: deps.secret });
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  // With a metrics port of its own, the console serves no metrics at all.
  if (config.metricsPort === undefined)
    app.route('/', metricsApp({ metrics: deps.metrics, token: config.metricsToken, catalog }));

  app.route(
    '/',
    createControlApp({
      catalog,
      log,
      clock,
      extraRoutes: [
        licenceAdminRoutes(deps.licences, { catalog, store, clock }),
        billingAdminRoutes({ billing: deps.billing, store, catalog, clock, onChange: deps.onChange }),
        webhookAdminRoutes({ webhooks: deps.webhooks, catalog }),
        marketplaceRoutes(deps.marketplace),
        usageAdminRoutes({ store, clock, catalog }),
        apigwAdminRoutes({ catalog, credentials: apigwCredentials }),
      ],
    }),
  );
  app.route('/', licencePublicApp(deps.licences, { log }));
  // The usage-plan / API-key subset of the API Gateway REST API, for @aws-sdk/client-api-gateway.
  app.route(
    '/apigateway',
    createApiGatewayApp({
      catalog,
      store,
      clock,
      log,
      credentials: apigwCredentials,
      keyValues: config.apigwKeyValues ? createKeyValueVault({ db: store.db, secret: deps.secret }) : null,
      products: planProductLink(deps.marketplace.products),
    }),
  );
  app.route('/', deps.marketplace.app);
  app.route('/', paymentWebhookApp(deps.payments));
  app.route(
    '/',
    createPortalApp({
      store,
      clock,
      log,
      catalog,
      marketplace: deps.marketplace,
      billing: deps.billing,
      meter: deps.meter,
      webhooks: deps.webhooks,
      payments: deps.payments,
      config: {
        ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}),
        ...(deps.gatewayUrl ? { gatewayUrl: deps.gatewayUrl } : {}),
        secureCookies: config.publicUrl?.startsWith('https://') ?? false,
        providerSignup: config.providerSignup,
        trustProxy: config.trustProxy,
      },
      // The outbox (mail.ts): each message a file under <data dir>/mail; only its envelope is logged.
      mail: deps.mail,
    }),
  );
  app.notFound(portalNotFound);
  return app;
}

/**
 * The console role (roles `all` and `console`): the background jobs only one process runs
 * (webhook delivery, marketplace exports, payment collection, the billing cycle), then the
 * console listener, then the first operator token. Opens nothing but what it records in
 * `opened`.
 */
export async function startConsoleRole(
  deps: ConsoleDeps & { registry: BillingSchedulerRegistry },
  opened: Opened,
): Promise<ConsoleRole> {
  const { config, store, clock, log } = deps;
  opened.add('webhook delivery', deps.webhooks.startDelivery(5_000));
  deps.marketplace.start();
  opened.add('marketplace jobs', () => deps.marketplace.stop());
  deps.payments.start();
  opened.add('payment jobs', () => deps.payments.stop());
  let billingScheduler: BillingScheduler | null = null;
  if (config.billingScheduler) {
    const scheduler = createBillingScheduler(
      { store, clock, log, billing: deps.billing, registry: deps.registry },
      {
        intervalMs: config.billingIntervalMs,
        settleMs: config.billingSettleMs,
        reviewMs: config.billingReviewMs,
        ...(config.billingLeaseMs ? { leaseMs: config.billingLeaseMs } : {}),
        holder: `${config.node}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`,
      },
    );
    scheduler.start();
    opened.add('billing scheduler', () => scheduler.stop());
    billingScheduler = scheduler;
  }

  const server = await listenApp(buildConsole(deps), config.consolePort, config.consoleHost, {
    what: 'console',
    setting: 'consolePort',
  });
  trackResponses(server);
  opened.addListener('console port', () => drainServer(server, config.shutdownGraceMs));
  const port = (server.address() as AddressInfo).port;
  const token = await deps.catalog.bootstrapOperatorToken({ configured: config.adminToken });
  return {
    url: listenerUrl(config.consoleHost, port),
    bootstrapToken: token.value ?? null,
    billingScheduler,
  };
}

export interface ConsoleRole {
  url: string;
  /** Set when this start created the first operator token: shown once. */
  bootstrapToken: string | null;
  /** The billing cycle; null when `billingScheduler` is off. */
  billingScheduler: BillingScheduler | null;
}

type BillingSchedulerRegistry = Parameters<typeof createBillingScheduler>[0]['registry'];
