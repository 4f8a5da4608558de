/** /tokens — admin bearer tokens. Operators create them; DELETE revokes (the record stays). */
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { type Catalog, schemas as s } from '../../catalog/index.js';
import type { Env } from '../env.js';
import { IdParam, json, jsonBody, page, problems, Token, TokenWithValue } from '../schemas.js';

const tags = ['tokens'];
const Create = s.tokenCreate.meta({ id: 'AdminTokenCreate' });
const WhoAmI = z
  .object({
    tokenId: z.string(),
    scope: z.enum(['operator', 'provider']),
    providerId: z.string().nullable(),
  })
  .openapi('WhoAmI');

export function registerTokens(app: OpenAPIHono<Env>, catalog: Catalog): void {
  const svc = catalog.tokens;
  app.openapi(
    createRoute({
      method: 'get',
      path: '/whoami',
      tags,
      summary: 'The calling token: its id, scope and provider (what the CLI reads first)',
      responses: { 200: json(WhoAmI, 'The caller'), ...problems },
    }),
    async (c) => {
      const a = c.var.actor;
      return c.json(
        { tokenId: a.id, scope: a.kind, providerId: a.kind === 'provider' ? a.providerId : null },
        200,
      );
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/tokens',
      tags,
      summary: 'List admin tokens (a provider token sees its provider’s)',
      request: { query: s.pageQuery },
      responses: { 200: json(page(Token, 'AdminTokenPage'), 'A page of tokens'), ...problems },
    }),
    async (c) => c.json(await svc.list(c.var.actor, c.req.valid('query')), 200),
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/tokens',
      tags,
      summary: 'Create an admin token (operator); the value is in this answer only',
      request: jsonBody(Create),
      responses: { 201: json(TokenWithValue, 'Created'), ...problems },
    }),
    async (c) => c.json(await svc.create(c.var.actor, c.req.valid('json')), 201),
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/tokens/{id}',
      tags,
      summary: 'Get an admin token (never its value)',
      request: { params: IdParam },
      responses: { 200: json(Token, 'The token'), ...problems },
    }),
    async (c) => c.json(await svc.get(c.var.actor, c.req.valid('param').id), 200),
  );
  app.openapi(
    createRoute({
      method: 'delete',
      path: '/tokens/{id}',
      tags,
      summary: 'Revoke an admin token',
      request: { params: IdParam },
      responses: { 200: json(Token, 'Revoked'), ...problems },
    }),
    async (c) => c.json(await svc.revoke(c.var.actor, c.req.valid('param').id), 200),
  );
}
