/**
 * The gateway role (roles `all` and `gateway`, and every worker of `serve --workers`): quota
 * counters seeded from stored usage, the Redis reconciler when limits live in Redis, and the
 * data-plane listener. Opens nothing but what it records in `opened`.
 */
import type { Config } from '../config/index.js';
import {
  Gateway,
  type GatewayObserver,
  NO_LEDGER,
  QuotaSync,
  reseedChanged,
  type ServingGuard,
  type SnapshotHolder,
  seedQuotas,
  warmUp,
} from '../gateway/index.js';
import type { LimitsBackend } from '../limits/index.js';
import { createMetrics, type Meter } from '../metering/index.js';
import type { Clock, Logger, OutboundPolicy } from '../shared/index.js';
import type { Store } from '../store/index.js';
import { listenerUrl, portError } from './listen.js';
import { metricsObserver } from './observer.js';
import type { Opened } from './opened.js';
import { LIMITS_PREFIX } from './services.js';

/** The synthetic warm-up stops after this long even if it made fewer than `gatewayWarmup` calls. */
const WARMUP_BUDGET_MS = 10_000;

export interface GatewayRoleDeps {
  config: Config;
  store: Store;
  clock: Clock;
  log: Logger;
  outbound: OutboundPolicy;
  snapshots: SnapshotHolder;
  limits: LimitsBackend;
  meter: Meter;
  observer: GatewayObserver;
  /** The wholesale licence check (ALWAYS_SERVING for a normal install). */
  guard: ServingGuard;
}

/** Starts the data plane; resolves with its URL once it listens. */
export async function startGatewayRole(deps: GatewayRoleDeps, opened: Opened): Promise<{ url: string }> {
  const { config, store, clock, log, snapshots, limits, meter } = deps;
  const flushUsage = async () => {
    await meter.flush();
  };
  if (!config.redisUrl) {
    const n = await seedQuotas(store, snapshots.current, limits, clock.now());
    if (n) log.info({ subscriptions: n }, 'quota counters seeded from stored usage');
  }
  // A quota window new to this snapshot counts what was already used in it.
  snapshots.setBeforeSwap(async (before, after) => {
    const n = await reseedChanged(store, before, after, limits, clock.now(), flushUsage);
    if (n) log.info({ subscriptions: n }, 'new quota windows seeded from stored usage');
  });

  // Redis counters are seeded at start and again whenever Redis comes back without them.
  let admitLimits = limits;
  let outage = NO_LEDGER;
  if (config.redisUrl) {
    const sync = new QuotaSync({
      redisUrl: config.redisUrl,
      prefix: LIMITS_PREFIX,
      store,
      snapshots,
      limits,
      flushUsage,
      clock,
      log,
    });
    opened.add('quota sync (redis)', () => sync.close());
    await sync.start();
    admitLimits = sync.guard(limits);
    outage = sync;
  }

  const gateway = new Gateway({
    snapshots,
    limits: admitLimits,
    outage,
    meter,
    clock,
    log,
    trustProxy: config.trustProxy,
    dropResponseHeaders: config.dropResponseHeaders,
    outbound: deps.outbound,
    upstream: {
      connectTimeoutMs: config.upstreamConnectTimeoutMs,
      headersTimeoutMs: config.upstreamHeadersTimeoutMs,
      bodyTimeoutMs: config.upstreamBodyTimeoutMs,
      connections: config.upstreamConnections,
    },
    observer: deps.observer,
    guard: deps.guard,
  });
  // Recorded before it listens: its upstream pools close even when the port cannot be opened.
  opened.addListener('gateway port', () => gateway.close(config.shutdownGraceMs));
  if (config.gatewayWarmup > 0) {
    // Before listening: real callers meet a compiled request path (src/gateway/warmup.ts).
    const w = await warmUp({
      calls: config.gatewayWarmup,
      budgetMs: WARMUP_BUDGET_MS,
      clock,
      log,
      upstream: {
        connectTimeoutMs: config.upstreamConnectTimeoutMs,
        headersTimeoutMs: config.upstreamHeadersTimeoutMs,
        bodyTimeoutMs: config.upstreamBodyTimeoutMs,
        connections: config.upstreamConnections,
      },
      observer: metricsObserver(createMetrics()),
      dropResponseHeaders: config.dropResponseHeaders,
    });
    log.info(w, 'gateway warmed up');
  }
  const port = await gateway
    .listen(config.gatewayPort, config.gatewayHost)
    .catch((err: unknown) =>
      Promise.reject(
        portError(err, config.gatewayPort, config.gatewayHost, { what: 'gateway', setting: 'gatewayPort' }),
      ),
    );
  return { url: listenerUrl(config.gatewayHost, port) };
}
