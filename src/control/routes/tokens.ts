/** /tokens — admin bearer tokens. Operators create them; DELETE revokes (the record stays). */
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { type Catalog, schemas as s } from '../../catalog/index.js';
import type { Env } from '../env.js';
import { resourceRoutes } from '../resource.js';
import { json, page, problems, Token, TokenWithValue } from '../schemas.js';

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
  const r = resourceRoutes(app, '/tokens', tags);
  r.list(
    'List admin tokens (a provider token sees its provider’s)',
    s.pageQuery,
    json(page(Token, 'AdminTokenPage'), 'A page of tokens'),
    svc.list,
  );
  r.create(
    'Create an admin token (operator); the value is in this answer only',
    Create,
    json(TokenWithValue, 'Created'),
    svc.create,
  );
  r.get('Get an admin token (never its value)', json(Token, 'The token'), svc.get);
  r.act('delete', '', 'Revoke an admin token', json(Token, 'Revoked'), svc.revoke);
}
