/**
 * Namespaces: the hosts the operator assigns to each provider (a provider token may bind
 * APIs only to its assigned hosts), and the report of existing rows that break the rule.
 * Writes and the report are operator-only; a provider token may list its own hosts.
 */
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { type Catalog, schemas as s } from '../../catalog/index.js';
import type { Env } from '../env.js';
import { IdParam, json, jsonBody, NoContent, problems } from '../schemas.js';

const tags = ['namespaces'];
const Assign = s.hostAssign.meta({ id: 'HostAssign' });
const HostAssignment = z
  .object({ host: z.string(), providerId: z.string(), createdAt: z.string() })
  .openapi('HostAssignment');
const HostParam = IdParam.extend({
  host: z
    .string()
    .min(1)
    .max(253)
    .openapi({ param: { name: 'host', in: 'path' }, example: 'api.acme.example' }),
});
const ConflictApi = z.object({ id: z.string(), providerId: z.string(), pathPrefix: z.string().nullable() });
const Conflicts = z
  .object({
    overlaps: z.array(z.object({ host: z.string().nullable(), apis: z.array(ConflictApi) })),
    unassignedHosts: z.array(z.object({ apiId: z.string(), providerId: z.string(), host: z.string() })),
  })
  .openapi('NamespaceConflicts');

export function registerNamespaces(app: OpenAPIHono<Env>, catalog: Catalog): void {
  const svc = catalog.namespaces;
  app.openapi(
    createRoute({
      method: 'get',
      path: '/providers/{id}/hosts',
      tags,
      summary: "List the hosts assigned to a provider (operator, or the provider's own)",
      request: { params: IdParam },
      responses: {
        200: json(z.object({ items: z.array(HostAssignment) }), 'The assigned hosts'),
        ...problems,
      },
    }),
    async (c) => c.json({ items: await svc.listHosts(c.var.actor, c.req.valid('param').id) }, 200),
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/providers/{id}/hosts',
      tags,
      summary: 'Assign a host to a provider (operator); 409 if another provider holds it',
      request: { params: IdParam, ...jsonBody(Assign) },
      responses: {
        200: json(HostAssignment, 'Already assigned to this provider'),
        201: json(HostAssignment, 'Assigned'),
        ...problems,
      },
    }),
    async (c) => {
      const r = await svc.assignHost(c.var.actor, c.req.valid('param').id, c.req.valid('json'));
      return r.created ? c.json(r.view, 201) : c.json(r.view, 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'delete',
      path: '/providers/{id}/hosts/{host}',
      tags,
      summary: 'Take a host back (operator); 409 while an API of the provider binds it',
      request: { params: HostParam },
      responses: { ...NoContent, ...problems },
    }),
    async (c) => {
      const { id, host } = c.req.valid('param');
      await svc.unassignHost(c.var.actor, id, host);
      return c.body(null, 204);
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/namespaces/conflicts',
      tags,
      summary: 'Existing APIs that break the namespace rule (operator): overlaps, unassigned hosts',
      responses: { 200: json(Conflicts, 'The conflicts (empty lists when none)'), ...problems },
    }),
    async (c) => c.json(await svc.conflicts(c.var.actor), 200),
  );
}
