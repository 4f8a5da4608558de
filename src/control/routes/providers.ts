/** /providers — sellers. Operators create and delete; a provider token sees only itself. */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { type Catalog, schemas as s } from '../../catalog/index.js';
import type { Env } from '../env.js';
import { IdParam, json, jsonBody, NoContent, Provider, page, problems } from '../schemas.js';

const tags = ['providers'];
const Create = s.providerCreate.meta({ id: 'ProviderCreate' });
const Update = s.providerUpdate.meta({ id: 'ProviderUpdate' });

export function registerProviders(app: OpenAPIHono<Env>, catalog: Catalog): void {
  const svc = catalog.providers;
  app.openapi(
    createRoute({
      method: 'get',
      path: '/providers',
      tags,
      summary: 'List providers',
      request: { query: s.pageQuery },
      responses: { 200: json(page(Provider, 'ProviderPage'), 'A page of providers'), ...problems },
    }),
    async (c) => c.json(await svc.list(c.var.actor, c.req.valid('query')), 200),
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/providers',
      tags,
      summary: 'Create a provider (operator)',
      request: jsonBody(Create),
      responses: { 201: json(Provider, 'Created'), ...problems },
    }),
    async (c) => c.json(await svc.create(c.var.actor, c.req.valid('json')), 201),
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/providers/{id}',
      tags,
      summary: 'Get a provider',
      request: { params: IdParam },
      responses: { 200: json(Provider, 'The provider'), ...problems },
    }),
    async (c) => c.json(await svc.get(c.var.actor, c.req.valid('param').id), 200),
  );
  app.openapi(
    createRoute({
      method: 'patch',
      path: '/providers/{id}',
      tags,
      summary: 'Update a provider',
      request: { params: IdParam, ...jsonBody(Update) },
      responses: { 200: json(Provider, 'Updated'), ...problems },
    }),
    async (c) => c.json(await svc.update(c.var.actor, c.req.valid('param').id, c.req.valid('json')), 200),
  );
  app.openapi(
    createRoute({
      method: 'delete',
      path: '/providers/{id}',
      tags,
      summary: 'Delete a provider with nothing left in it (operator)',
      request: { params: IdParam },
      responses: { ...NoContent, ...problems },
    }),
    async (c) => {
      await svc.delete(c.var.actor, c.req.valid('param').id);
      return c.body(null, 204);
    },
  );
}
