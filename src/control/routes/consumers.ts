/** /consumers — buyers. A provider token sees the ones it created or that subscribe to its plans. */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { type Catalog, schemas as s } from '../../catalog/index.js';
import type { Env } from '../env.js';
import { Consumer, IdParam, json, jsonBody, NoContent, page, problems } from '../schemas.js';

const tags = ['consumers'];
const Create = s.consumerCreate.meta({ id: 'ConsumerCreate' });
const Update = s.consumerUpdate.meta({ id: 'ConsumerUpdate' });

export function registerConsumers(app: OpenAPIHono<Env>, catalog: Catalog): void {
  const svc = catalog.consumers;
  app.openapi(
    createRoute({
      method: 'get',
      path: '/consumers',
      tags,
      summary: 'List consumers',
      request: { query: s.pageQuery },
      responses: { 200: json(page(Consumer, 'ConsumerPage'), 'A page of consumers'), ...problems },
    }),
    async (c) => c.json(await svc.list(c.var.actor, c.req.valid('query')), 200),
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/consumers',
      tags,
      summary: 'Create a consumer',
      request: jsonBody(Create),
      responses: { 201: json(Consumer, 'Created'), ...problems },
    }),
    async (c) => c.json(await svc.create(c.var.actor, c.req.valid('json')), 201),
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/consumers/{id}',
      tags,
      summary: 'Get consumer',
      request: { params: IdParam },
      responses: { 200: json(Consumer, 'The consumer'), ...problems },
    }),
    async (c) => c.json(await svc.get(c.var.actor, c.req.valid('param').id), 200),
  );
  app.openapi(
    createRoute({
      method: 'patch',
      path: '/consumers/{id}',
      tags,
      summary: 'Update consumer',
      request: { params: IdParam, ...jsonBody(Update) },
      responses: { 200: json(Consumer, 'Updated'), ...problems },
    }),
    async (c) => c.json(await svc.update(c.var.actor, c.req.valid('param').id, c.req.valid('json')), 200),
  );
  app.openapi(
    createRoute({
      method: 'delete',
      path: '/consumers/{id}',
      tags,
      summary: 'Delete a consumer without subscriptions',
      request: { params: IdParam },
      responses: { ...NoContent, ...problems },
    }),
    async (c) => {
      await svc.delete(c.var.actor, c.req.valid('param').id);
      return c.body(null, 204);
    },
  );
}
