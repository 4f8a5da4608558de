/**
 * Namespaces: each provider owns its paths and hosts, so no provider can route another's
 * buyers' traffic (keys, cookies, bodies) to its own upstream.
 *
 * The rule, for a provider token creating or moving an API (the operator may do anything):
 *  - a host may be bound only if the operator assigned it to the provider (`provider_hosts`,
 *    one provider per host) — otherwise FORBIDDEN naming `host`;
 *  - on the same host (or both host-less), the prefix may neither lie inside nor contain
 *    another provider's prefix, segment-wise (`/victim/orders` is inside `/victim`,
 *    `/victimx` is not; no prefix contains every prefix) — otherwise CONFLICT naming
 *    `pathPrefix`, without saying whose prefix it is.
 * A host-bound API is not compared with host-less ones: requests for an assigned host are
 * its provider's. Checks run inside the API write's transaction, after the routing lock of
 * apis.ts, so two racing writes cannot both pass.
 *
 * `conflicts()` reports rows written before the rule existed (overlaps between providers,
 * hosts bound without an assignment); they are never rewritten, the operator decides.
 */
import type { z } from 'zod';
import { notFound } from '../shared/index.js';
import type { Db, Tx } from '../store/index.js';
import { type Actor, type Ctx, fail, iso, requireOperator } from './context.js';
import { hostAssign } from './schemas.js';
import { parse } from './validate.js';

/** True when one prefix lies inside the other, segment-wise; null (no prefix) contains all. */
export function prefixesOverlap(a: string | null, b: string | null): boolean {
  if (a === null || b === null || a === b) return true;
  return a.startsWith(`${b}/`) || b.startsWith(`${a}/`);
}

export async function checkNamespace(
  tx: Tx,
  actor: Actor,
  providerId: string,
  host: string | null,
  prefix: string | null,
  self: string | null,
): Promise<void> {
  if (actor.kind === 'operator') return;
  if (host !== null) {
    const owned = await tx
      .selectFrom('provider_hosts')
      .select('host')
      .where('host', '=', host)
      .where('provider_id', '=', providerId)
      .executeTakeFirst();
    if (!owned)
      throw fail('FORBIDDEN', 'is not assigned to this provider; the operator assigns hosts', 'host');
  }
  let q = tx
    .selectFrom('apis')
    .select(['id', 'path_prefix'])
    .where('provider_id', '!=', providerId)
    .where('host', host === null ? 'is' : '=', host);
  if (self) q = q.where('id', '!=', self);
  for (const other of await q.execute()) {
    if (prefixesOverlap(prefix, other.path_prefix)) {
      throw fail(
        'CONFLICT',
        prefix === null
          ? 'is required: another provider routes paths on this host'
          : 'lies inside or contains a prefix another provider routes on this host',
        'pathPrefix',
      );
    }
  }
}

export interface HostAssignmentView {
  host: string;
  providerId: string;
  createdAt: string;
}

export interface NamespaceConflicts {
  /** Pairs of APIs of different providers whose prefixes overlap on the same host. */
  overlaps: Array<{
    host: string | null;
    apis: Array<{ id: string; providerId: string; pathPrefix: string | null }>;
  }>;
  /** Host-bound APIs whose host is not assigned to their provider. */
  unassignedHosts: Array<{ apiId: string; providerId: string; host: string }>;
}

export interface NamespacesService {
  listHosts(actor: Actor, providerId: string): Promise<HostAssignmentView[]>;
  assignHost(
    actor: Actor,
    providerId: string,
    input: z.input<typeof hostAssign>,
  ): Promise<{ created: boolean; view: HostAssignmentView }>;
  unassignHost(actor: Actor, providerId: string, host: string): Promise<void>;
  conflicts(actor: Actor): Promise<NamespaceConflicts>;
}

const view = (r: { host: string; provider_id: string; created_at: number }): HostAssignmentView => ({
  host: r.host,
  providerId: r.provider_id,
  createdAt: iso(r.created_at)!,
});

async function provider(db: Db | Tx, actor: Actor, id: string): Promise<void> {
  if (actor.kind === 'provider' && actor.providerId !== id) throw notFound('provider', id);
  const p = await db.selectFrom('providers').select('id').where('id', '=', id).executeTakeFirst();
  if (!p) throw notFound('provider', id);
}

