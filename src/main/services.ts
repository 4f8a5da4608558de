/**
 * The services every role shares, built once in dependency order, each handed what it needs
 * in its constructor: store → limits → snapshots and change fan-out → catalog → webhooks,
 * licences, billing → spend budgets → usage alerts → meter → marketplace → payments.
 *
 * Everything that holds a handle (the store, Redis clients, timers) is recorded in `opened`
 * the moment it opens, so a later failure closes it (opened.ts). Nothing here listens on a
 * port or starts a background job of the console: the roles do (gateway-role.ts,
 * console-role.ts).
 */
import { deploymentSourceFromLicences } from '../billing/http/index.js';
import { type Billing, createBilling } from '../billing/index.js';
import {
  type Catalog,
  type Change,
  createCatalog,
  describeConflicts,
  namespaceConflicts,
} from '../catalog/index.js';
import type { Config } from '../config/index.js';
import { SnapshotHolder } from '../gateway/index.js';
import { createLicences, type Licences } from '../licences/index.js';
import { createLimits, type LimitsBackend } from '../limits/index.js';
import { createMarketplace, type Marketplace } from '../marketplace/index.js';
import {
  createMeter,
  createMetrics,
  createUsageAlerts,
  type Meter,
  type MetricsJson,
  type TollgateMetrics,
} from '../metering/index.js';
import { createPayments, createSpend, type Payments, type Spend } from '../payments/index.js';
import type { Clock, Logger, OutboundPolicy } from '../shared/index.js';
import { openStore, recordChange, type Store } from '../store/index.js';
import { createWebhooks, type Webhooks } from '../webhooks/index.js';
import { alertNotifier } from './alerts.js';
import { type ChangeBus, NO_BUS, pollWhileQuiet, redisChangeBus } from './changes.js';
import { invoiceMailer, type Mail, mailDir, mailOutbox } from './mail.js';
import type { Opened } from './opened.js';
import { installationSecret } from './secret.js';

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

export interface ServicesEnv {
  config: Config;
  clock: Clock;
  log: Logger;
  outbound: OutboundPolicy;
  shared: SharedParts;
}

export interface Services {
  store: Store;
  limits: LimitsBackend;
  snapshots: SnapshotHolder;
  /** Every write the gateways must see: numbered, applied here, published to the others. */
  onChange: (change: Change) => void;
  catalog: Catalog;
  secret: string;
  webhooks: Webhooks;
  licences: Licences;
  billing: Billing;
  mail: Mail;
  metrics: TollgateMetrics;
  meter: Meter;
  marketplace: Marketplace;
  payments: Payments;
}

export const LIMITS_PREFIX = 'tollgate:';

