/**
 * The composition root: every service is built once, from the frozen config, and handed its
 * dependencies in its constructor. The order is the order of dependency:
 *
 *   licence (wholesale) → shared services (services.ts) → gateway role (gateway-role.ts)
 *     → console role (console.ts) → metrics listener
 *
 * Roles: `all` (one process: gateway + console), `gateway` (data plane only, for scale-out
 * behind a load balancer, with Redis for limits and change fan-out), `console` (admin API,
 * portal, marketplace endpoints). `serve --workers N` builds its processes from the same
 * parts (cluster.ts).
 *
 * Every step records what it opens (opened.ts). `close()` drains the listeners, then closes
 * the rest in reverse order of opening (metering flushes before the store closes); a start
 * that fails part-way closes what it had opened the same way and rethrows, so the process
 * exits with the error and nothing left open.
 */

import type { Billing } from '../billing/index.js';
import type { BillingScheduler } from '../billing/scheduler.js';
import type { Catalog } from '../catalog/index.js';
import type { Config } from '../config/index.js';
import type { SnapshotHolder } from '../gateway/index.js';
import type { Marketplace } from '../marketplace/index.js';
import type { Meter, TollgateMetrics } from '../metering/index.js';
import type { Payments } from '../payments/index.js';
import {
  type Clock,
  createLogger,
  type Logger,
  OutboundPolicy,
  type Resolver,
  systemClock,
} from '../shared/index.js';
import type { Store } from '../store/index.js';
import type { Webhooks } from '../webhooks/index.js';
import { startConsoleRole } from './console.js';
import { startGatewayRole } from './gateway-role.js';
import { startMetricsServer } from './metrics-endpoint.js';
import { metricsObserver } from './observer.js';
import { startOrUndo } from './opened.js';
import { openServices, type SharedParts } from './services.js';
import { startWholesale } from './wholesale.js';

export { parseLease, type SharedParts } from './services.js';

export interface Tollgate {
  config: Config;
  store: Store;
  log: Logger;
  catalog: Catalog;
  billing: Billing;
  /** The billing cycle (console role; null when `billingScheduler` is off or role is gateway). */
  billingScheduler: BillingScheduler | null;
  marketplace: Marketplace;
  payments: Payments;
  webhooks: Webhooks;
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

export interface StartOptions {
  clock?: Clock;
  log?: Logger;
  /** Stands in for DNS (tests). */
  resolve?: Resolver;
  shared?: SharedParts;
}

export async function startTollgate(config: Config, opts: StartOptions = {}): Promise<Tollgate> {
  const shared = opts.shared ?? {};
  const clock = opts.clock ?? systemClock;
  const log = opts.log ?? createLogger({ level: config.logLevel });
  // One outbound policy for every URL a provider controls (docs/outbound.md).
  const outbound = new OutboundPolicy({
    allow: config.outboundAllow,
    ...(opts.resolve ? { resolve: opts.resolve } : {}),
  });

  return startOrUndo(log, async (opened) => {
    // Wholesale: a bad licence stops the start before anything else opens.
    const wholesale = await startWholesale(config, clock, log, outbound);
    opened.add('licence checks', () => wholesale.stop());
    const services = await openServices({ config, clock, log, outbound, shared }, opened);
    const { store, snapshots, limits, meter, metrics, catalog } = services;

    const gatewayRole =
      config.role === 'console'
        ? null
        : await startGatewayRole(
            {
              config,
              store,
              clock,
              log,
              outbound,
              snapshots,
              limits,
              meter,
              observer: metricsObserver(metrics),
              guard: wholesale.guard,
            },
            opened,
          );
    const gatewayUrl = gatewayRole?.url ?? null;

    const consoleRole =
      config.role === 'gateway'
        ? null
        : await startConsoleRole(
            {
              ...services,
              config,
              clock,
              log,
              gatewayUrl: config.gatewayPublicUrl ?? gatewayUrl,
              registry: metrics.registry,
            },
            opened,
          );

    const metricsServer =
      config.metricsPort === undefined
        ? null
        : await startMetricsServer(
            { metrics, token: config.metricsToken },
            config.metricsPort,
            config.metricsHost,
            opened,
            config.shutdownGraceMs,
          );

    log.info(
      {
        gateway: gatewayUrl,
        console: consoleRole?.url ?? null,
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
      billing: services.billing,
      billingScheduler: consoleRole?.billingScheduler ?? null,
      marketplace: services.marketplace,
      payments: services.payments,
      webhooks: services.webhooks,
      meter,
      metrics,
      snapshots,
      outbound,
      gatewayUrl,
      consoleUrl: consoleRole?.url ?? null,
      metricsUrl: metricsServer?.url ?? null,
      bootstrapToken: consoleRole?.bootstrapToken ?? null,
      async close() {
        await opened.closeAll();
        // The last line of a clean stop (SIGTERM in a container): an orchestrator's log shows it.
        log.info({ role: config.role }, 'tollgate stopped: requests drained, usage flushed');
      },
    };
  });
}
