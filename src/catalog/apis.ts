/**
 * APIs and their routes. The routes array is part of the API: an update that carries
 * `routes` replaces them all in the same transaction (a route that keeps its `id` keeps its
 * identity, so plan overrides naming it stay valid). Routing is by path prefix and/or host;
 * two APIs may not share the same (host, prefix) pair, since the gateway could not tell
 * them apart. Overlapping prefixes (`/a` and `/a/b`) of one provider are fine: the longest
 * wins. Across providers, namespaces.ts decides who may route what.
 * An `upstreamUrl` is judged by the outbound policy (docs/outbound.md) before the
 * transaction opens, since it may wait on DNS.
 */

import { sql } from 'kysely';
import type { z } from 'zod';
import { invalid, newId, notFound } from '../shared/index.js';
import type { ApiTable, Db, Dialect, RouteTable, Tx } from '../store/index.js';
import { type Actor, type Ctx, fail, ownerFor, type Page, scopeOf, toPage } from './context.js';
import { checkNamespace } from './namespaces.js';
import { apiCreate, apiUpdate, type PageQuery, pageQuery, type RouteInput } from './schemas.js';
import { parse } from './validate.js';
import { type ApiView, apiView } from './views.js';

export interface ApisService {
  create(actor: Actor, input: z.input<typeof apiCreate>): Promise<ApiView>;
  get(actor: Actor, id: string): Promise<ApiView>;
  list(actor: Actor, page?: Partial<PageQuery>): Promise<Page<ApiView>>;
  update(actor: Actor, id: string, input: z.input<typeof apiUpdate>): Promise<ApiView>;
  delete(actor: Actor, id: string): Promise<void>;
}

export async function loadApi(db: Db | Tx, actor: Actor, id: string): Promise<ApiTable> {
  let q = db.selectFrom('apis').selectAll().where('id', '=', id);
  const scope = scopeOf(actor);
  if (scope) q = q.where('provider_id', '=', scope);
  const row = await q.executeTakeFirst();
  if (!row) throw notFound('api', id);
  return row;
}

async function routesOf(db: Db | Tx, apiIds: string[]): Promise<Map<string, RouteTable[]>> {
  const out = new Map<string, RouteTable[]>();
  if (apiIds.length === 0) return out;
  const rows = await db.selectFrom('routes').selectAll().where('api_id', 'in', apiIds).execute();
  for (const r of rows) out.set(r.api_id, [...(out.get(r.api_id) ?? []), r]);
  return out;
}

/** Arbitrary constant naming the advisory lock that guards (host, prefix) uniqueness. */
const ROUTING_LOCK = 7_420_011;

async function checkClash(
  dialect: Dialect,
  tx: Tx,
  host: string | null,
  prefix: string | null,
  self: string | null,
): Promise<void> {
  // PostgreSQL: serialise routing changes so two concurrent creates cannot both pass the
  // check (SQLite transactions are already serial). Released at commit/rollback.
  if (dialect === 'postgres') await sql`select pg_advisory_xact_lock(${ROUTING_LOCK})`.execute(tx);
  let q = tx
    .selectFrom('apis')
    .select('id')
    .where('host', host === null ? 'is' : '=', host)
    .where('path_prefix', prefix === null ? 'is' : '=', prefix);
  if (self) q = q.where('id', '!=', self);
  const other = await q.executeTakeFirst();
  if (other) {
    throw fail(
      'CONFLICT',
      `another API already routes host ${host ?? '(any)'} and prefix ${prefix ?? '(none)'}`,
      prefix !== null ? 'pathPrefix' : 'host',
    );
  }
}

function routeRows(
  apiId: string,
  routes: RouteInput[],
  existing: Set<string> | null,
  now: number,
): RouteTable[] {
  const seen = new Set<string>();
  const ids = new Set<string>();
  return routes.map((r, i) => {
    const key = `${r.method} ${r.path}`;
    if (seen.has(key)) throw invalid(`routes[${i}].path`, `duplicate route ${key}`);
    seen.add(key);
    if (r.id !== undefined) {
      if (!existing) throw invalid(`routes[${i}].id`, 'route ids are assigned by the server on create');
      if (!existing.has(r.id)) throw invalid(`routes[${i}].id`, 'is not a route of this API');
      if (ids.has(r.id)) throw invalid(`routes[${i}].id`, 'appears twice');
      ids.add(r.id);
    }
    return {
      id: r.id ?? newId('rte', now),
      api_id: apiId,
      method: r.method,
      path: r.path,
      dimension: r.dimension,
      units: r.units,
      public: r.public ? 1 : 0,
      throttle_rate: r.throttle?.rateLimit ?? null,
      throttle_burst: r.throttle?.burstLimit ?? null,
      position: i,
    };
  });
}

