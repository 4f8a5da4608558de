/** /plans — usage plans: throttle, quota, per-route throttles, over-quota behaviour. */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { type Catalog, schemas as s } from '../../catalog/index.js';
import type { Env } from '../env.js';
import { IdParam, json, jsonBody, NoContent, Plan, page, problems } from '../schemas.js';

const tags = ['plans'];
const Create = s.planCreate.meta({ id: 'PlanCreate' });
const Update = s.planUpdate.meta({ id: 'PlanUpdate' });

export function registerPlans(app: OpenAPIHono<Env>, catalog: Catalog): void {
  const svc = catalog.plans;
  app.openapi(
    createRoute({
      method: 'get',
      path: '/plans',
      tags,
      summary: 'List plans',
      request: { query: s.pageQuery },
      responses: { 200: json(page(Plan, 'PlanPage'), 'A page of plans'), ...problems },
    }),
    async (c) => c.json(await svc.list(c.var.actor, c.req.valid('query')), 200),
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/plans',
      tags,
      summary: 'Create a usage plan',
      request: jsonBody(Create),
      responses: { 201: json(Plan, 'Created'), ...problems },
    }),
    async (c) => c.json(await svc.create(c.var.actor, c.req.valid('json')), 201),
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/plans/{id}',
      tags,
      summary: 'Get plan',
      request: { params: IdParam },
      responses: { 200: json(Plan, 'The plan'), ...problems },
    }),
    async (c) => c.json(await svc.get(c.var.actor, c.req.valid('param').id), 200),
  );
  app.openapi(
    createRoute({
      method: 'patch',
      path: '/plans/{id}',
      tags,
      summary: 'Update plan',
      request: { params: IdParam, ...jsonBody(Update) },
      responses: { 200: json(Plan, 'Updated'), ...problems },
    }),
    async (c) => c.json(await svc.update(c.var.actor, c.req.valid('param').id, c.req.valid('json')), 200),
  );
  app.openapi(
    createRoute({
      method: 'delete',
      path: '/plans/{id}',
      tags,
      summary: 'Delete a plan without subscriptions',
      request: { params: IdParam },
      responses: { ...NoContent, ...problems },
    }),
    async (c) => {
      await svc.delete(c.var.actor, c.req.valid('param').id);
      return c.body(null, 204);
    },
  );
}