export async function openServices(env: ServicesEnv, opened: Opened): Promise<Services> {
  const { config, clock, log, outbound, shared } = env;
  const store = await openStore(config.databaseUrl);
  opened.add('store', () => store.close());
  for (const line of describeConflicts(await namespaceConflicts(store.db))) log.warn(line);

  const limits =
    shared.limits ??
    (await createLimits({
      redisUrl: config.redisUrl,
      lease: config.limitsLease ? parseLease(config.limitsLease) : null,
      prefix: LIMITS_PREFIX,
      log,
      // Start even if Redis is down (each plan fails open or closed); say so loudly.
      onNotReady: (err) => log.error({ err: err.message }, 'redis for limits not ready'),
    }));
  opened.add('limits', () => limits.close());

  const snapshots = await SnapshotHolder.create(store, () => clock.now(), log);
  const bus = changeBus(env, (seq) => void snapshots.notify(seq));
  opened.add('change bus', () => bus.close());
  // Every write the gateway must see (catalog, plan changes, marketplace transitions): its
  // number in the change log (appended here for writers outside the catalog), applied to
  // this process's snapshot and published to the others.
  const onChange = (change: Change): void => {
    const numbered =
      change.seq !== undefined ? Promise.resolve(change.seq) : recordChange(store.db, change, clock.now());
    numbered.then(
      (seq) => {
        void snapshots.notify(seq);
        bus.publish(seq);
      },
      (err: unknown) =>
        log.error({ err, change }, 'could not record a catalog change; the periodic reload will see it'),
    );
  };

  const catalog = createCatalog({
    store,
    clock,
    log,
    outbound,
    // Quota views read the live counters.
    quotaUsed: async (subscriptionId, windowStart) =>
      Number(await limits.quotaUsed(`q:${subscriptionId}`, windowStart)),
    onChange,
  });

  const secret = installationSecret(config.secret, config.dataDir);
  const webhooks = createWebhooks({ store, clock, log, outbound, secretKey: secret });
  // Signing secrets written before they were sealed at rest (migration 014) are sealed now.
  await webhooks.sealStoredSecrets();
  const licences = createLicences({ store, clock, log, secret });
  const billing = createBilling({ store, clock, log, webhooks });
  opened.add('billing', () => billing.close());
  billing.setDeploymentSource(deploymentSourceFromLicences(licences, store));
  const mail = mailOutbox(mailDir(config.dataDir), log);
  billing.onFinalized(invoiceMailer(store, mail, config.publicUrl));

  // A buyer's budget is a spend alert threshold; a hard cap reaches the gateways as a change.
  const spend = createSpend({
    db: store.db,
    clock,
    billing,
    onChange: (id) => onChange({ entity: 'subscription', id, action: 'update' }),
  });
  const alerts = createUsageAlerts({
    store,
    clock,
    log,
    notify: alertNotifier(store, webhooks, log),
    spendOf: (subscriptionId) => spend.statusOf(subscriptionId),
  });
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
  opened.add('meter (last flush)', () => meter.close());
  const metrics = createMetrics(shared.otherMetrics ? { others: shared.otherMetrics } : {});
  metrics.attachMeter(meter);

  const { marketplace, payments } = buildCommerce(
    { config, clock, log, outbound, store, catalog, secret, webhooks, billing, meter, onChange, mail },
    spend,
  );

  // Changes reach the snapshot by callback and bus; the log is polled while the bus is quiet,
  // and a full reload runs every `snapshotRefreshMs` as the last safety net.
  snapshots.startPeriodic(config.snapshotRefreshMs);
  opened.add('snapshot reloads', () => snapshots.stop());
  opened.add(
    'change-log polling',
    pollWhileQuiet(bus, () => void snapshots.notify()),
  );

  return {
    store,
    limits,
    snapshots,
    onChange,
    catalog,
    secret,
    webhooks,
    licences,
    billing,
    mail,
    metrics,
    meter,
    marketplace,
    payments,
  };
}

interface CommerceDeps
  extends Pick<
    Services,
    'store' | 'catalog' | 'secret' | 'webhooks' | 'billing' | 'meter' | 'onChange' | 'mail'
  > {
  config: Config;
  clock: Clock;
  log: Logger;
  outbound: OutboundPolicy;
}

/** The marketplace, and payments above it (a buyer past due is suspended through the marketplace). */
function buildCommerce(deps: CommerceDeps, spend: Spend): { marketplace: Marketplace; payments: Payments } {
  const { config, clock, log, outbound, store, catalog, secret, webhooks, billing, meter, onChange, mail } =
    deps;
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
    ...marketplaceExternal(config),
  });
  const payments = createPayments({
    store,
    clock,
    log,
    billing,
    secret,
    spend,
    ...(config.stripeApiUrl ? { stripeApiUrl: config.stripeApiUrl } : {}),
    suspend: async (id) => {
      await marketplace.subscriptions.suspend(id, undefined, 'past_due');
    },
    resume: async (id) => {
      await marketplace.subscriptions.resume(id);
    },
    mail,
    ...(config.publicUrl ? { portalUrl: config.publicUrl.replace(/\/$/, '') } : {}),
  });
  return { marketplace, payments };
}

/** The siblings' bus (workers), else Redis pub/sub when configured, else none (poll the log). */
function changeBus(env: ServicesEnv, notify: (seq?: number) => void): ChangeBus {
  if (env.shared.bus) return env.shared.bus(notify);
  if (env.config.redisUrl) return redisChangeBus(env.config.redisUrl, env.config.node, notify, env.log);
  return NO_BUS;
}

/** The external marketplace's endpoint and credentials, when one is configured. */
function marketplaceExternal(config: Config) {
  const { marketplaceEndpoint: endpoint, marketplaceAccessKeyId: accessKeyId } = config;
  const secretAccessKey = config.marketplaceSecretAccessKey;
  // The config schema requires both keys with an endpoint; checked again, not asserted.
  if (!endpoint || !accessKeyId || !secretAccessKey) return {};
  return {
    external: {
      endpoint,
      region: config.marketplaceRegion,
      accessKeyId,
      secretAccessKey,
      ...(config.marketplaceNotificationSecret
        ? { notificationSecret: config.marketplaceNotificationSecret }
        : {}),
    },
  };
}

/** `--limits-lease 32/250`: lease up to 32 units for 250 ms (see docs/limits.md). */
export function parseLease(v: string): { units: number; ttlMs: number } {
  const [units = Number.NaN, ttlMs = 250] = v.split('/').map(Number);
  return { units, ttlMs };
}
