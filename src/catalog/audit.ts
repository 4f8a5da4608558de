/**
 * The audit log, read side. Rows are written by `ctx.write` in the same transaction as the
 * change they record. A provider-scoped actor reads the rows of its own provider only.
 */
import type { z } from 'zod';
import { notFound } from '../shared/index.js';
import { type Actor, type Ctx, fromIso, type Page, scopeOf, toPage } from './context.js';
import { auditQuery } from './schemas.js';
import { parse } from './validate.js';
import { type AuditView, auditView } from './views.js';

export interface AuditService {
  list(actor: Actor, query?: z.input<typeof auditQuery>): Promise<Page<AuditView>>;
  get(actor: Actor, id: string): Promise<AuditView>;
}

export function auditService(ctx: Ctx): AuditService {
  const db = ctx.store.db;
  return {
    async list(actor, query = {}) {
      const f = parse(auditQuery, query);
      let q = db
        .selectFrom('audit_log')
        .selectAll()
        .orderBy('id')
        .limit(f.limit + 1);
      if (f.cursor) q = q.where('id', '>', f.cursor);
      if (f.entity) q = q.where('entity', '=', f.entity);
      if (f.entityId) q = q.where('entity_id', '=', f.entityId);
      if (f.actor) q = q.where('actor', '=', f.actor);
      if (f.action) q = q.where('action', '=', f.action);
      if (f.since) q = q.where('at', '>=', fromIso(f.since)!);
      if (f.until) q = q.where('at', '<', fromIso(f.until)!);
      const scope = scopeOf(actor);
      if (scope) q = q.where('provider_id', '=', scope);
      return toPage(await q.execute(), f.limit, auditView);
    },

    async get(actor, id) {
      let q = db.selectFrom('audit_log').selectAll().where('id', '=', id);
      const scope = scopeOf(actor);
      if (scope) q = q.where('provider_id', '=', scope);
      const row = await q.executeTakeFirst();
      if (!row) throw notFound('audit entry', id);
      return auditView(row);
    },
  };
}
