/** OpenAPI schemas of the usage admin routes (query strings are parsed again by ./query.ts). */
import { z } from '@hono/zod-openapi';

const time = z.string().openapi({ format: 'date-time', example: '2026-11-26T00:00:00.000Z' });
const bound = (what: string) =>
  z
    .string()
    .max(40)
    .optional()
    .openapi({ description: `${what}: a date (local midnight in timeZone) or an ISO 8601 time with offset` });
const id = z.string().min(1).max(64).optional();

const range = {
  from: bound('Start, inclusive (required)'),
  to: bound('End, exclusive (default now)'),
  granularity: z.enum(['hour', 'day', 'month']).optional().openapi({ description: 'Default day' }),
  timeZone: z
    .string()
    .max(64)
    .optional()
    .openapi({ description: 'IANA zone of day/month buckets; default UTC' }),
  subscriptionId: id,
  keyId: id,
  apiId: id,
  format: z.enum(['json', 'csv']).optional().openapi({ description: 'Default json' }),
};

export const UsageQuery = z.strictObject({
  ...range,
  groupBy: z
    .string()
    .max(100)
    .optional()
    .openapi({ description: 'Comma list of subscription, key, api, dimension' }),
  dimension: z.string().max(64).optional(),
});

export const RejectionQuery = z.strictObject({
  ...range,
  groupBy: z
    .string()
    .max(100)
    .optional()
    .openapi({ description: 'Comma list of subscription, key, api, route, code' }),
  code: z.string().max(40).optional(),
});

const rowBase = {
  period: time,
  periodStart: z.number().int().openapi({ description: 'Bucket start, ms since the epoch' }),
  subscriptionId: z.string().optional(),
  keyId: z.string().optional(),
  apiId: z.string().optional(),
};

export const UsageRow = z
  .object({
    ...rowBase,
    dimension: z.string().optional(),
    units: z.number().int(),
    requests: z.number().int(),
  })
  .openapi('UsageRow');

export const RejectionRow = z
  .object({
    ...rowBase,
    routeId: z.string().optional(),
    code: z.string().optional(),
    count: z.number().int(),
  })
  .openapi('RejectionRow');

const reportMeta = {
  from: time,
  to: time,
  granularity: z.enum(['hour', 'day', 'month']),
  timeZone: z.string(),
};
export const UsageReport = z.object({ ...reportMeta, items: z.array(UsageRow) }).openapi('UsageReport');
export const RejectionReport = z
  .object({ ...reportMeta, items: z.array(RejectionRow) })
  .openapi('RejectionReport');

export const PlanUsageQuery = z.strictObject({
  startDate: z.string().max(10).openapi({ example: '2026-11-01' }),
  endDate: z.string().max(10).openapi({ example: '2026-11-30' }),
  keyId: id,
});

export const PlanUsage = z
  .object({
    usagePlanId: z.string(),
    startDate: z.string(),
    endDate: z.string(),
    values: z
      .record(z.string(), z.array(z.tuple([z.number().int(), z.number().int().nullable()])))
      .openapi({ description: 'Per key id, one [used, remaining] per day (remaining null without quota)' }),
  })
  .openapi('PlanUsage');

export const SubParam = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: 'id', in: 'path' } }),
});
export const PlanParam = z.object({
  planId: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: 'planId', in: 'path' } }),
});
