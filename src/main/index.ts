/**
 * The composition root: every service is built once, here, from the frozen config, and
 * handed its dependencies. `startTollgate` returns a running system; `close()` shuts it down
 * in the safe order: stop taking requests, let in-flight ones finish, flush metering, then
 * close the store.
 *
 * Roles: `all` (one process: gateway + console), `gateway` (data plane only, for scale-out
 * behind a load balancer, with Redis for limits and change fan-out), `console` (admin API,
 * portal, marketplace endpoints).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { deploymentSourceFromLicences } from '../billing/http/index.js';
import { createBilling } from '../billing/index.js';
import { type BillingScheduler, createBillingScheduler } from '../billing/scheduler.js';
import { type Change, createCatalog, describeConflicts, namespaceConflicts } from '../catalog/index.js';
import type { Config } from '../config/index.js';
import {
  drainServer,
  Gateway,
  QuotaSync,
  reseedChanged,
  SnapshotHolder,
  seedQuotas,
  trackResponses,
} from '../gateway/index.js';
import { createLicences } from '../licences/index.js';
import { createLimits, type LimitsBackend } from '../limits/index.js';
import { createMarketplace } from '../marketplace/index.js';
import {
  createMeter,
  createMetrics,
  createUsageAlerts,
  type Meter,
  type MetricsJson,
  type TollgateMetrics,
} from '../metering/index.js';
import { createPayments, type Payments } from '../payments/index.js';
import {
  type Clock,
  createLogger,
  type Logger,
  OutboundPolicy,
  type Resolver,
  systemClock,
} from '../shared/index.js';
import { openStore, recordChange, type Store } from '../store/index.js';
import { createWebhooks } from '../webhooks/index.js';
import { alertNotifier } from './alerts.js';
import { type ChangeBus, pollWhileQuiet, redisChangeBus } from './changes.js';
import { buildConsole } from './console.js';
import { invoiceMailer, mailDir, mailOutbox } from './mail.js';
import { startMetricsServer } from './metrics-endpoint.js';
import { metricsObserver } from './observer.js';
import { installationSecret } from './secret.js';
import { startWholesale } from './wholesale.js';

export interface Tollgate {
  config: Config;
  store: Store;
  log: Logger;
  catalog: ReturnType<typeof createCatalog>;
  billing: ReturnType<typeof createBilling>;
  /** The billing cycle (console role; null when `billingScheduler` is off or role is gateway). */
  billingScheduler: BillingScheduler | null;
  marketplace: ReturnType<typeof createMarketplace>;
  payments: Payments;
  webhooks: ReturnType<typeof createWebhooks>;
  meter: Meter;
  /** This process's Prometheus metrics (`/metrics`). */
  metrics: TollgateMetrics;
  snapshots: SnapshotHolder;
  gatewayUrl: string | null;
  consoleUrl: string | null;
  /** The separate `/metrics` listener, when `metricsPort` is set. */
  metricsUrl: string | null;
  /** Where provider-controlled URLs may reach (the demo widens it for its own sample APIs). */
  outbound: OutboundPolicy;
  /** Set when this start created the first operator token: shown once. */
  bootstrapToken: string | null;
  close(): Promise<void>;
}

/**
 * What a process of `serve --workers N` shares with its siblings (cluster.ts): the limits
 * backend (instead of createLimits) and the change fan-out (instead of the Redis bus).
 */
export interface SharedParts {
  limits?: LimitsBackend;
  bus?: (onChange: (seq?: number) => void) => ChangeBus;
  /** The other processes' metrics, added to this one's at every `/metrics` scrape (the workers'). */
  otherMetrics?: () => Promise<MetricsJson[]>;
  /**
   * What this process is to its siblings, for its start line (default `tollgate`): the line
   * `tollgate started` is the whole system's, logged by the primary once every worker listens.
   */
  part?: string;
}

