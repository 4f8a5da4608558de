/** /audit — the audit log, read-only, filterable by entity, entityId, actor, action and time. */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { type Catalog, schemas as s } from '../../catalog/index.js';
import type { Env } from '../env.js';
import { AuditEntry, IdParam, json, page, problems } from '../schemas.js';

const tags = ['audit'];

export function registerAudit(app: OpenAPIHono<Env>, catalog: Catalog): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/audit',
      tags,
      summary: 'List audit entries, oldest first',
      request: { query: s.auditQuery },
      responses: { 200: json(page(AuditEntry, 'AuditPage'), 'A page of audit entries'), ...problems },
    }),
    async (c) => c.json(await catalog.audit.list(c.var.actor, c.req.valid('query')), 200),
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/audit/{id}',
      tags,
      summary: 'Get an audit entry',
      request: { params: IdParam },
      responses: { 200: json(AuditEntry, 'The entry'), ...problems },
    }),
    async (c) => c.json(await catalog.audit.get(c.var.actor, c.req.valid('param').id), 200),
  );
}