export function apisService(ctx: Ctx): ApisService {
  const db = ctx.store.db;
  return {
    async create(actor, input) {
      const data = parse(apiCreate, input);
      const providerId = ownerFor(actor, data.providerId);
      await ctx.outbound.assert('upstreamUrl', data.upstreamUrl);
      const now = ctx.clock.now();
      const row: ApiTable = {
        id: newId('api', now),
        provider_id: providerId,
        name: data.name,
        upstream_url: data.upstreamUrl,
        path_prefix: data.pathPrefix ?? null,
        host: data.host?.toLowerCase() ?? null,
        strip_prefix: data.stripPrefix ? 1 : 0,
        timeout_ms: data.timeoutMs,
        openapi: data.openapi ? JSON.stringify(data.openapi) : null,
        cors: data.cors ? JSON.stringify(data.cors) : null,
        ratelimit_headers: data.rateLimitHeaders ? 1 : 0,
        created_at: now,
        updated_at: now,
      };
      const routes = routeRows(row.id, data.routes, null, now);
      return ctx.write(actor, async (tx, audit) => {
        const provider = await tx
          .selectFrom('providers')
          .select('id')
          .where('id', '=', providerId)
          .executeTakeFirst();
        if (!provider) throw fail('NOT_FOUND', `provider ${providerId} does not exist`, 'providerId');
        await checkClash(ctx.store.dialect, tx, row.host, row.path_prefix, null);
        await checkNamespace(tx, actor, providerId, row.host, row.path_prefix, null);
        await tx.insertInto('apis').values(row).execute();
        if (routes.length) await tx.insertInto('routes').values(routes).execute();
        const after = apiView(row, routes);
        audit({ action: 'create', entity: 'api', entityId: row.id, providerId, before: null, after });
        return after;
      });
    },

    async get(actor, id) {
      const row = await loadApi(db, actor, id);
      return apiView(row, (await routesOf(db, [id])).get(id) ?? []);
    },

    async list(actor, page = {}) {
      const { limit, cursor } = parse(pageQuery, page);
      let q = db
        .selectFrom('apis')
        .selectAll()
        .orderBy('id')
        .limit(limit + 1);
      if (cursor) q = q.where('id', '>', cursor);
      const scope = scopeOf(actor);
      if (scope) q = q.where('provider_id', '=', scope);
      const rows = await q.execute();
      const routes = await routesOf(
        db,
        rows.slice(0, limit).map((r) => r.id),
      );
      return toPage(rows, limit, (r) => apiView(r, routes.get(r.id) ?? []));
    },

    async update(actor, id, input) {
      const data = parse(apiUpdate, input);
      if (data.upstreamUrl !== undefined) await ctx.outbound.assert('upstreamUrl', data.upstreamUrl);
      return ctx.write(actor, async (tx, audit) => {
        const before = await loadApi(tx, actor, id);
        const oldRoutes = (await routesOf(tx, [id])).get(id) ?? [];
        const now = ctx.clock.now();
        const row: ApiTable = {
          ...before,
          name: data.name ?? before.name,
          upstream_url: data.upstreamUrl ?? before.upstream_url,
          path_prefix: data.pathPrefix === undefined ? before.path_prefix : data.pathPrefix,
          host: data.host === undefined ? before.host : (data.host?.toLowerCase() ?? null),
          strip_prefix: data.stripPrefix === undefined ? before.strip_prefix : data.stripPrefix ? 1 : 0,
          timeout_ms: data.timeoutMs ?? before.timeout_ms,
          openapi:
            data.openapi === undefined ? before.openapi : data.openapi ? JSON.stringify(data.openapi) : null,
          cors: data.cors === undefined ? before.cors : data.cors ? JSON.stringify(data.cors) : null,
          ratelimit_headers:
            data.rateLimitHeaders === undefined ? before.ratelimit_headers : data.rateLimitHeaders ? 1 : 0,
          updated_at: now,
        };
        if (row.host !== before.host || row.path_prefix !== before.path_prefix) {
          await checkClash(ctx.store.dialect, tx, row.host, row.path_prefix, id);
          await checkNamespace(tx, actor, row.provider_id, row.host, row.path_prefix, id);
        }
        const { id: _id, provider_id: _p, created_at: _c, ...changes } = row;
        await tx.updateTable('apis').set(changes).where('id', '=', id).execute();
        let routes = oldRoutes;
        if (data.routes) {
          routes = routeRows(id, data.routes, new Set(oldRoutes.map((r) => r.id)), now);
          await tx.deleteFrom('routes').where('api_id', '=', id).execute();
          if (routes.length) await tx.insertInto('routes').values(routes).execute();
        }
        const after = apiView(row, routes);
        audit({
          action: 'update',
          entity: 'api',
          entityId: id,
          providerId: row.provider_id,
          before: apiView(before, oldRoutes),
          after,
        });
        return after;
      });
    },

    async delete(actor, id) {
      await ctx.write(actor, async (tx, audit) => {
        const before = await loadApi(tx, actor, id);
        const plans = await tx
          .selectFrom('plans')
          .select(['id', 'api_ids'])
          .where('provider_id', '=', before.provider_id)
          .execute();
        const using = plans.filter((p) => (JSON.parse(p.api_ids) as string[]).includes(id)).map((p) => p.id);
        if (using.length)
          throw fail('CONFLICT', `plans ${using.join(', ')} still grant this API; remove it from them first`);
        const routes = (await routesOf(tx, [id])).get(id) ?? [];
        await tx.deleteFrom('routes').where('api_id', '=', id).execute();
        await tx.deleteFrom('apis').where('id', '=', id).execute();
        audit({
          action: 'delete',
          entity: 'api',
          entityId: id,
          providerId: before.provider_id,
          before: apiView(before, routes),
          after: null,
        });
      });
    },
  };
}
