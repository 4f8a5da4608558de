/**
 * /plans/{id}/price… — a plan's price (set = a new version, read, history) and the
 * preview "what would this usage cost for one period on plan X" (no writes).
 */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { type Env, IdParam, json, jsonBody, problems } from '../../control/index.js';
import { type FieldIssue, TollgateError } from '../../shared/index.js';
import type { Preview as PreviewValue, PriceRecord as Record_ } from '../index.js';
import type { ResolvedBillingAdminDeps as BillingAdminDeps } from './index.js';
import { Preview, PreviewBody, PriceBody, PriceHistory, PriceRecord, unknownFields } from './schemas.js';
import { visiblePlan } from './scope.js';

const tags = ['billing'];
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export const priceView = (r: Record_) => ({
  id: r.id,
  planId: r.planId,
  version: r.version,
  price: r.price as unknown as Record<string, unknown>,
  createdAt: r.createdAt,
  createdBy: r.createdBy,
});

const previewView = (p: PreviewValue) => ({
  ...p,
  lines: p.lines.map((l) => ({ ...l, usageFrom: iso(l.usageFrom), usageTo: iso(l.usageTo) })),
});

export function registerPrices(app: OpenAPIHono<Env>, { billing, catalog }: BillingAdminDeps): void {
  app.openapi(
    createRoute({
      method: 'put',
      path: '/plans/{id}/price',
      tags,
      summary: "Set the plan's price (stores a new version; earlier ones stay as history)",
      description:
        'Unit prices and fees are decimal strings ("0.00035"), never JSON numbers. A period is rated on the version in force at its start.',
      request: { params: IdParam, ...jsonBody(PriceBody) },
      responses: { 200: json(PriceRecord, 'The new price version'), ...problems },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const body = c.req.valid('json');
      const extra = unknownFields(await c.req.json(), body);
      if (extra.length > 0) {
        const issues: FieldIssue[] = extra.map((field) => ({ field, message: 'unknown field' }));
        throw new TollgateError(
          'VALIDATION_FAILED',
          issues
            .slice(0, 5)
            .map((i) => `${i.field}: ${i.message}`)
            .join('; '),
          issues,
        );
      }
      await visiblePlan(catalog, c.var.actor, id);
      return c.json(priceView(await billing.setPrice(id, body, c.var.actor.id)), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/plans/{id}/price',
      tags,
      summary: "The plan's current price",
      request: { params: IdParam },
      responses: { 200: json(PriceRecord, 'The current price version'), ...problems },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      await visiblePlan(catalog, c.var.actor, id);
      const rec = await billing.getPrice(id);
      if (!rec) throw new TollgateError('NOT_FOUND', `plan ${id} has no price`);
      return c.json(priceView(rec), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/plans/{id}/price/history',
      tags,
      summary: "Every version of the plan's price, oldest first",
      request: { params: IdParam },
      responses: { 200: json(PriceHistory, 'Price versions'), ...problems },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      await visiblePlan(catalog, c.var.actor, id);
      return c.json({ items: (await billing.priceHistory(id)).map(priceView) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/plans/{id}/preview',
      tags,
      summary: 'What this usage would cost for one whole period on the plan (nothing is written)',
      request: { params: IdParam, ...jsonBody(PreviewBody) },
      responses: { 200: json(Preview, 'The rated lines and total'), ...problems },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const body = c.req.valid('json');
      await visiblePlan(catalog, c.var.actor, id);
      return c.json(previewView(await billing.preview(id, body.usage, body)), 200);
    },
  );
}
