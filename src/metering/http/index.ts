/**
 * Usage reports on the admin API (docs/metering.md), registered into the control plane via
 * `createControlApp({ extraRoutes: [usageAdminRoutes({ store, clock, catalog })] })`:
 *
 *   GET  /usage                             units + requests per bucket and group (JSON or CSV)
 *   GET  /usage/rejections                  403/429/5xx answered by the gateway (never billed)
 *   GET  /usageplans/{planId}/usage         API Gateway GetUsage: [used, remaining] per key per day
 *   POST /usage/events                      usage from outside the gateway (./events.ts)
 *
 * Numbers come from the store's hourly aggregates (reports.ts, getusage.ts), so
 * they are what the meter has flushed. Scoping (./scope.ts): a provider token sees only its
 * own plans' subscriptions; anything else it names answers 404. This folder is the HTTP
 * adapter of metering: it plugs into src/control (types and response helpers only).
 */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { Catalog } from '../../catalog/index.js';
import { type Env, json, problems } from '../../control/index.js';
import type { Clock } from '../../shared/clock.js';
import type { Store } from '../../store/index.js';
import { getUsage } from '../getusage.js';
import { rejectionReport, toCsv, usageReport } from '../reports.js';
import { usageEventRoutes } from './events.js';
import { parseList, parseRange } from './query.js';
import * as s from './schemas.js';
import { checkVisible, scopeApis } from './scope.js';

export interface UsageRoutesDeps {
  store: Store;
  clock: Clock;
  catalog: Catalog;
}

const tags = ['usage'];
const USAGE_GROUPS = ['subscription', 'key', 'api', 'dimension'] as const;
const REJECTION_GROUPS = ['subscription', 'key', 'api', 'route', 'code'] as const;
const USAGE_COLUMNS = ['period', 'subscriptionId', 'keyId', 'apiId', 'dimension', 'units', 'requests'];
const REJECTION_COLUMNS = ['period', 'subscriptionId', 'keyId', 'apiId', 'routeId', 'code', 'count'];
const FIELD_OF: Record<string, string> = {
  subscription: 'subscriptionId',
  key: 'keyId',
  api: 'apiId',
  dimension: 'dimension',
  route: 'routeId',
  code: 'code',
};

const csvOrJson = (schema: Parameters<typeof json>[0], description: string) => ({
  content: {
    'application/json': { schema },
    'text/csv': { schema: { type: 'string' as const } },
  },
  description,
});

const iso = (ms: number) => new Date(ms).toISOString();

function csvResponse(name: string, body: string): Response {
  return new Response(body, {
    status: 200,
    headers: {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="${name}"`,
    },
  });
}

/** Column order for CSV: the period, the grouped fields in their order, the sums. */
function columnsFor(all: string[], groups: readonly string[], sums: string[]): string[] {
  const grouped = new Set(groups.map((g) => FIELD_OF[g]!));
  return all.filter((c) => c === 'period' || grouped.has(c) || sums.includes(c));
}

const fileStamp = (ms: number) => iso(ms).slice(0, 16).replace(/[-:]/g, '');

export function usageAdminRoutes(deps: UsageRoutesDeps): (app: OpenAPIHono<Env>) => void {
  const { store, clock, catalog } = deps;
  return (app) => {
    usageEventRoutes(deps)(app);
    app.openapi(
      createRoute({
        method: 'get',
        path: '/usage',
        tags,
        summary: 'Usage (units, billable requests) per hour/day/month, grouped; JSON or CSV',
        request: { query: s.UsageQuery },
        responses: { 200: csvOrJson(s.UsageReport, 'The report'), ...problems },
      }),
      async (c) => {
        const q = c.req.valid('query');
        const range = parseRange(q, clock.now());
        const groupBy = parseList('groupBy', q.groupBy, USAGE_GROUPS);
        const actor = c.var.actor;
        await checkVisible(catalog, actor, q);
        const apiIds = await scopeApis(store, actor);
        const items = await usageReport(store, {
          ...range,
          groupBy,
          ...(q.subscriptionId ? { subscriptionId: q.subscriptionId } : {}),
          ...(q.keyId ? { keyId: q.keyId } : {}),
          ...(q.apiId ? { apiId: q.apiId } : {}),
          ...(q.dimension ? { dimension: q.dimension } : {}),
          ...(apiIds ? { apiIds } : {}),
        });
        if (q.format === 'csv') {
          const cols = columnsFor(USAGE_COLUMNS, groupBy, ['units', 'requests']);
          return csvResponse(`usage-${fileStamp(range.from)}-${fileStamp(range.to)}.csv`, toCsv(items, cols));
        }
        const meta = { from: iso(range.from), to: iso(range.to), granularity: range.granularity };
        return c.json({ ...meta, timeZone: range.timeZone, items }, 200);
      },
    );

    app.openapi(
      createRoute({
        method: 'get',
        path: '/usage/rejections',
        tags,
        summary: 'Requests the gateway refused or could not serve (403, 429, 5xx), never billed',
        request: { query: s.RejectionQuery },
        responses: { 200: csvOrJson(s.RejectionReport, 'The report'), ...problems },
      }),
      async (c) => {
        const q = c.req.valid('query');
        const range = parseRange(q, clock.now());
        const groupBy = parseList('groupBy', q.groupBy, REJECTION_GROUPS);
        const actor = c.var.actor;
        await checkVisible(catalog, actor, q);
        const apiIds = await scopeApis(store, actor);
        const items = await rejectionReport(store, {
          ...range,
          groupBy,
          ...(q.subscriptionId ? { subscriptionId: q.subscriptionId } : {}),
          ...(q.keyId ? { keyId: q.keyId } : {}),
          ...(q.apiId ? { apiId: q.apiId } : {}),
          ...(q.code ? { code: q.code } : {}),
          ...(apiIds ? { apiIds } : {}),
        });
        if (q.format === 'csv') {
          const cols = columnsFor(REJECTION_COLUMNS, groupBy, ['count']);
          return csvResponse(
            `rejections-${fileStamp(range.from)}-${fileStamp(range.to)}.csv`,
            toCsv(items, cols),
          );
        }
        const meta = { from: iso(range.from), to: iso(range.to), granularity: range.granularity };
        return c.json({ ...meta, timeZone: range.timeZone, items }, 200);
      },
    );

    app.openapi(
      createRoute({
        method: 'get',
        path: '/usageplans/{planId}/usage',
        tags,
        summary: 'API Gateway GetUsage: [used, remaining] per key per day of the plan',
        request: { params: s.PlanParam, query: s.PlanUsageQuery },
        responses: { 200: json(s.PlanUsage, 'Daily usage per key'), ...problems },
      }),
      async (c) => {
        const { planId } = c.req.valid('param');
        const q = c.req.valid('query');
        await catalog.plans.get(c.var.actor, planId);
        if (q.keyId) await catalog.keys.get(c.var.actor, q.keyId);
        const r = await getUsage(
          { store, clock },
          {
            usagePlanId: planId,
            startDate: q.startDate,
            endDate: q.endDate,
            ...(q.keyId ? { keyId: q.keyId } : {}),
          },
        );
        return c.json(
          { usagePlanId: r.usagePlanId, startDate: r.startDate, endDate: r.endDate, values: r.items },
          200,
        );
      },
    );
  };
}
