/**
 * API keys. Only the SHA-256 of a value and a short prefix are stored; the value is in the
 * answer to create/import/roll and nowhere else, ever. Roll: a new key for the same
 * subscription, and the old one stays valid for a grace period (default 24 h, at most
 * 30 days) — its `expiresAt` becomes min(current expiry, now + grace) and `replacedBy`
 * points at the new key. Imported values follow API Gateway's rule (20–128 characters).
 */
import type { z } from 'zod';
import { fromValue, generateKey, importProblem, type KeyMaterial } from '../keys/index.js';
import { invalid, newId, notFound } from '../shared/index.js';
import type { ApiKeyTable, Db, Tx } from '../store/index.js';
import { type Actor, type Ctx, fail, fromIso, type Page, scopeOf, toPage } from './context.js';
import { type KeySubscription, linkInTx, subscriptionsOfKey, unlinkInTx } from './key-links.js';
import { keyCreate, keyImport, keyQuery, keyRoll, keyUpdate } from './schemas.js';
import { loadSubscription } from './subscriptions.js';
import { parse } from './validate.js';
import { type KeyView, keyView } from './views.js';

export type KeyWithValue = KeyView & { value: string };

export interface KeysService {
  create(actor: Actor, input: z.input<typeof keyCreate>): Promise<KeyWithValue>;
  import(actor: Actor, input: z.input<typeof keyImport>): Promise<KeyWithValue>;
  get(actor: Actor, id: string): Promise<KeyView>;
  list(actor: Actor, query?: z.input<typeof keyQuery>): Promise<Page<KeyView>>;
  update(actor: Actor, id: string, input: z.input<typeof keyUpdate>): Promise<KeyView>;
  enable(actor: Actor, id: string): Promise<KeyView>;
  disable(actor: Actor, id: string): Promise<KeyView>;
  roll(
    actor: Actor,
    id: string,
    input?: z.input<typeof keyRoll>,
  ): Promise<{ old: KeyView; new: KeyWithValue }>;
  delete(actor: Actor, id: string): Promise<void>;
  /** The key's own subscription, then its further ones (./key-links.ts), with their plans. */
  subscriptions(actor: Actor, id: string): Promise<KeySubscription[]>;
  /** Also opens `subscriptionId` (same consumer; its plan shares no API with the key's plans). */
  link(actor: Actor, id: string, subscriptionId: string): Promise<KeySubscription[]>;
  /** Takes `subscriptionId` off the key (its own one is replaced by the oldest link). */
  unlink(actor: Actor, id: string, subscriptionId: string): Promise<KeySubscription[]>;
}

async function loadKey(
  db: Db | Tx,
  actor: Actor,
  id: string,
): Promise<ApiKeyTable & { provider_id: string }> {
  let q = db
    .selectFrom('api_keys')
    .innerJoin('subscriptions', 'subscriptions.id', 'api_keys.subscription_id')
    .innerJoin('plans', 'plans.id', 'subscriptions.plan_id')
    .selectAll('api_keys')
    .select('plans.provider_id')
    .where('api_keys.id', '=', id);
  const scope = scopeOf(actor);
  if (scope) q = q.where('plans.provider_id', '=', scope);
  const row = await q.executeTakeFirst();
  if (!row) throw notFound('key', id);
  return row;
}

function strip(row: ApiKeyTable & { provider_id?: string }): ApiKeyTable {
  const { provider_id: _p, ...rest } = row;
  return rest;
}