export function namespacesService(ctx: Ctx): NamespacesService {
  const db = ctx.store.db;
  return {
    async listHosts(actor, providerId) {
      await provider(db, actor, providerId);
      const rows = await db
        .selectFrom('provider_hosts')
        .selectAll()
        .where('provider_id', '=', providerId)
        .orderBy('host')
        .execute();
      return rows.map(view);
    },

    async assignHost(actor, providerId, input) {
      requireOperator(actor, 'assign hosts');
      const { host } = parse(hostAssign, input);
      return ctx.write(actor, async (tx, audit) => {
        await provider(tx, actor, providerId);
        const held = await tx
          .selectFrom('provider_hosts')
          .selectAll()
          .where('host', '=', host)
          .executeTakeFirst();
        if (held && held.provider_id !== providerId)
          throw fail('CONFLICT', 'is already assigned to another provider', 'host');
        if (held) return { created: false, view: view(held) };
        const row = { host, provider_id: providerId, created_at: ctx.clock.now() };
        await tx.insertInto('provider_hosts').values(row).execute();
        audit({
          action: 'create',
          entity: 'provider_host',
          entityId: host,
          providerId,
          before: null,
          after: view(row),
        });
        return { created: true, view: view(row) };
      });
    },

    async unassignHost(actor, providerId, rawHost) {
      requireOperator(actor, 'unassign hosts');
      const host = rawHost.toLowerCase();
      await ctx.write(actor, async (tx, audit) => {
        await provider(tx, actor, providerId);
        const row = await tx
          .selectFrom('provider_hosts')
          .selectAll()
          .where('host', '=', host)
          .where('provider_id', '=', providerId)
          .executeTakeFirst();
        if (!row) throw notFound('host assignment', host);
        const bound = await tx
          .selectFrom('apis')
          .select('id')
          .where('provider_id', '=', providerId)
          .where('host', '=', host)
          .limit(1)
          .execute();
        if (bound.length)
          throw fail('CONFLICT', `API ${bound[0]!.id} still binds this host; move it first`, 'host');
        await tx.deleteFrom('provider_hosts').where('host', '=', host).execute();
        audit({
          action: 'delete',
          entity: 'provider_host',
          entityId: host,
          providerId,
          before: view(row),
          after: null,
        });
      });
    },

    async conflicts(actor) {
      requireOperator(actor, 'read namespace conflicts');
      return namespaceConflicts(db);
    },
  };
}

/** Existing rows that break the namespace rule (for the operator; see the module header). */
export async function namespaceConflicts(db: Db): Promise<NamespaceConflicts> {
  const apis = await db
    .selectFrom('apis')
    .select(['id', 'provider_id', 'host', 'path_prefix'])
    .orderBy('id')
    .execute();
  const assigned = new Set(
    (await db.selectFrom('provider_hosts').select(['host', 'provider_id']).execute()).map(
      (r) => `${r.provider_id} ${r.host}`,
    ),
  );
  const out: NamespaceConflicts = { overlaps: [], unassignedHosts: [] };
  const byHost = new Map<string | null, typeof apis>();
  for (const a of apis) {
    byHost.set(a.host, [...(byHost.get(a.host) ?? []), a]);
    if (a.host !== null && !assigned.has(`${a.provider_id} ${a.host}`))
      out.unassignedHosts.push({ apiId: a.id, providerId: a.provider_id, host: a.host });
  }
  for (const [host, list] of byHost) {
    for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length; j++) {
        const a = list[i]!;
        const b = list[j]!;
        if (a.provider_id === b.provider_id || !prefixesOverlap(a.path_prefix, b.path_prefix)) continue;
        out.overlaps.push({
          host,
          apis: [a, b].map((x) => ({ id: x.id, providerId: x.provider_id, pathPrefix: x.path_prefix })),
        });
      }
    }
  }
  return out;
}

/** One human line per conflict, for `tollgate migrate` and the start-up log. */
export function describeConflicts(c: NamespaceConflicts): string[] {
  const at = (host: string | null) => (host === null ? 'any host' : `host ${host}`);
  return [
    ...c.overlaps.map(
      (o) =>
        `namespace conflict on ${at(o.host)}: ` +
        o.apis.map((a) => `${a.id} (${a.providerId}, prefix ${a.pathPrefix ?? '(none)'})`).join(' overlaps '),
    ),
    ...c.unassignedHosts.map(
      (u) =>
        `namespace conflict: ${u.apiId} (${u.providerId}) binds host ${u.host}, not assigned to its provider`,
    ),
  ];
}
