/**
 * Admin bearer tokens: `tga_` + 32 random bytes (base64url). Stored as the SHA-256 of the
 * value; a request is authenticated by hashing what it presents and looking the hash up
 * (an index lookup on a digest, so timing reveals nothing about the secret). Scope is
 * `operator` (everything) or `provider` (one provider's records). Only operators create
 * tokens; a provider token may list and revoke its own provider's tokens.
 */
import type { z } from 'zod';
import { hashKey, randomSecret } from '../keys/index.js';
import { newId, notFound } from '../shared/index.js';
import type { AdminTokenTable, Db, Tx } from '../store/index.js';
import {
  type Actor,
  type Ctx,
  fail,
  type Page,
  requireOperator,
  SYSTEM,
  scopeOf,
  toPage,
} from './context.js';
import { type PageQuery, pageQuery, tokenCreate } from './schemas.js';
import { parse } from './validate.js';
import { type TokenView, tokenView } from './views.js';

export const TOKEN_PREFIX = 'tga_';
const MAX_PRESENTED = 512;

export type TokenWithValue = TokenView & { value: string };

export interface TokensService {
  create(actor: Actor, input: z.input<typeof tokenCreate>): Promise<TokenWithValue>;
  get(actor: Actor, id: string): Promise<TokenView>;
  list(actor: Actor, page?: Partial<PageQuery>): Promise<Page<TokenView>>;
  revoke(actor: Actor, id: string): Promise<TokenView>;
  /** The actor a presented token stands for, or null (unknown, revoked, malformed). */
  authenticate(value: string): Promise<Actor | null>;
  /**
   * Start-up: with a configured token, make sure it exists (as an operator token); without
   * one, create an operator token if none is live and return its value, to be printed once.
   */
  bootstrapOperatorToken(options?: {
    configured?: string;
  }): Promise<{ created: boolean; id: string | null; value?: string }>;
}

async function loadToken(db: Db | Tx, actor: Actor, id: string): Promise<AdminTokenTable> {
  let q = db.selectFrom('admin_tokens').selectAll().where('id', '=', id);
  const scope = scopeOf(actor);
  if (scope) q = q.where('provider_id', '=', scope);
  const row = await q.executeTakeFirst();
  if (!row) throw notFound('token', id);
  return row;
}

export function tokensService(ctx: Ctx): TokensService {
  const db = ctx.store.db;

  async function insert(actor: Actor, row: AdminTokenTable): Promise<TokenView> {
    return ctx.write(actor, async (tx, audit) => {
      if (row.provider_id) {
        const p = await tx
          .selectFrom('providers')
          .select('id')
          .where('id', '=', row.provider_id)
          .executeTakeFirst();
        if (!p) throw fail('NOT_FOUND', `provider ${row.provider_id} does not exist`, 'providerId');
      }
      await tx.insertInto('admin_tokens').values(row).execute();
      const after = tokenView(row);
      audit({
        action: 'create',
        entity: 'token',
        entityId: row.id,
        providerId: row.provider_id,
        before: null,
        after,
      });
      return after;
    });
  }

  function newRow(name: string, scope: 'operator' | 'provider', providerId: string | null, value: string) {
    const now = ctx.clock.now();
    return {
      id: newId('tok', now),
      name,
      hash: hashKey(value),
      scope,
      provider_id: providerId,
      created_at: now,
      revoked_at: null,
    } satisfies AdminTokenTable;
  }

  return {
    async create(actor, input) {
      requireOperator(actor, 'create admin tokens');
      const data = parse(tokenCreate, input);
      const value = TOKEN_PREFIX + randomSecret();
      const view = await insert(actor, newRow(data.name, data.scope, data.providerId ?? null, value));
      return { ...view, value };
    },

    async get(actor, id) {
      return tokenView(await loadToken(db, actor, id));
    },

    async list(actor, page = {}) {
      const { limit, cursor } = parse(pageQuery, page);
      let q = db
        .selectFrom('admin_tokens')
        .selectAll()
        .orderBy('id')
        .limit(limit + 1);
      if (cursor) q = q.where('id', '>', cursor);
      const scope = scopeOf(actor);
      if (scope) q = q.where('provider_id', '=', scope);
      return toPage(await q.execute(), limit, tokenView);
    },

    async revoke(actor, id) {
      return ctx.write(actor, async (tx, audit) => {
        const before = await loadToken(tx, actor, id);
        if (before.revoked_at !== null) return tokenView(before);
        const row = { ...before, revoked_at: ctx.clock.now() };
        await tx
          .updateTable('admin_tokens')
          .set({ revoked_at: row.revoked_at })
          .where('id', '=', id)
          .execute();
        const after = tokenView(row);
        audit({
          action: 'revoke',
          entity: 'token',
          entityId: id,
          providerId: row.provider_id,
          before: tokenView(before),
          after,
        });
        return after;
      });
    },

    async authenticate(value) {
      if (!value || value.length > MAX_PRESENTED) return null;
      const row = await db
        .selectFrom('admin_tokens')
        .select(['id', 'scope', 'provider_id', 'revoked_at'])
        .where('hash', '=', hashKey(value))
        .executeTakeFirst();
      if (!row || row.revoked_at !== null) return null;
      if (row.scope === 'operator') return { kind: 'operator', id: row.id };
      if (row.scope === 'provider' && row.provider_id) {
        return { kind: 'provider', providerId: row.provider_id, id: row.id };
      }
      return null;
    },

    async bootstrapOperatorToken(options = {}) {
      const configured = options.configured || undefined;
      if (configured !== undefined) {
        if (configured.length < 20 || configured.length > MAX_PRESENTED || /\s/.test(configured)) {
          throw fail('VALIDATION_FAILED', 'must be 20–512 characters without spaces', 'adminToken');
        }
        const existing = await db
          .selectFrom('admin_tokens')
          .select(['id', 'revoked_at'])
          .where('hash', '=', hashKey(configured))
          .executeTakeFirst();
        if (existing) {
          if (existing.revoked_at !== null)
            ctx.log.warn({ tokenId: existing.id }, 'the configured admin token is revoked');
          return { created: false, id: existing.id };
        }
        const view = await insert(SYSTEM, newRow('bootstrap (configured)', 'operator', null, configured));
        return { created: true, id: view.id };
      }
      const live = await db
        .selectFrom('admin_tokens')
        .select('id')
        .where('scope', '=', 'operator')
        .where('revoked_at', 'is', null)
        .limit(1)
        .executeTakeFirst();
      if (live) return { created: false, id: null };
      const value = TOKEN_PREFIX + randomSecret();
      const view = await insert(SYSTEM, newRow('bootstrap', 'operator', null, value));
      return { created: true, id: view.id, value };
    },
  };
}