export async function startTollgate(
  config: Config,
  opts: { clock?: Clock; log?: Logger; resolve?: Resolver; shared?: SharedParts } = {},
): Promise<Tollgate> {
  const shared = opts.shared ?? {};
  const clock = opts.clock ?? systemClock;
  const log = opts.log ?? createLogger({ level: config.logLevel });
  // One outbound policy for every URL a provider controls (docs/outbound.md); `resolve`
  // stands in for DNS in tests.
  const outbound = new OutboundPolicy({
    allow: config.outboundAllow,
    ...(opts.resolve ? { resolve: opts.resolve } : {}),
  });
  // Wholesale: refuse to start on a bad licence, before anything else opens.
  const wholesale = await startWholesale(config, clock, log, outbound);
  const store = await openStore(config.databaseUrl);
  for (const line of describeConflicts(await namespaceConflicts(store.db))) log.warn(line);
  const metrics = createMetrics(shared.otherMetrics ? { others: shared.otherMetrics } : {});

  let snapshots: SnapshotHolder | null = null;
  let bus: ChangeBus | null = null;
  // Declared before the catalog, assigned below: quota views read the live counters.
  let limits: LimitsBackend | null = null;
  const catalog = createCatalog({
    store,
    clock,
    log,
    outbound,
    quotaUsed: async (subscriptionId, windowStart) =>
      Number(await limits!.quotaUsed(`q:${subscriptionId}`, windowStart)),
    onChange: (change) => onChange(change),
  });
  // Every write the gateway must see (catalog, plan changes, marketplace transitions): its
  // number in the change log (appended here for writers outside the catalog), applied to
  // this process's snapshot and published to the others.
  function onChange(change: Change): void {
    const numbered =
      change.seq !== undefined ? Promise.resolve(change.seq) : recordChange(store.db, change, clock.now());
    numbered.then(
      (seq) => {
        void snapshots?.notify(seq);
        bus?.publish(seq);
      },
      (err: unknown) =>
        log.error({ err, change }, 'could not record a catalog change; the periodic reload will see it'),
    );
  }

  const runsGateway = config.role !== 'console';
  const runsConsole = config.role !== 'gateway';

  limits =
    shared.limits ??
    (await createLimits({
      redisUrl: config.redisUrl,
      lease: config.limitsLease ? parseLease(config.limitsLease) : null,
      prefix: LIMITS_PREFIX,
      log,
      // Start even if Redis is down (each plan fails open or closed); say so loudly.
      onNotReady: (err) => log.error({ err: err.message }, 'redis for limits not ready'),
    }));

  const secret = installationSecret(config.secret, config.dataDir);
  const webhooks = createWebhooks({ store, clock, log, outbound, secretKey: secret });
  // Signing secrets written before they were sealed at rest (migration 014) are sealed now.
  await webhooks.sealStoredSecrets();
  // Declared before the alerts, assigned below: a buyer's budget is a spend alert threshold.
  let payments: Payments | null = null;
  const alerts = createUsageAlerts({
    store,
    clock,
    log,
    notify: alertNotifier(store, webhooks, log),
    spendOf: (subscriptionId) => payments!.spend.statusOf(subscriptionId),
  });
  const stopDelivery = runsConsole ? webhooks.startDelivery(5_000) : null;
  const licences = createLicences({ store, clock, log, secret });
  const billing = createBilling({ store, clock, log, webhooks });
  billing.setDeploymentSource(deploymentSourceFromLicences(licences, store));
  const mail = mailOutbox(mailDir(config.dataDir), log);
  billing.onFinalized(invoiceMailer(store, mail, config.publicUrl));

  // With metering `off` this is a meter that records nothing.
  const meter = await createMeter({
    store,
    clock,
    log,
    durability: config.metering,
    dataDir: config.dataDir,
    node: config.node,
    flushIntervalMs: config.flushIntervalMs,
    onFlushed: (rows) => void alerts.onFlushed(rows),
  });
  metrics.attachMeter(meter);

  const marketplace = createMarketplace({
    store,
    clock,
    log,
    catalog,
    secretKey: secret,
    webhooks,
    billing,
    outbound,
    flushUsage: async () => {
      await meter.flush();
    },
    onChange,
    onAlert: (alert) => log.warn({ alert }, 'marketplace export alert'),
    ...(config.marketplaceEndpoint
      ? {
          external: {
            endpoint: config.marketplaceEndpoint,
            region: config.marketplaceRegion,
            accessKeyId: config.marketplaceAccessKeyId!,
            secretAccessKey: config.marketplaceSecretAccessKey!,
            ...(config.marketplaceNotificationSecret
              ? { notificationSecret: config.marketplaceNotificationSecret }
              : {}),
          },
        }
      : {}),
  });
  if (runsConsole) marketplace.start();
  const billingScheduler =
    runsConsole && config.billingScheduler
      ? createBillingScheduler(
          { store, clock, log, billing, registry: metrics.registry },
          {
            intervalMs: config.billingIntervalMs,
            settleMs: config.billingSettleMs,
            reviewMs: config.billingReviewMs,
            ...(config.billingLeaseMs ? { leaseMs: config.billingLeaseMs } : {}),
            holder: `${config.node}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`,
          },
        )
      : null;

  payments = createPayments({
    store,
    clock,
    log,
    billing,
    secret,
    ...(config.stripeApiUrl ? { stripeApiUrl: config.stripeApiUrl } : {}),
    suspend: async (id) => {
      await marketplace.subscriptions.suspend(id, undefined, 'past_due');
    },
    resume: async (id) => {
      await marketplace.subscriptions.resume(id);
    },
    onChange: (id) => onChange({ entity: 'subscription', id, action: 'update' }),
    mail,
    ...(config.publicUrl ? { portalUrl: config.publicUrl.replace(/\/$/, '') } : {}),
  });
  const paid = payments;
  if (runsConsole) paid.start();

  snapshots = await SnapshotHolder.create(store, () => clock.now(), log);
  snapshots.startPeriodic(config.snapshotRefreshMs);
  const holder = snapshots;
  if (shared.bus) bus = shared.bus((seq) => void holder.notify(seq));
  else if (config.redisUrl)
    bus = redisChangeBus(config.redisUrl, config.node, (seq) => void holder.notify(seq), log);
  const stopPolling = pollWhileQuiet(bus, () => void holder.notify());
  if (!config.redisUrl && runsGateway) {
    const n = await seedQuotas(store, snapshots.current, limits, clock.now());
    if (n) log.info({ subscriptions: n }, 'quota counters seeded from stored usage');
  }
  if (runsGateway) {
    // A quota window new to this snapshot counts what was already used in it (src/quota).
    const lim = limits;
    snapshots.setBeforeSwap(async (before, after) => {
      const n = await reseedChanged(store, before, after, lim, clock.now(), async () => {
        await meter.flush();
      });
      if (n) log.info({ subscriptions: n }, 'new quota windows seeded from stored usage');
    });
  }
  // Redis counters are seeded at start and again whenever Redis comes back without them.
  let quotaSync: QuotaSync | null = null;
  if (config.redisUrl && runsGateway) {
    quotaSync = new QuotaSync({
      redisUrl: config.redisUrl,
      prefix: LIMITS_PREFIX,
      store,
      snapshots,
      limits,
      flushUsage: async () => {
        await meter.flush();
      },
      clock,
      log,
    });
    await quotaSync.start();
  }

  let gateway: Gateway | null = null;
  let gatewayUrl: string | null = null;
  if (runsGateway) {
    gateway = new Gateway({
      snapshots,
      limits: quotaSync ? quotaSync.guard(limits) : limits,
      ...(quotaSync ? { outage: quotaSync } : {}),
      meter,
      clock,
      log,
      trustProxy: config.trustProxy,
      dropResponseHeaders: config.dropResponseHeaders,
      outbound,
      upstream: {
        connectTimeoutMs: config.upstreamConnectTimeoutMs,
        headersTimeoutMs: config.upstreamHeadersTimeoutMs,
        bodyTimeoutMs: config.upstreamBodyTimeoutMs,
        connections: config.upstreamConnections,
      },
      observer: metricsObserver(metrics),
      ...(wholesale ? { guard: wholesale.guard } : {}),
    });
    const port = await gateway.listen(config.gatewayPort, config.gatewayHost);
    gatewayUrl = `http://${displayHost(config.gatewayHost)}:${port}`;
  }

  let consoleServer: Server | null = null;
  let consoleUrl: string | null = null;
  let bootstrapToken: string | null = null;
  if (runsConsole) {
    const app = buildConsole({
      config,
      store,
      clock,
      log,
      catalog,
      meter,
      metrics,
      billing,
      licences,
      webhooks,
      marketplace,
      payments: paid,
      gatewayUrl: config.gatewayPublicUrl ?? gatewayUrl,
      onChange,
      mail,
      secret,
    });
    consoleServer = await new Promise<Server>((resolve) => {
      const s = serve({ fetch: app.fetch, port: config.consolePort, hostname: config.consoleHost }, () =>
        resolve(s as Server),
      ) as Server;
    });
    trackResponses(consoleServer);
    const port = (consoleServer.address() as AddressInfo).port;
    consoleUrl = `http://${displayHost(config.consoleHost)}:${port}`;
    bootstrapToken = (await catalog.bootstrapOperatorToken({ configured: config.adminToken })).value ?? null;
  }
  billingScheduler?.start();

  const metricsServer =
    config.metricsPort === undefined
      ? null
      : await startMetricsServer(
          { metrics, token: config.metricsToken },
          config.metricsPort,
          config.metricsHost,
        );

  log.info(
    {
      gateway: gatewayUrl,
      console: consoleUrl,
      metrics: metricsServer?.url,
      role: config.role,
      metering: config.metering,
      node: config.node,
    },
    `${shared.part ?? 'tollgate'} started`,
  );

  return {
    config,
    store,
    log,
    catalog,
    billing,
    billingScheduler,
    marketplace,
    payments: paid,
    webhooks,
    meter,
    metrics,
    snapshots,
    outbound,
    gatewayUrl,
    consoleUrl,
    metricsUrl: metricsServer?.url ?? null,
    bootstrapToken,
    async close() {
      // Every listener drains at once, within the same grace.
      await Promise.all([
        gateway?.close(config.shutdownGraceMs),
        metricsServer && drainServer(metricsServer.server, config.shutdownGraceMs),
        consoleServer && drainServer(consoleServer, config.shutdownGraceMs),
      ]);
      holder.stop();
      stopPolling();
      await billingScheduler?.stop();
      await stopDelivery?.();
      wholesale?.stop();
      await quotaSync?.close();
      await meter.close();
      marketplace.stop();
      await paid.stop();
      await billing.close();
      await bus?.close();
      await limits.close();
      await store.close();
      // The last line of a clean stop (SIGTERM in a container): an orchestrator's log shows it.
      log.info({ role: config.role }, 'tollgate stopped: requests drained, usage flushed');
    },
  };
}

const LIMITS_PREFIX = 'tollgate:';

function displayHost(host: string): string {
  return host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
}

/** `--limits-lease 32/250`: lease up to 32 units for 250 ms (see docs/limits.md). */
export function parseLease(v: string): { units: number; ttlMs: number } {
  const [units, ttlMs] = v.split('/').map(Number);
  return { units: units!, ttlMs: ttlMs ?? 250 };
}
