/**
 * Zod 4 schemas of every catalog input. They validate the admin API's requests AND generate
 * its OpenAPI document (src/control), so the two never drift. Objects are strict (unknown
 * fields are refused) and every number has sane bounds. Cross-record rules (an API id that
 * must belong to the plan's provider, a prefix+host clash, a state transition) are checked
 * by the services, which see the database.
 */
import { z } from 'zod';
import { isValidTimeZone } from '../limits/index.js';

export const LIMITS = {
  rate: 1e6,
  burst: 1e7,
  quota: 1e12,
  units: 1e9,
  routes: 500,
  apiIdsPerPlan: 100,
  timeoutMs: 300_000,
  graceMs: 30 * 24 * 3600_000,
  pageDefault: 50,
  pageMax: 200,
} as const;

export const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', '*'] as const;
export const QUOTA_PERIODS = ['DAY', 'WEEK', 'MONTH'] as const;
export const SUBSCRIPTION_STATUSES = [
  'pending',
  'trialing',
  'active',
  'cancel_pending',
  'cancelled',
  'suspended',
] as const;
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number];

const name = z.string().trim().min(1).max(200);
const id = z.string().min(1).max(64);
const isoTime = z.iso.datetime({ offset: true });

/** True when `tz` is an IANA zone name the runtime knows (`UTC`, `Europe/Paris`…). */
export function isTimeZone(tz: string): boolean {
  return /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(tz) && isValidTimeZone(tz);
}

/** An absolute http(s) URL without user:password. */
export const httpUrl = z
  .string()
  .max(2048)
  .refine((v) => {
    try {
      const u = new URL(v);
      return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
    } catch {
      return false;
    }
  }, 'must be an absolute http(s) URL')
  .refine((v) => {
    try {
      const u = new URL(v);
      return u.username === '' && u.password === '';
    } catch {
      return true;
    }
  }, 'must not contain credentials');

const segment = "[A-Za-z0-9._~!$&'()*+,;=:@%-]+";
export const pathPrefix = z
  .string()
  .max(200)
  .regex(new RegExp(`^(/${segment})+$`), 'must look like /segment[/segment…] without a trailing slash')
  .refine((v) => !v.split('/').some((s) => s === '.' || s === '..'), 'must not contain . or .. segments');

export const hostname = z
  .string()
  .max(253)
  .regex(
    /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/,
    'must be a valid host name',
  );

/** A route template: `/things/{id}`, `/v1/files/{proxy+}` (greedy, last segment only) or `/`. */
export const routePath = z
  .string()
  .max(500)
  .regex(
    /^\/$|^(\/([A-Za-z0-9._~!$&'()*,;=:@%-]+|\{[A-Za-z_][A-Za-z0-9_]{0,63}\}))*(\/\{[A-Za-z_][A-Za-z0-9_]{0,63}\+\})?$/,
    'must be a path template like /a/{id} or /{proxy+}',
  )
  .refine((v) => v.length > 0, 'must not be empty')
  .refine((v) => !v.split('/').some((s) => s === '.' || s === '..'), 'must not contain . or .. segments');

export const dimension = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,62}$/, 'must be lower_snake_case, 1–63 characters, starting with a letter');

/**
 * A token bucket. 0 is a limit like any other, as in API Gateway: burst 0 admits no call,
 * rate 0 never refills. Either field may be left out (API Gateway's patches set one at a
 * time); the gateway enforces a throttle only once both are set.
 */
export const throttle = z.strictObject({
  rateLimit: z.number().min(0).max(LIMITS.rate).optional().describe('Steady rate, requests per second'),
  burstLimit: z.number().int().min(0).max(LIMITS.burst).optional().describe('Bucket size, requests'),
});
export type ThrottleInput = z.infer<typeof throttle>;

/** A quota of 0 admits no call in its window; the gateway enforces it once limit and period are set. */
export const quota = z
  .strictObject({
    limit: z.number().int().min(0).max(LIMITS.quota).optional(),
    period: z.enum(QUOTA_PERIODS).optional(),
    offset: z.number().int().min(0).max(LIMITS.quota).default(0),
    timeZone: z
      .string()
      .max(64)
      .refine(isTimeZone, 'must be an IANA time zone such as UTC or Europe/Paris')
      .default('UTC'),
  })
  .refine((q) => q.limit === undefined || q.offset <= q.limit, {
    message: 'must not exceed limit',
    path: ['offset'],
  });
export type QuotaInput = z.infer<typeof quota>;

// ---------------------------------------------------------------- providers

export const providerCreate = z.strictObject({ name });
export const providerUpdate = z.strictObject({ name: name.optional() });

// ---------------------------------------------------------------- apis

export const routeInput = z.strictObject({
  id: id.optional().describe('Keep an existing route (and the plan overrides that name it) on update'),
  method: z.enum(METHODS).default('*'),
  path: routePath,
  dimension: dimension.default('requests'),
  units: z.number().int().min(0).max(LIMITS.units).default(1),
  public: z.boolean().default(false),
  throttle: throttle.nullable().optional(),
});
export type RouteInput = z.infer<typeof routeInput>;

/** An origin a browser sends: `https://app.example.com` (scheme, host, optional port, no path). */
const origin = z
  .string()
  .max(300)
  .regex(
    /^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$|^\*$/,
    'must be an origin like https://app.example.com, or *',
  );
const headerName = z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$/, 'must be an HTTP header name');

