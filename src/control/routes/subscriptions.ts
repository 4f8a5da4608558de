/**
 * /subscriptions — consumer × plan, with status transitions (PATCH { status }), DELETE =
 * cancel (the record stays), and the current quota window: GET/POST /subscriptions/{id}/quota.
 */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { type Catalog, schemas as s } from '../../catalog/index.js';
import type { Env } from '../env.js';
import { IdParam, json, jsonBody, page, problems, QuotaStatus, Subscription } from '../schemas.js';

const tags = ['subscriptions'];
const Create = s.subscriptionCreate.meta({ id: 'SubscriptionCreate' });
const Update = s.subscriptionUpdate.meta({ id: 'SubscriptionUpdate' });
const Adjust = s.quotaAdjust.meta({ id: 'QuotaAdjustment' });

export function registerSubscriptions(app: OpenAPIHono<Env>, catalog: Catalog): void {
  const svc = catalog.subscriptions;
  app.openapi(
    createRoute({
      method: 'get',
      path: '/subscriptions',
      tags,
      summary: 'List subscriptions (filter by consumerId, planId, status)',
      request: { query: s.subscriptionQuery },
      responses: {
        200: json(page(Subscription, 'SubscriptionPage'), 'A page of subscriptions'),
        ...problems,
      },
    }),
    async (c) => c.json(await svc.list(c.var.actor, c.req.valid('query')), 200),
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/subscriptions',
      tags,
      summary: 'Subscribe a consumer to a plan',
      request: jsonBody(Create),
      responses: { 201: json(Subscription, 'Created'), ...problems },
    }),
    async (c) => c.json(await svc.create(c.var.actor, c.req.valid('json')), 201),
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/subscriptions/{id}',
      tags,
      summary: 'Get a subscription',
      request: { params: IdParam },
      responses: { 200: json(Subscription, 'The subscription'), ...problems },
    }),
    async (c) => c.json(await svc.get(c.var.actor, c.req.valid('param').id), 200),
  );
  app.openapi(
    createRoute({
      method: 'patch',
      path: '/subscriptions/{id}',
      tags,
      summary: 'Change status (allowed transitions only) or trial end',
      request: { params: IdParam, ...jsonBody(Update) },
      responses: { 200: json(Subscription, 'Updated'), ...problems },
    }),
    async (c) => c.json(await svc.update(c.var.actor, c.req.valid('param').id, c.req.valid('json')), 200),
  );
  app.openapi(
    createRoute({
      method: 'delete',
      path: '/subscriptions/{id}',
      tags,
      summary: 'Cancel a subscription (it is kept, with status cancelled)',
      request: { params: IdParam },
      responses: { 200: json(Subscription, 'Cancelled'), ...problems },
    }),
    async (c) => c.json(await svc.cancel(c.var.actor, c.req.valid('param').id), 200),
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/subscriptions/{id}/quota',
      tags,
      summary: 'The current quota window: limit, adjustments, used, remaining',
      request: { params: IdParam },
      responses: { 200: json(QuotaStatus, 'Quota status'), ...problems },
    }),
    async (c) => c.json(await catalog.quota.get(c.var.actor, c.req.valid('param').id), 200),
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/subscriptions/{id}/quota',
      tags,
      summary: 'Adjust the current quota window by `delta`, or set what `remaining`',
      request: { params: IdParam, ...jsonBody(Adjust) },
      responses: { 200: json(QuotaStatus, 'Quota status after the adjustment'), ...problems },
    }),
    async (c) =>
      c.json(await catalog.quota.adjust(c.var.actor, c.req.valid('param').id, c.req.valid('json')), 200),
  );
}
