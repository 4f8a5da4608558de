/**
 * Issuing SigV4 credentials for `/apigateway` on the admin API:
 *
 *   POST   /apigateway/credentials                {tokenId?} → 201 {accessKeyId, secretAccessKey, …}
 *   GET    /apigateway/credentials                the caller's visible credentials (no secrets)
 *   DELETE /apigateway/credentials/{accessKeyId}  revoke
 *
 * Credentials act as the admin token they are issued for (default: the calling token). A
 * token may be named only if the caller can see it (GET /tokens/{id}'s scoping): a provider
 * token issues for its own provider's tokens, never for an operator's. The secret is in the
 * POST answer only.
 */
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { Catalog } from '../catalog/index.js';
import { type Env, json, jsonBody, problems } from '../control/index.js';
import { invalid, notFound } from '../shared/index.js';
import type { ApigwCredentialService } from './credentials.js';

const tags = ['apigateway'];
const Credential = z
  .object({
    accessKeyId: z.string(),
    tokenId: z.string(),
    createdAt: z.string(),
    revokedAt: z.string().nullable(),
  })
  .openapi('ApigwCredentials');
const Issued = Credential.extend({ secretAccessKey: z.string() }).openapi('ApigwCredentialsIssued');
const Create = z
  .strictObject({ tokenId: z.string().min(1).max(100).optional() })
  .openapi('ApigwCredentialsCreate');
const KeyParam = z.object({ accessKeyId: z.string().min(1).max(100) });

export function apigwAdminRoutes(deps: { catalog: Catalog; credentials: ApigwCredentialService }) {
  const { catalog, credentials } = deps;
  return (app: OpenAPIHono<Env>): void => {
    app.openapi(
      createRoute({
        method: 'post',
        path: '/apigateway/credentials',
        tags,
        summary: 'Issue SigV4 credentials for /apigateway acting as an admin token (secret shown once)',
        request: jsonBody(Create),
        responses: { 201: json(Issued, 'Issued'), ...problems },
      }),
      async (c) => {
        const actor = c.var.actor;
        const tokenId = c.req.valid('json').tokenId ?? actor.id;
        if (!tokenId.startsWith('tok_'))
          throw invalid('tokenId', 'name the admin token the credentials act as (tok_…)');
        const token = await catalog.tokens.get(actor, tokenId);
        if (token.revokedAt) throw invalid('tokenId', 'the admin token is revoked');
        return c.json(await credentials.issue(token.id), 201);
      },
    );
    app.openapi(
      createRoute({
        method: 'get',
        path: '/apigateway/credentials',
        tags,
        summary: 'List SigV4 credentials of the tokens the caller can see (no secrets)',
        responses: { 200: json(z.object({ items: z.array(Credential) }), 'Credentials'), ...problems },
      }),
      async (c) => {
        const actor = c.var.actor;
        let ids: string[] | null = null;
        if (actor.kind === 'provider') {
          ids = [];
          for (let cursor: string | undefined; ; ) {
            const p = await catalog.tokens.list(actor, { limit: 500, ...(cursor ? { cursor } : {}) });
            ids.push(...p.items.map((t) => t.id));
            if (!p.nextCursor) break;
            cursor = p.nextCursor;
          }
        }
        return c.json({ items: await credentials.list(ids) }, 200);
      },
    );
    app.openapi(
      createRoute({
        method: 'delete',
        path: '/apigateway/credentials/{accessKeyId}',
        tags,
        summary: 'Revoke SigV4 credentials',
        request: { params: KeyParam },
        responses: { 204: { description: 'Revoked' }, ...problems },
      }),
      async (c) => {
        const id = c.req.valid('param').accessKeyId;
        const tokenId = await credentials.tokenOf(id);
        if (!tokenId) throw notFound('credentials', id);
        await catalog.tokens.get(c.var.actor, tokenId); // NOT_FOUND outside the caller's scope
        await credentials.revoke(id);
        return c.body(null, 204);
      },
    );
  };
}
