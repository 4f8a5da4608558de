/** /apis — upstream APIs with their routes (a PATCH with `routes` replaces them all). */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { type Catalog, schemas as s } from '../../catalog/index.js';
import type { Env } from '../env.js';
import { Api, IdParam, json, jsonBody, NoContent, page, problems } from '../schemas.js';

const tags = ['apis'];
const Create = s.apiCreate.meta({ id: 'ApiCreate' });
const Update = s.apiUpdate.meta({ id: 'ApiUpdate' });

export function registerApis(app: OpenAPIHono<Env>, catalog: Catalog): void {
  const svc = catalog.apis;
  app.openapi(
    createRoute({
      method: 'get',
      path: '/apis',
      tags,
      summary: 'List apis',
      request: { query: s.pageQuery },
      responses: { 200: json(page(Api, 'ApiPage'), 'A page of APIs'), ...problems },
    }),
    async (c) => c.json(await svc.list(c.var.actor, c.req.valid('query')), 200),
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/apis',
      tags,
      summary: 'Create an API with its routes',
      request: jsonBody(Create),
      responses: { 201: json(Api, 'Created'), ...problems },
    }),
    async (c) => c.json(await svc.create(c.var.actor, c.req.valid('json')), 201),
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/apis/{id}',
      tags,
      summary: 'Get api',
      request: { params: IdParam },
      responses: { 200: json(Api, 'The api'), ...problems },
    }),
    async (c) => c.json(await svc.get(c.var.actor, c.req.valid('param').id), 200),
  );
  app.openapi(
    createRoute({
      method: 'patch',
      path: '/apis/{id}',
      tags,
      summary: 'Update api',
      request: { params: IdParam, ...jsonBody(Update) },
      responses: { 200: json(Api, 'Updated'), ...problems },
    }),
    async (c) => c.json(await svc.update(c.var.actor, c.req.valid('param').id, c.req.valid('json')), 200),
  );
  app.openapi(
    createRoute({
      method: 'delete',
      path: '/apis/{id}',
      tags,
      summary: 'Delete an API no plan grants',
      request: { params: IdParam },
      responses: { ...NoContent, ...problems },
    }),
    async (c) => {
      await svc.delete(c.var.actor, c.req.valid('param').id);
      return c.body(null, 204);
    },
  );
}
