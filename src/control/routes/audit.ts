/** /audit — the audit log, read-only, filterable by entity, entityId, actor, action and time. */
import type { OpenAPIHono } from '@hono/zod-openapi';
import { type Catalog, schemas as s } from '../../catalog/index.js';
import type { Env } from '../env.js';
import { resourceRoutes } from '../resource.js';
import { AuditEntry, json, page } from '../schemas.js';

const tags = ['audit'];

export function registerAudit(app: OpenAPIHono<Env>, catalog: Catalog): void {
  const r = resourceRoutes(app, '/audit', tags);
  r.list(
    'List audit entries, oldest first',
    s.auditQuery,
    json(page(AuditEntry, 'AuditPage'), 'A page of audit entries'),
    catalog.audit.list,
  );
  r.get('Get an audit entry', json(AuditEntry, 'The entry'), catalog.audit.get);
}
