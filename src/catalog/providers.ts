/** Providers (sellers). Operators create and delete them; a provider token sees only itself. */
import type { z } from 'zod';
import { newId, notFound } from '../shared/index.js';
import type { Db, Tx } from '../store/index.js';
import { type Actor, type Alongside, type Ctx, fail, type Page, requireOperator, toPage } from './context.js';
import { type PageQuery, pageQuery, providerCreate, providerUpdate } from './schemas.js';
import { parse } from './validate.js';
import { type ProviderView, providerView } from './views.js';

export interface ProvidersService {
  /** `alongside` runs in the create's transaction (see Alongside). */
  create(
    actor: Actor,
    input: z.input<typeof providerCreate>,
    alongside?: Alongside<ProviderView>,
  ): Promise<ProviderView>;
  get(actor: Actor, id: string): Promise<ProviderView>;
  list(actor: Actor, page?: Partial<PageQuery>): Promise<Page<ProviderView>>;
  update(actor: Actor, id: string, input: z.input<typeof providerUpdate>): Promise<ProviderView>;
  delete(actor: Actor, id: string): Promise<void>;
}

async function load(db: Db | Tx, actor: Actor, id: string) {
  if (actor.kind === 'provider' && actor.providerId !== id) throw notFound('provider', id);
  const row = await db.selectFrom('providers').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw notFound('provider', id);
  return row;
}

export function providersService(ctx: Ctx): ProvidersService {
  const db = ctx.store.db;
  return {
    async create(actor, input, alongside) {
      requireOperator(actor, 'create providers');
      const data = parse(providerCreate, input);
      const now = ctx.clock.now();
      const row = { id: newId('prv', now), name: data.name, created_at: now };
      return ctx.write(actor, async (tx, audit) => {
        await tx.insertInto('providers').values(row).execute();
        const after = providerView(row);
        audit({
          action: 'create',
          entity: 'provider',
          entityId: row.id,
          providerId: row.id,
          before: null,
          after,
        });
        await alongside?.(tx, after);
        return after;
      });
    },

    async get(actor, id) {
      return providerView(await load(db, actor, id));
    },

    async list(actor, page = {}) {
      const { limit, cursor } = parse(pageQuery, page);
      let q = db
        .selectFrom('providers')
        .selectAll()
        .orderBy('id')
        .limit(limit + 1);
      if (cursor) q = q.where('id', '>', cursor);
      if (actor.kind === 'provider') q = q.where('id', '=', actor.providerId);
      return toPage(await q.execute(), limit, providerView);
    },

    async update(actor, id, input) {
      const data = parse(providerUpdate, input);
      return ctx.write(actor, async (tx, audit) => {
        const before = await load(tx, actor, id);
        const row = { ...before, name: data.name ?? before.name };
        await tx.updateTable('providers').set({ name: row.name }).where('id', '=', id).execute();
        const after = providerView(row);
        audit({
          action: 'update',
          entity: 'provider',
          entityId: id,
          providerId: id,
          before: providerView(before),
          after,
        });
        return after;
      });
    },

    async delete(actor, id) {
      requireOperator(actor, 'delete providers');
      await ctx.write(actor, async (tx, audit) => {
        const before = await load(tx, actor, id);
        await tx
          .deleteFrom('admin_tokens')
          .where('provider_id', '=', id)
          .where('revoked_at', 'is not', null)
          .execute();
        for (const table of ['apis', 'plans', 'consumers', 'admin_tokens'] as const) {
          const used = await tx
            .selectFrom(table)
            .select('id')
            .where('provider_id', '=', id)
            .limit(1)
            .execute();
          if (used.length > 0)
            throw fail('CONFLICT', `provider ${id} still has ${table.replace('_', ' ')}; delete them first`);
        }
        await tx.deleteFrom('providers').where('id', '=', id).execute();
        audit({
          action: 'delete',
          entity: 'provider',
          entityId: id,
          providerId: id,
          before: providerView(before),
          after: null,
        });
      });
    },
  };
}
