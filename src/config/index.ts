/**
 * The one schema of every setting. Sources, later wins: defaults < environment
 * (`TOLLGATE_*`) < command-line flags. Validated once at start and frozen; a bad value
 * stops the process with a message naming the setting and what it accepts.
 */
import { z } from 'zod';
import { checkAllowEntries } from '../shared/outbound/index.js';

const port = z.coerce.number().int().min(0).max(65535);
const bool = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0'])])
  .transform((v) => v === true || v === 'true' || v === '1');
/** A comma-separated list (flag, environment) or an array (config object). */
const list = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (typeof v === 'string' ? v.split(',') : v).map((e) => e.trim()).filter((e) => e !== ''));
const outboundAllow = list.superRefine((entries, ctx) => {
  try {
    checkAllowEntries(entries);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: `${(e as Error).message}; give hosts, host:port, IPs or CIDRs` });
  }
});
const ms = z.coerce.number().int().min(1).max(3_600_000);

export const configSchema = z
  .object({
    role: z.enum(['all', 'gateway', 'console']).default('all'),
    node: z.string().min(1).max(64).default('node-1'),
    /** Gateway processes on this machine sharing the gateway port (`auto`: one per available core). */
    workers: z.union([z.literal('auto'), z.coerce.number().int().min(1).max(256)]).default(1),
    databaseUrl: z
      .string()
      .regex(/^(sqlite:|postgres(ql)?:\/\/)/, 'must start with sqlite: or postgres://')
      .default('sqlite:./data/tollgate.db'),
    redisUrl: z
      .string()
      .regex(/^rediss?:\/\//, 'must start with redis://')
      .optional(),
    /** Local pre-admission for hot keys with Redis limits: `units/ttlMs`, e.g. `32/250`. Off by default. */
    limitsLease: z
      .string()
      .regex(/^\d{1,4}(\/\d{1,5})?$/, 'must be units/ttlMs, e.g. 32/250')
      .optional(),
    dataDir: z.string().min(1).default('./data'),
    gatewayHost: z.string().default('0.0.0.0'),
    gatewayPort: port.default(8080),
    consoleHost: z.string().default('0.0.0.0'),
    consolePort: port.default(8081),
    /** Operator token to accept as admin (otherwise one is generated and printed once). */
    adminToken: z.string().min(20).max(200).optional(),
    /** Public URL of the console, used in links (portal mails, marketplace redirects). */
    publicUrl: z.string().url().optional(),
    /** Public URL of the gateway as buyers reach it (API reference, example calls). Default: the gateway's own address. */
    gatewayPublicUrl: z.string().url().optional(),
    metering: z.enum(['off', 'batched', 'strict']).default('batched'),
    /** Selling through an external marketplace (AWS Marketplace, or another Tollgate's console URL). */
    marketplaceEndpoint: z.string().url().optional(),
    marketplaceRegion: z.string().min(1).max(32).default('us-east-1'),
    marketplaceAccessKeyId: z.string().min(1).max(128).optional(),
    marketplaceSecretAccessKey: z.string().min(1).max(256).optional(),
    /** Shared secret for lifecycle notifications relayed without SigV4 (see docs/marketplace.md). */
    marketplaceNotificationSecret: z.string().min(16).max(256).optional(),
    /** Where the Stripe API is: default Stripe's own; set to a local stand-in for tests. */
    stripeApiUrl: z.string().url().optional(),
    /** Lets providers sign up in the portal themselves (otherwise the operator creates their logins). */
    providerSignup: bool.default(false),
    flushIntervalMs: ms.default(1000),
    /** Full snapshot reload interval: the safety net behind change notifications. */
    snapshotRefreshMs: ms.default(30_000),
    /** SIGTERM: how long in-flight requests may take to finish before their connections are cut. */
    shutdownGraceMs: ms.default(10_000),
    /**
     * Calls a fresh gateway makes to itself (a made-up API on a loopback upstream of its own)
     * before it listens (at most 10 s), so V8 has compiled the request path before real
     * traffic; 0: none.
     */
    gatewayWarmup: z.coerce.number().int().min(0).max(1_000_000).default(10_000),
    upstreamConnectTimeoutMs: ms.default(5_000),
    upstreamHeadersTimeoutMs: ms.default(30_000),
    upstreamBodyTimeoutMs: ms.default(60_000),
    upstreamConnections: z.coerce.number().int().min(1).max(10_000).default(128),
    trustProxy: bool.default(false),
    /** Upstream response headers never relayed to clients, comma-separated (`x-tollgate-*` always). */
    dropResponseHeaders: z
      .string()
      .max(2000)
      .regex(
        /^([!#$%&'*+.^_`|~0-9A-Za-z-]+(,[!#$%&'*+.^_`|~0-9A-Za-z-]+)*)?$/,
        'must be header names, comma-separated',
      )
      .default('server')
      .transform((v) => (v ? v.toLowerCase().split(',') : [])),
    /** `/metrics` on the console port answers only `Authorization: Bearer <this>` or an operator admin token. */
    metricsToken: z.string().min(16).max(200).optional(),
    /** Serve `/metrics` on its own address instead of the console port (no token needed there). */
    metricsPort: port.optional(),
    metricsHost: z.string().default('127.0.0.1'),
    /**
     * What provider-controlled URLs (upstreams, webhooks, notification URLs, licence
     * activation, captured pages) may reach besides public addresses: hosts, host:port, IPs,
     * CIDRs (docs/outbound.md). Empty: loopback, private, link-local… are refused.
     */
    outboundAllow: outboundAllow.default([]),
    logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
    licenceFile: z.string().optional(),
    licencePublicKeys: z.string().optional(),
    /** The product this wholesale deployment runs: a licence for another product is refused. */
    licenceProduct: z.string().min(1).max(64).optional(),
    /** Where to confirm seats (the provider's console URL); offline grace applies when unreachable. */
    licenceActivationUrl: z.string().url().optional(),
    /**
     * Keep API key values made through `/apigateway` (sealed under `secret`) so that
     * includeValue(s) returns them, as Terraform expects. Off: only a hash is kept.
     */
    apigwKeyValues: bool.default(false),
    /** Secret for data encrypted at rest (licence signing keys, marketplace credentials): ≥ 32 characters. */
    secret: z.string().min(32).max(512).optional(),
    licenceGraceMs: z.coerce
      .number()
      .int()
      .min(0)
      .default(7 * 24 * 3600 * 1000),
    /** How often the licence and public keys files are re-read and the licence re-checked. */
    licenceCheckIntervalMs: ms.default(60_000),
    demo: bool.default(false),
    /** The console runs the billing cycle by itself (one process at a time, by a database lease). */
    billingScheduler: bool.default(true),
    /** How often the billing cycle looks for ended periods and due drafts. */
    billingIntervalMs: ms.default(60_000),
    /** How long after a period ends it is invoiced, so late usage is in (default one hour). */
    billingSettleMs: z.coerce
      .number()
      .int()
      .min(0)
      .max(30 * 86_400_000)
      .default(3_600_000),
    /**
     * How long the billing lease lasts without renewal: after a console process dies, another
     * takes the cycle over within this long (default: 5 × billingIntervalMs, at least 30 s).
     */
    billingLeaseMs: z.coerce.number().int().min(1_000).max(86_400_000).optional(),
    /** How long a draft invoice can be reviewed before it is finalized (0 = at once). */
    billingReviewMs: z.coerce
      .number()
      .int()
      .min(0)
      .max(30 * 86_400_000)
      .default(3_600_000),
  })
  .strict();

export type Config = Readonly<z.infer<typeof configSchema>>;
export type ConfigInput = z.input<typeof configSchema>;

/** Environment variable for each setting: `databaseUrl` → `TOLLGATE_DATABASE_URL`. */
export function envName(key: string): string {
  return `TOLLGATE_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

export function readEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(configSchema.shape)) {
    const v = env[envName(key)];
    if (v !== undefined && v !== '') out[key] = v;
  }
  return out;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(
  flags: Record<string, unknown> = {},
  env: NodeJS.ProcessEnv = process.env,
): Config {
  const parsed = configSchema.safeParse({ ...readEnv(env), ...flags });
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const key = i.path.join('.') || '(config)';
      const from = key in flags ? `--${kebab(key)}` : envName(key);
      return `  ${key} (${from}): ${i.message}`;
    });
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const c = parsed.data;
  if (c.marketplaceEndpoint && !(c.marketplaceAccessKeyId && c.marketplaceSecretAccessKey)) {
    throw new ConfigError(
      'invalid configuration:\n  marketplaceEndpoint: needs marketplaceAccessKeyId and marketplaceSecretAccessKey too',
    );
  }
  if (c.workers !== 1) {
    const alone =
      c.role === 'console' ? 'role console' : c.demo ? 'demo' : c.licenceFile ? 'licenceFile' : null;
    if (alone)
      throw new ConfigError(
        `invalid configuration:\n  workers: ${alone} runs in one process; drop --workers`,
      );
    if (c.node.length > 56)
      throw new ConfigError('invalid configuration:\n  node: at most 56 characters with workers');
  }
  return Object.freeze(c);
}

export function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}
