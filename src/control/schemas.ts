/**
 * OpenAPI pieces of the admin API: request schemas are the catalog's own (src/catalog/
 * schemas.ts, named here as components), response schemas mirror the catalog's views and
 * are type-checked against them by the route handlers. Helpers build the common parts of
 * a route (JSON body, id parameter, paged list, problem responses).
 */
import { z } from '@hono/zod-openapi';
import { schemas } from '../catalog/index.js';
import { ERRORS, type ErrorCode } from '../shared/index.js';

const time = z.string().openapi({ format: 'date-time', example: '2026-11-26T12:00:00.000Z' });
const throttle = z
  .object({ rateLimit: z.number().optional(), burstLimit: z.number().int().optional() })
  .openapi('Throttle');

export const Provider = z.object({ id: z.string(), name: z.string(), createdAt: time }).openapi('Provider');

export const Route = z
  .object({
    id: z.string(),
    method: z.string(),
    path: z.string(),
    dimension: z.string(),
    units: z.number().int(),
    public: z.boolean(),
    throttle: throttle.nullable(),
  })
  .openapi('Route');

export const Api = z
  .object({
    id: z.string(),
    providerId: z.string(),
    name: z.string(),
    upstreamUrl: z.string(),
    pathPrefix: z.string().nullable(),
    host: z.string().nullable(),
    stripPrefix: z.boolean(),
    timeoutMs: z.number().int(),
    openapi: z.record(z.string(), z.unknown()).nullable(),
    routes: z.array(Route),
    cors: z
      .object({
        allowOrigins: z.array(z.string()),
        allowMethods: z.array(z.string()),
        allowHeaders: z.array(z.string()),
        maxAgeSeconds: z.number().int(),
      })
      .nullable(),
    rateLimitHeaders: z.boolean(),
    createdAt: time,
    updatedAt: time,
  })
  .openapi('Api');

export const Plan = z
  .object({
    id: z.string(),
    providerId: z.string(),
    name: z.string(),
    description: z.string(),
    apiIds: z.array(z.string()),
    throttle: throttle.nullable(),
    quota: z
      .object({
        limit: z.number().int().optional(),
        period: z.enum(schemas.QUOTA_PERIODS).optional(),
        offset: z.number().int(),
        timeZone: z.string(),
      })
      .nullable(),
    routeThrottles: z.record(z.string(), throttle),
    overQuota: z.enum(['block', 'overage']),
    billable: z.enum(['lt500', '2xx']),
    failureMode: z.enum(['open', 'closed']),
    createdAt: time,
    updatedAt: time,
  })
  .openapi('Plan');

export const Consumer = z
  .object({
    id: z.string(),
    providerId: z.string().nullable(),
    name: z.string(),
    email: z.string().nullable(),
    externalCustomerId: z.string().nullable(),
    external: z.record(z.string(), z.string()),
    createdAt: time,
    updatedAt: time,
  })
  .openapi('Consumer');

export const Subscription = z
  .object({
    id: z.string(),
    consumerId: z.string(),
    planId: z.string(),
    status: z.enum(schemas.SUBSCRIPTION_STATUSES),
    startedAt: time,
    trialEndsAt: time.nullable(),
    cancelledAt: time.nullable(),
    createdAt: time,
    updatedAt: time,
  })
  .openapi('Subscription');

const keyFields = {
  id: z.string(),
  subscriptionId: z.string(),
  name: z.string(),
  prefix: z.string().openapi({ description: 'The visible start of the key' }),
  enabled: z.boolean(),
  expiresAt: time.nullable(),
  replacedBy: z.string().nullable(),
  createdAt: time,
  updatedAt: time,
};
export const Key = z.object(keyFields).openapi('Key');
export const KeyWithValue = z
  .object({
    ...keyFields,
    value: z.string().openapi({ description: 'The whole key. Shown once, never again.' }),
  })
  .openapi('KeyWithValue');
export const KeyRollResult = z.object({ old: Key, new: KeyWithValue }).openapi('KeyRollResult');

const tokenFields = {
  id: z.string(),
  name: z.string(),
  scope: z.enum(['operator', 'provider']),
  providerId: z.string().nullable(),
  createdAt: time,
  revokedAt: time.nullable(),
};
export const Token = z.object(tokenFields).openapi('AdminToken');
export const TokenWithValue = z
  .object({ ...tokenFields, value: z.string().openapi({ description: 'The bearer token. Shown once.' }) })
  .openapi('AdminTokenWithValue');

export const AuditEntry = z
  .object({
    id: z.string(),
    at: time,
    actor: z.string(),
    action: z.string(),
    entity: z.string(),
    entityId: z.string(),
    providerId: z.string().nullable(),
    before: z.unknown(),
    after: z.unknown(),
  })
  .openapi('AuditEntry');

export const QuotaStatus = z
  .object({
    subscriptionId: z.string(),
    period: z.enum(['DAY', 'WEEK', 'MONTH']),
    timeZone: z.string(),
    windowStart: time,
    windowEnd: time,
    limit: z.number().int(),
    adjustments: z.number().int(),
    used: z.number().int(),
    remaining: z.number().int(),
  })
  .openapi('QuotaStatus');

export const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.enum(Object.keys(ERRORS) as [ErrorCode, ...ErrorCode[]]),
    errors: z.array(z.object({ field: z.string(), message: z.string() })),
    requestId: z.string(),
    instance: z.string(),
  })
  .openapi('Problem');

// ---------------------------------------------------------------- request pieces

export const IdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: 'id', in: 'path' }, example: 'pln_01JD3Q3R9ZK0V5TQ8Y0S2M4N6P' }),
});

export function page<T extends z.ZodType>(item: T, name: string) {
  return z
    .object({
      items: z.array(item),
      nextCursor: z
        .string()
        .nullable()
        .openapi({ description: 'Pass as ?cursor= for the next page; null at the end' }),
    })
    .openapi(name);
}

export function jsonBody<T extends z.ZodType>(schema: T, required = true) {
  return { body: { content: { 'application/json': { schema } }, required } };
}

export function json<T extends z.ZodType>(schema: T, description: string) {
  return { content: { 'application/json': { schema } }, description };
}

const problem = (description: string) => ({
  content: { 'application/problem+json': { schema: Problem } },
  description,
});

/** The refusals every authenticated route may answer. */
export const problems = {
  400: problem('Invalid input (VALIDATION_FAILED, BAD_JSON); `errors` names each bad field'),
  401: problem('Missing, unknown or revoked admin token'),
  403: problem('The token may not do this (e.g. a provider token creating tokens)'),
  404: problem('No such resource, or not visible to this token'),
  409: problem('Conflicts with existing records, or not allowed in the current state'),
  413: problem('Body over 1 MiB'),
  415: problem('Body is not application/json'),
} as const;

export const NoContent = { 204: { description: 'Done' } } as const;