export function keysService(ctx: Ctx): KeysService {
  const db = ctx.store.db;

  function futureOrNull(expiresAt: string | null | undefined, field = 'expiresAt'): number | null {
    const ms = fromIso(expiresAt);
    if (ms !== null && ms <= ctx.clock.now()) throw invalid(field, 'must be in the future');
    return ms;
  }

  async function insert(
    actor: Actor,
    data: { subscriptionId: string; name: string; enabled: boolean; expiresAt?: string | null | undefined },
    material: KeyMaterial,
    action: string,
  ): Promise<KeyWithValue> {
    const expiresAt = futureOrNull(data.expiresAt);
    return ctx.write(actor, async (tx, audit) => {
      const sub = await loadSubscription(tx, actor, data.subscriptionId).catch(() => {
        throw fail('NOT_FOUND', `subscription ${data.subscriptionId} does not exist`, 'subscriptionId');
      });
      if (sub.status === 'cancelled')
        throw fail('INVALID_STATE', 'the subscription is cancelled', 'subscriptionId');
      const clash = await tx
        .selectFrom('api_keys')
        .select('id')
        .where('hash', '=', material.hash)
        .executeTakeFirst();
      if (clash) throw fail('CONFLICT', 'this key value is already in use', 'value');
      const now = ctx.clock.now();
      const row: ApiKeyTable = {
        id: newId('key', now),
        subscription_id: data.subscriptionId,
        name: data.name,
        prefix: material.prefix,
        hash: material.hash,
        enabled: data.enabled ? 1 : 0,
        expires_at: expiresAt,
        replaced_by: null,
        created_at: now,
        updated_at: now,
      };
      await tx.insertInto('api_keys').values(row).execute();
      const after = keyView(row);
      audit({ action, entity: 'key', entityId: row.id, providerId: sub.provider_id, before: null, after });
      return { ...after, value: material.value };
    });
  }

  async function change(
    actor: Actor,
    id: string,
    action: string,
    edit: (row: ApiKeyTable) => ApiKeyTable,
  ): Promise<KeyView> {
    return ctx.write(actor, async (tx, audit) => {
      const loaded = await loadKey(tx, actor, id);
      const before = strip(loaded);
      const row = { ...edit({ ...before }), updated_at: ctx.clock.now() };
      await tx
        .updateTable('api_keys')
        .set({ name: row.name, enabled: row.enabled, expires_at: row.expires_at, updated_at: row.updated_at })
        .where('id', '=', id)
        .execute();
      const after = keyView(row);
      audit({
        action,
        entity: 'key',
        entityId: id,
        providerId: loaded.provider_id,
        before: keyView(before),
        after,
      });
      return after;
    });
  }

  return {
    async create(actor, input) {
      const data = parse(keyCreate, input);
      return insert(actor, data, generateKey(), 'create');
    },

    async import(actor, input) {
      const data = parse(keyImport, input);
      const problem = importProblem(data.value);
      if (problem) throw invalid('value', problem);
      return insert(actor, data, fromValue(data.value), 'import');
    },

    async get(actor, id) {
      return keyView(strip(await loadKey(db, actor, id)));
    },

    async list(actor, query = {}) {
      const { limit, cursor, subscriptionId } = parse(keyQuery, query);
      let q = db
        .selectFrom('api_keys')
        .innerJoin('subscriptions', 'subscriptions.id', 'api_keys.subscription_id')
        .innerJoin('plans', 'plans.id', 'subscriptions.plan_id')
        .selectAll('api_keys')
        .orderBy('api_keys.id')
        .limit(limit + 1);
      if (cursor) q = q.where('api_keys.id', '>', cursor);
      if (subscriptionId) q = q.where('api_keys.subscription_id', '=', subscriptionId);
      const scope = scopeOf(actor);
      if (scope) q = q.where('plans.provider_id', '=', scope);
      return toPage(await q.execute(), limit, keyView);
    },

    async update(actor, id, input) {
      const data = parse(keyUpdate, input);
      const expiresAt = data.expiresAt === undefined ? undefined : futureOrNull(data.expiresAt);
      return change(actor, id, 'update', (r) => ({
        ...r,
        name: data.name ?? r.name,
        enabled: data.enabled === undefined ? r.enabled : data.enabled ? 1 : 0,
        expires_at: expiresAt === undefined ? r.expires_at : expiresAt,
      }));
    },

    enable: (actor, id) => change(actor, id, 'enable', (r) => ({ ...r, enabled: 1 })),
    disable: (actor, id) => change(actor, id, 'disable', (r) => ({ ...r, enabled: 0 })),

    async roll(actor, id, input = {}) {
      const data = parse(keyRoll, input);
      const newExpiry = futureOrNull(data.expiresAt);
      const material = generateKey();
      return ctx.write(actor, async (tx, audit) => {
        const loaded = await loadKey(tx, actor, id);
        const before = strip(loaded);
        if (before.replaced_by) {
          throw fail('INVALID_STATE', `key ${id} was already rolled to ${before.replaced_by}`);
        }
        const sub = await tx
          .selectFrom('subscriptions')
          .select('status')
          .where('id', '=', before.subscription_id)
          .executeTakeFirstOrThrow();
        if (sub.status === 'cancelled') throw fail('INVALID_STATE', 'the subscription is cancelled');
        const now = ctx.clock.now();
        const graceEnd = now + data.graceSeconds * 1000;
        const fresh: ApiKeyTable = {
          id: newId('key', now),
          subscription_id: before.subscription_id,
          name: data.name ?? before.name,
          prefix: material.prefix,
          hash: material.hash,
          enabled: 1,
          expires_at: newExpiry,
          replaced_by: null,
          created_at: now,
          updated_at: now,
        };
        const old: ApiKeyTable = {
          ...before,
          expires_at: before.expires_at === null ? graceEnd : Math.min(before.expires_at, graceEnd),
          replaced_by: fresh.id,
          updated_at: now,
        };
        await tx.insertInto('api_keys').values(fresh).execute();
        // The new key opens what the old one does: its further subscriptions too.
        const links = await tx
          .selectFrom('api_key_subscriptions')
          .select('subscription_id')
          .where('key_id', '=', id)
          .execute();
        if (links.length)
          await tx
            .insertInto('api_key_subscriptions')
            .values(
              links.map((l) => ({ key_id: fresh.id, subscription_id: l.subscription_id, created_at: now })),
            )
            .execute();
        await tx
          .updateTable('api_keys')
          .set({ expires_at: old.expires_at, replaced_by: old.replaced_by, updated_at: now })
          .where('id', '=', id)
          .execute();
        const p = loaded.provider_id;
        audit({
          action: 'roll',
          entity: 'key',
          entityId: id,
          providerId: p,
          before: keyView(before),
          after: keyView(old),
        });
        audit({
          action: 'create',
          entity: 'key',
          entityId: fresh.id,
          providerId: p,
          before: null,
          after: keyView(fresh),
        });
        return { old: keyView(old), new: { ...keyView(fresh), value: material.value } };
      });
    },

    async subscriptions(actor, id) {
      await loadKey(db, actor, id);
      return subscriptionsOfKey(db, id);
    },

    async link(actor, id, subscriptionId) {
      return ctx.write(actor, async (tx, audit) => {
        const loaded = await loadKey(tx, actor, id);
        const r = await linkInTx(tx, actor, loaded, subscriptionId, ctx.clock.now());
        audit({
          action: 'link',
          entity: 'key',
          entityId: id,
          providerId: loaded.provider_id,
          before: { subscriptionIds: r.before },
          after: { subscriptionIds: r.after },
        });
        return subscriptionsOfKey(tx, id);
      });
    },

    async unlink(actor, id, subscriptionId) {
      return ctx.write(actor, async (tx, audit) => {
        const loaded = await loadKey(tx, actor, id);
        const r = await unlinkInTx(tx, loaded, subscriptionId, ctx.clock.now());
        audit({
          action: 'unlink',
          entity: 'key',
          entityId: id,
          providerId: loaded.provider_id,
          before: { subscriptionIds: r.before },
          after: { subscriptionIds: r.after },
        });
        return subscriptionsOfKey(tx, id);
      });
    },

    async delete(actor, id) {
      await ctx.write(actor, async (tx, audit) => {
        const loaded = await loadKey(tx, actor, id);
        await tx.deleteFrom('api_keys').where('id', '=', id).execute();
        audit({
          action: 'delete',
          entity: 'key',
          entityId: id,
          providerId: loaded.provider_id,
          before: keyView(strip(loaded)),
          after: null,
        });
      });
    },
  };
}