/** Browser access to the API (CORS); the gateway answers preflights itself, without a key. */
export const corsInput = z.strictObject({
  allowOrigins: z.array(origin).min(1).max(50).describe('Origins allowed to call from a browser; * for any'),
  allowMethods: z
    .array(z.enum(METHODS).exclude(['*']))
    .min(1)
    .max(7)
    .default(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']),
  allowHeaders: z.array(headerName).max(50).default(['content-type', 'x-api-key']),
  maxAgeSeconds: z.number().int().min(0).max(86_400).default(600),
});
export type CorsInput = z.infer<typeof corsInput>;

const apiFields = {
  name,
  upstreamUrl: httpUrl,
  pathPrefix: pathPrefix.nullable().optional(),
  host: hostname.nullable().optional(),
  stripPrefix: z.boolean().default(true),
  timeoutMs: z.number().int().min(1).max(LIMITS.timeoutMs).default(30_000),
  openapi: z.record(z.string(), z.unknown()).nullable().optional(),
  routes: z
    .array(routeInput)
    .max(LIMITS.routes)
    .default([
      { method: '*', path: '/', dimension: 'requests', units: 1, public: false },
      { method: '*', path: '/{proxy+}', dimension: 'requests', units: 1, public: false },
    ])
    .describe('Default: every method on / and /{proxy+}'),
  cors: corsInput.nullable().default(null),
  rateLimitHeaders: z
    .boolean()
    .default(true)
    .describe('Send RateLimit-Policy and RateLimit headers on every keyed response'),
};
export const apiCreate = z.strictObject({ providerId: id.optional(), ...apiFields });
export const apiUpdate = z.strictObject({
  name: name.optional(),
  upstreamUrl: httpUrl.optional(),
  pathPrefix: pathPrefix.nullable().optional(),
  host: hostname.nullable().optional(),
  stripPrefix: z.boolean().optional(),
  timeoutMs: z.number().int().min(1).max(LIMITS.timeoutMs).optional(),
  openapi: z.record(z.string(), z.unknown()).nullable().optional(),
  routes: z.array(routeInput).max(LIMITS.routes).optional(),
  cors: corsInput.nullable().optional(),
  rateLimitHeaders: z.boolean().optional(),
});
export type ApiCreate = z.infer<typeof apiCreate>;

/** A host the operator assigns to a provider (lower-cased). */
export const hostAssign = z.strictObject({ host: hostname.transform((h) => h.toLowerCase()) });
export type ApiUpdate = z.infer<typeof apiUpdate>;

// ---------------------------------------------------------------- plans

const planFields = {
  name,
  description: z.string().max(5000).default(''),
  apiIds: z.array(id).max(LIMITS.apiIdsPerPlan).default([]),
  throttle: throttle.nullable().optional(),
  quota: quota.nullable().optional(),
  routeThrottles: z.record(id, throttle).default({}),
  overQuota: z.enum(['block', 'overage']).default('block'),
  billable: z.enum(['lt500', '2xx']).default('lt500'),
  failureMode: z.enum(['open', 'closed']).default('open'),
};
export const planCreate = z.strictObject({ providerId: id.optional(), ...planFields });
export const planUpdate = z.strictObject({
  name: name.optional(),
  description: z.string().max(5000).optional(),
  apiIds: z.array(id).max(LIMITS.apiIdsPerPlan).optional(),
  throttle: throttle.nullable().optional(),
  quota: quota.nullable().optional(),
  routeThrottles: z.record(id, throttle).optional(),
  overQuota: z.enum(['block', 'overage']).optional(),
  billable: z.enum(['lt500', '2xx']).optional(),
  failureMode: z.enum(['open', 'closed']).optional(),
});
export type PlanCreate = z.infer<typeof planCreate>;
export type PlanUpdate = z.infer<typeof planUpdate>;

// ---------------------------------------------------------------- consumers

const external = z.record(z.string().max(100), z.string().max(1000)).default({});
export const consumerCreate = z.strictObject({
  providerId: id.nullable().optional(),
  name,
  email: z.email().max(320).nullable().optional(),
  externalCustomerId: z.string().min(1).max(200).nullable().optional(),
  external,
});
export const consumerUpdate = z.strictObject({
  name: name.optional(),
  email: z.email().max(320).nullable().optional(),
  externalCustomerId: z.string().min(1).max(200).nullable().optional(),
  external: z.record(z.string().max(100), z.string().max(1000)).optional(),
});
export type ConsumerCreate = z.infer<typeof consumerCreate>;
export type ConsumerUpdate = z.infer<typeof consumerUpdate>;

// ---------------------------------------------------------------- subscriptions

export const subscriptionCreate = z.strictObject({
  consumerId: id,
  planId: id,
  status: z.enum(['pending', 'trialing', 'active']).default('active'),
  trialEndsAt: isoTime.nullable().optional(),
});
export const subscriptionUpdate = z.strictObject({
  status: z.enum(SUBSCRIPTION_STATUSES).optional(),
  trialEndsAt: isoTime.nullable().optional(),
});
export type SubscriptionCreate = z.infer<typeof subscriptionCreate>;
export type SubscriptionUpdate = z.infer<typeof subscriptionUpdate>;

export const quotaAdjust = z
  .strictObject({
    delta: z.number().int().min(-LIMITS.quota).max(LIMITS.quota).optional(),
    remaining: z.number().int().min(0).max(LIMITS.quota).optional(),
    reason: z.string().trim().min(1).max(500),
  })
  .refine((v) => (v.delta === undefined) !== (v.remaining === undefined), {
    message: 'give exactly one of delta or remaining',
    path: ['delta'],
  });
export type QuotaAdjust = z.infer<typeof quotaAdjust>;

// ---------------------------------------------------------------- keys

export const keyCreate = z.strictObject({
  subscriptionId: id,
  name: z.string().trim().max(200).default(''),
  enabled: z.boolean().default(true),
  expiresAt: isoTime.nullable().optional(),
});
export const keyImport = z.strictObject({
  subscriptionId: id,
  value: z.string().max(1000),
  name: z.string().trim().max(200).default(''),
  enabled: z.boolean().default(true),
  expiresAt: isoTime.nullable().optional(),
});
export const keyUpdate = z.strictObject({
  name: z.string().trim().max(200).optional(),
  enabled: z.boolean().optional(),
  expiresAt: isoTime.nullable().optional(),
});
export const keyRoll = z.strictObject({
  graceSeconds: z
    .number()
    .int()
    .min(0)
    .max(LIMITS.graceMs / 1000)
    .default(86_400),
  name: z.string().trim().max(200).optional(),
  expiresAt: isoTime.nullable().optional(),
});
export type KeyCreate = z.infer<typeof keyCreate>;
export type KeyImport = z.infer<typeof keyImport>;
export type KeyUpdate = z.infer<typeof keyUpdate>;
export type KeyRoll = z.infer<typeof keyRoll>;

// ---------------------------------------------------------------- admin tokens

export const tokenCreate = z
  .strictObject({
    name,
    scope: z.enum(['operator', 'provider']),
    providerId: id.nullable().optional(),
  })
  .refine((t) => (t.scope === 'provider') === (t.providerId != null), {
    message: 'required when scope is provider, and only then',
    path: ['providerId'],
  });
export type TokenCreate = z.infer<typeof tokenCreate>;

// ---------------------------------------------------------------- lists

export const cursor = z
  .string()
  .regex(/^[a-z]{2,5}_[0-9A-Z]{26}$/, 'must be a nextCursor from a previous page')
  .optional();
export const pageQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(LIMITS.pageMax).default(LIMITS.pageDefault),
  cursor,
});
export type PageQuery = z.infer<typeof pageQuery>;

export const subscriptionQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(LIMITS.pageMax).default(LIMITS.pageDefault),
  cursor,
  consumerId: id.optional(),
  planId: id.optional(),
  status: z.enum(SUBSCRIPTION_STATUSES).optional(),
});
export type SubscriptionQuery = z.infer<typeof subscriptionQuery>;

export const keyQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(LIMITS.pageMax).default(LIMITS.pageDefault),
  cursor,
  subscriptionId: id.optional(),
});

export const auditQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(LIMITS.pageMax).default(LIMITS.pageDefault),
  cursor,
  entity: z.string().max(40).optional(),
  entityId: id.optional(),
  actor: z.string().max(64).optional(),
  action: z.string().max(40).optional(),
  since: isoTime.optional(),
  until: isoTime.optional(),
});
export type AuditQuery = z.infer<typeof auditQuery>;
