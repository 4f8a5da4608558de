/**
 * Consumers (buyers). A provider-scoped actor sees a consumer it created, or one subscribed
 * to one of its plans (a marketplace sign-up, say); every other consumer is NOT_FOUND.
 */
import type { ExpressionBuilder } from 'kysely';
import type { z } from 'zod';
import { newId, notFound } from '../shared/index.js';
import type { ConsumerTable, Database, Db, Tx } from '../store/index.js';
import { type Actor, type Alongside, type Ctx, fail, type Page, scopeOf, toPage } from './context.js';
import { consumerCreate, consumerUpdate, type PageQuery, pageQuery } from './schemas.js';
import { parse } from './validate.js';
import { type ConsumerView, consumerView } from './views.js';

export interface ConsumersService {
  /** `alongside` runs in the create's transaction (see Alongside). */
  create(
    actor: Actor,
    input: z.input<typeof consumerCreate>,
    alongside?: Alongside<ConsumerView>,
  ): Promise<ConsumerView>;
  get(actor: Actor, id: string): Promise<ConsumerView>;
  list(actor: Actor, page?: Partial<PageQuery>): Promise<Page<ConsumerView>>;
  update(actor: Actor, id: string, input: z.input<typeof consumerUpdate>): Promise<ConsumerView>;
  delete(actor: Actor, id: string): Promise<void>;
}

/** The consumers provider `p` may see. */
export function visibleTo(p: string) {
  return (eb: ExpressionBuilder<Database, 'consumers'>) =>
    eb.or([
      eb('consumers.provider_id', '=', p),
      eb(
        'consumers.id',
        'in',
        eb
          .selectFrom('subscriptions')
          .innerJoin('plans', 'plans.id', 'subscriptions.plan_id')
          .select('subscriptions.consumer_id')
          .where('plans.provider_id', '=', p),
      ),
    ]);
}

export async function loadConsumer(db: Db | Tx, actor: Actor, id: string): Promise<ConsumerTable> {
  let q = db.selectFrom('consumers').selectAll().where('consumers.id', '=', id);
  const scope = scopeOf(actor);
  if (scope) q = q.where(visibleTo(scope));
  const row = await q.executeTakeFirst();
  if (!row) throw notFound('consumer', id);
  return row;
}

export function consumersService(ctx: Ctx): ConsumersService {
  const db = ctx.store.db;
  return {
    async create(actor, input, alongside) {
      const data = parse(consumerCreate, input);
      // A provider's consumers are its own; an operator may create marketplace consumers (null).
      const providerId = actor.kind === 'provider' ? actor.providerId : (data.providerId ?? null);
      if (actor.kind === 'provider' && data.providerId != null && data.providerId !== actor.providerId) {
        throw notFound('provider', data.providerId);
      }
      const now = ctx.clock.now();
      const row: ConsumerTable = {
        id: newId('con', now),
        provider_id: providerId,
        name: data.name,
        email: data.email ?? null,
        external_customer_id: data.externalCustomerId ?? null,
        external: JSON.stringify(data.external),
        created_at: now,
        updated_at: now,
      };
      return ctx.write(actor, async (tx, audit) => {
        if (providerId) {
          const p = await tx
            .selectFrom('providers')
            .select('id')
            .where('id', '=', providerId)
            .executeTakeFirst();
          if (!p) throw fail('NOT_FOUND', `provider ${providerId} does not exist`, 'providerId');
        }
        await tx.insertInto('consumers').values(row).execute();
        const after = consumerView(row);
        audit({ action: 'create', entity: 'consumer', entityId: row.id, providerId, before: null, after });
        await alongside?.(tx, after);
        return after;
      });
    },

    async get(actor, id) {
      return consumerView(await loadConsumer(db, actor, id));
    },

    async list(actor, page = {}) {
      const { limit, cursor } = parse(pageQuery, page);
      let q = db
        .selectFrom('consumers')
        .selectAll()
        .orderBy('id')
        .limit(limit + 1);
      if (cursor) q = q.where('id', '>', cursor);
      const scope = scopeOf(actor);
      if (scope) q = q.where(visibleTo(scope));
      return toPage(await q.execute(), limit, consumerView);
    },

    async update(actor, id, input) {
      const data = parse(consumerUpdate, input);
      return ctx.write(actor, async (tx, audit) => {
        const before = await loadConsumer(tx, actor, id);
        const row: ConsumerTable = {
          ...before,
          name: data.name ?? before.name,
          email: data.email === undefined ? before.email : data.email,
          external_customer_id:
            data.externalCustomerId === undefined ? before.external_customer_id : data.externalCustomerId,
          external: data.external === undefined ? before.external : JSON.stringify(data.external),
          updated_at: ctx.clock.now(),
        };
        const { id: _id, provider_id: _p, created_at: _c, ...changes } = row;
        await tx.updateTable('consumers').set(changes).where('id', '=', id).execute();
        const after = consumerView(row);
        audit({
          action: 'update',
          entity: 'consumer',
          entityId: id,
          providerId: scopeOf(actor) ?? before.provider_id,
          before: consumerView(before),
          after,
        });
        return after;
      });
    },

    async delete(actor, id) {
      await ctx.write(actor, async (tx, audit) => {
        const before = await loadConsumer(tx, actor, id);
        const sub = await tx
          .selectFrom('subscriptions')
          .select('id')
          .where('consumer_id', '=', id)
          .limit(1)
          .execute();
        if (sub.length) throw fail('CONFLICT', `consumer ${id} has subscriptions; it cannot be deleted`);
        await tx.deleteFrom('consumers').where('id', '=', id).execute();
        audit({
          action: 'delete',
          entity: 'consumer',
          entityId: id,
          providerId: scopeOf(actor) ?? before.provider_id,
          before: consumerView(before),
          after: null,
        });
      });
    },
  };
}
