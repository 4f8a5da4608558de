/**
 * /keys — API keys. The value appears once, in the answer to POST /keys, POST /keys:import
 * and POST /keys/{id}/roll; every other answer carries only the visible prefix.
 */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { type Catalog, schemas as s } from '../../catalog/index.js';
import type { Env } from '../env.js';
import {
  IdParam,
  json,
  jsonBody,
  Key,
  KeyRollResult,
  KeyWithValue,
  NoContent,
  page,
  problems,
} from '../schemas.js';

const tags = ['keys'];
const Create = s.keyCreate.meta({ id: 'KeyCreate' });
const Import = s.keyImport.meta({ id: 'KeyImport' });
const Update = s.keyUpdate.meta({ id: 'KeyUpdate' });
const Roll = s.keyRoll.meta({ id: 'KeyRoll' });

export function registerKeys(app: OpenAPIHono<Env>, catalog: Catalog): void {
  const svc = catalog.keys;
  app.openapi(
    createRoute({
      method: 'get',
      path: '/keys',
      tags,
      summary: 'List keys (optionally of one subscription)',
      request: { query: s.keyQuery },
      responses: { 200: json(page(Key, 'KeyPage'), 'A page of keys'), ...problems },
    }),
    async (c) => c.json(await svc.list(c.var.actor, c.req.valid('query')), 200),
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/keys',
      tags,
      summary: 'Create a key; the value is in this answer only',
      request: jsonBody(Create),
      responses: { 201: json(KeyWithValue, 'Created'), ...problems },
    }),
    async (c) => c.json(await svc.create(c.var.actor, c.req.valid('json')), 201),
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/keys:import',
      tags,
      summary: 'Import an existing key value (20–128 printable ASCII characters)',
      request: jsonBody(Import),
      responses: { 201: json(KeyWithValue, 'Imported'), ...problems },
    }),
    async (c) => c.json(await svc.import(c.var.actor, c.req.valid('json')), 201),
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/keys/{id}',
      tags,
      summary: 'Get a key (never its value)',
      request: { params: IdParam },
      responses: { 200: json(Key, 'The key'), ...problems },
    }),
    async (c) => c.json(await svc.get(c.var.actor, c.req.valid('param').id), 200),
  );
  app.openapi(
    createRoute({
      method: 'patch',
      path: '/keys/{id}',
      tags,
      summary: 'Rename, enable/disable, or change the expiry',
      request: { params: IdParam, ...jsonBody(Update) },
      responses: { 200: json(Key, 'Updated'), ...problems },
    }),
    async (c) => c.json(await svc.update(c.var.actor, c.req.valid('param').id, c.req.valid('json')), 200),
  );
  for (const action of ['enable', 'disable'] as const) {
    app.openapi(
      createRoute({
        method: 'post',
        path: `/keys/{id}/${action}`,
        tags,
        summary:
          action === 'enable' ? 'Enable a key' : 'Disable a key (refused by the gateway within a second)',
        request: { params: IdParam },
        responses: { 200: json(Key, 'Updated'), ...problems },
      }),
      async (c) => c.json(await svc[action](c.var.actor, c.req.valid('param').id), 200),
    );
  }
  app.openapi(
    createRoute({
      method: 'post',
      path: '/keys/{id}/roll',
      tags,
      summary: 'Roll: a new key now; the old one expires after the grace period (default 24 h)',
      request: { params: IdParam, ...jsonBody(Roll, false) },
      responses: {
        201: json(KeyRollResult, 'The old key (now expiring) and the new one, with its value'),
        ...problems,
      },
    }),
    async (c) => c.json(await svc.roll(c.var.actor, c.req.valid('param').id, c.req.valid('json')), 201),
  );
  app.openapi(
    createRoute({
      method: 'delete',
      path: '/keys/{id}',
      tags,
      summary: 'Delete a key',
      request: { params: IdParam },
      responses: { ...NoContent, ...problems },
    }),
    async (c) => {
      await svc.delete(c.var.actor, c.req.valid('param').id);
      return c.body(null, 204);
    },
  );
}
