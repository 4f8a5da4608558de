/**
 * What each setting is for, in a sentence: the prose column of the settings table in
 * docs/operations.md, which `npm run docs:tables` generates from the schema (flag,
 * environment variable, default and accepted values come from the schema itself). Typed by
 * the schema's keys, so a new setting without a description does not compile.
 */
import type { configSchema } from './index.js';

export const SETTING_DESCRIPTIONS: { readonly [K in keyof typeof configSchema.shape]: string } = {
  role: 'which servers this process runs: both, only the gateway (data plane) or only the console (admin API, portal)',
  node: 'unique per process in a fleet (metering batch ids); worker N of `workers` meters as `<node>.wN`',
  workers:
    'gateway processes on this machine sharing the gateway port, limits shared through the first process (`auto`: one per available core; [operations.md](operations.md#every-core-of-one-machine))',
  databaseUrl: '`sqlite:PATH` or `postgres://user@host:5432/db`',
  redisUrl: '`redis://host:6379`; enables limits shared across gateways and change fan-out',
  limitsLease:
    'with Redis limits, let a hot key pre-admit `units` calls locally for `ttlMs` (e.g. `32/250`); off by default, `32/250` for `workers` without Redis ([limits.md](limits.md))',
  dataDir: 'strict metering log, demo key, outgoing mail (mail/*.eml)',
  gatewayHost: 'address the gateway listens on (`127.0.0.1` with `--demo` unless given)',
  gatewayPort: 'gateway port (`0`: any free port)',
  consoleHost: 'address the console listens on (`127.0.0.1` with `--demo` unless given)',
  consolePort: 'console port (`0`: any free port)',
  adminToken:
    'an operator bearer token to accept (20–200 characters); without one, a token is generated and printed once',
  publicUrl:
    'the console as users reach it, for links in mail and marketplace redirects (password-reset links are not sent without it)',
  gatewayPublicUrl:
    "the gateway as buyers reach it: the API reference's `servers` and the example calls in the portal (default: the gateway's own address)",
  metering: '`strict` fsyncs each usage event before the response leaves ([metering.md](metering.md))',
  marketplaceEndpoint:
    "sell through an external marketplace: AWS Marketplace, or another Tollgate's console URL",
  marketplaceRegion: 'the AWS region signed for the marketplace',
  marketplaceAccessKeyId: 'credentials for the marketplace endpoint (needed with `marketplaceEndpoint`)',
  marketplaceSecretAccessKey: 'credentials for the marketplace endpoint (needed with `marketplaceEndpoint`)',
  marketplaceNotificationSecret:
    'shared secret (≥ 16 characters) for lifecycle notifications relayed without SigV4 ([marketplace.md](marketplace.md))',
  stripeApiUrl:
    "where the Stripe API is (default Stripe's own); only for a local stand-in in tests ([payments.md](payments.md))",
  providerSignup:
    'let anyone sign up in the portal as a seller (otherwise the operator creates provider logins)',
  flushIntervalMs: 'how often `batched` metering flushes',
  snapshotRefreshMs: "full reload of the gateway's snapshot: the safety net behind change notifications",
  gatewayWarmup:
    'calls a fresh gateway makes to itself (made-up API, loopback upstream of its own, at most 10 s) before it listens, so V8 has compiled the request path before real traffic (`0`: none)',
  shutdownGraceMs: 'on SIGTERM, the longest in-flight requests may take before their connections are cut',
  upstreamConnectTimeoutMs: 'connect timeout to an upstream → 504',
  upstreamHeadersTimeoutMs:
    'default; each API has its own `timeoutMs`: no response head by then (counted from dispatch) → 504',
  upstreamBodyTimeoutMs: 'idle time between response body chunks',
  upstreamConnections: 'keep-alive connections per upstream origin',
  trustProxy: "keep the client's `X-Forwarded-For` chain",
  dropResponseHeaders:
    'upstream response headers never relayed to clients, comma-separated (`x-tollgate-*` are always dropped)',
  metricsToken:
    '≥ 16 characters; `/metrics` on the console port answers `Authorization: Bearer <it>` (and operator admin tokens)',
  metricsPort:
    'serve `/metrics` on its own listener instead of the console port (the token, if set, is required there too)',
  metricsHost: 'address of the `metricsPort` listener',
  outboundAllow:
    'hosts, `host:port`, IPs, CIDRs that upstreams, webhooks, notification URLs and licence activation may reach besides public addresses ([outbound.md](outbound.md))',
  logLevel: 'pino log level',
  licenceFile:
    'wholesale mode: the licence to run under (`--licence` for short; [wholesale.md](wholesale.md))',
  licencePublicKeys: "the provider's public keys (JSON) the licence is verified with",
  licenceProduct: 'the product this deployment runs; a licence for another product is refused',
  licenceActivationUrl:
    "where seats are confirmed (the provider's console URL); offline grace applies when unreachable",
  apigwKeyValues:
    'keep API key values made through `/apigateway` sealed, so that `includeValue(s)` returns them (Terraform reads them back); off: only a hash ([apigw.md](apigw.md))',
  secret:
    'secret (≥ 32 characters) for data encrypted at rest: licence signing keys, marketplace and payment credentials',
  licenceGraceMs: 'how long a deployment keeps serving after its licence expires, warning (default 7 days)',
  licenceCheckIntervalMs:
    'how often wholesale mode re-reads the licence and keys files and re-checks the licence (grace end, renewal, revocation)',
  demo: 'start the demo: sample APIs, a priced plan, a key and portal logins ([README](../README.md))',
  billingScheduler:
    'the console runs the billing cycle by itself (one process at a time, by a database lease)',
  billingIntervalMs: 'how often the billing cycle looks for ended periods and due drafts',
  billingSettleMs: 'how long after a period ends it is invoiced, so late usage is in',
  billingReviewMs: 'how long a draft invoice can be reviewed before it is finalized (`0`: at once)',
  billingLeaseMs:
    'how long the billing lease lasts unrenewed: another console process takes the cycle over this long after the holder dies (default 5 × billingIntervalMs, at least 30 s)',
};
