/**
 * /subscriptions — consumer × plan, with status transitions (PATCH { status }), DELETE =
 * cancel (the record stays), and the current quota window: GET/POST /subscriptions/{id}/quota.
 */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { type Catalog, schemas as s } from '../../catalog/index.js';
import type { Env } from '../env.js';
import { resourceRoutes } from '../resource.js';
import { IdParam, json, jsonBody, page, problems, QuotaStatus, Subscription } from '../schemas.js';

const tags = ['subscriptions'];
const Create = s.subscriptionCreate.meta({ id: 'SubscriptionCreate' });
const Update = s.subscriptionUpdate.meta({ id: 'SubscriptionUpdate' });
const Adjust = s.quotaAdjust.meta({ id: 'QuotaAdjustment' });

export function registerSubscriptions(app: OpenAPIHono<Env>, catalog: Catalog): void {
  const svc = catalog.subscriptions;
  const r = resourceRoutes(app, '/subscriptions', tags);
  r.list(
    'List subscriptions (filter by consumerId, planId, status)',
    s.subscriptionQuery,
    json(page(Subscription, 'SubscriptionPage'), 'A page of subscriptions'),
    svc.list,
  );
  r.create('Subscribe a consumer to a plan', Create, json(Subscription, 'Created'), svc.create);
  r.get('Get a subscription', json(Subscription, 'The subscription'), svc.get);
  r.update(
    'Change status (allowed transitions only) or trial end',
    Update,
    json(Subscription, 'Updated'),
    svc.update,
  );
  r.act(
    'delete',
    '',
    'Cancel a subscription (it is kept, with status cancelled)',
    json(Subscription, 'Cancelled'),
    svc.cancel,
  );
  r.act(
    'get',
    '/quota',
    'The current quota window: limit, adjustments, used, remaining',
    json(QuotaStatus, 'Quota status'),
    catalog.quota.get,
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
