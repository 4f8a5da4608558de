/**
 * /keys — API keys. The value appears once, in the answer to POST /keys, POST /keys:import
 * and POST /keys/{id}/roll; every other answer carries only the visible prefix.
 */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { type Catalog, schemas as s } from '../../catalog/index.js';
import type { Env } from '../env.js';
import { resourceRoutes } from '../resource.js';
import { IdParam, json, jsonBody, Key, KeyRollResult, KeyWithValue, page, problems } from '../schemas.js';

const tags = ['keys'];
const Create = s.keyCreate.meta({ id: 'KeyCreate' });
const Import = s.keyImport.meta({ id: 'KeyImport' });
const Update = s.keyUpdate.meta({ id: 'KeyUpdate' });
const Roll = s.keyRoll.meta({ id: 'KeyRoll' });

export function registerKeys(app: OpenAPIHono<Env>, catalog: Catalog): void {
  const svc = catalog.keys;
  const r = resourceRoutes(app, '/keys', tags);
  r.list(
    'List keys (optionally of one subscription)',
    s.keyQuery,
    json(page(Key, 'KeyPage'), 'A page of keys'),
    svc.list,
  );
  r.create(
    'Create a key; the value is in this answer only',
    Create,
    json(KeyWithValue, 'Created'),
    svc.create,
  );
  r.create(
    'Import an existing key value (20–128 printable ASCII characters)',
    Import,
    json(KeyWithValue, 'Imported'),
    svc.import,
    ':import',
  );
  r.get('Get a key (never its value)', json(Key, 'The key'), svc.get);
  r.update('Rename, enable/disable, or change the expiry', Update, json(Key, 'Updated'), svc.update);
  r.act('post', '/enable', 'Enable a key', json(Key, 'Updated'), svc.enable);
  r.act(
    'post',
    '/disable',
    'Disable a key (refused by the gateway within a second)',
    json(Key, 'Updated'),
    svc.disable,
  );
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
  r.remove('Delete a key', svc.delete);
}
