/**
 * Marketplace products: the listings a provider offers to buyers (the control-plane records
 * they offer — APIs, plans, subscriptions — live in src/catalog).
 *
 * A product offers some of the provider's APIs and plans, is `public` or `private` (seen
 * only with an invite code, stored as SHA-256), fulfilled `metered` (keys + gateway) or
 * `wholesale` (licences), and is `draft` until published. Buyers browse and search only
 * public, published products; a private product is reachable by id with a valid invite
 * code. Marketplace side: each product gets a ProductCode (AWS-style, 25 lower-case
 * alphanumerics) for the AWS endpoints; a `registrationUrl` makes it externally fulfilled
 * (buyers get a registration token and are sent to the provider). Provider side:
 * `externalProductCode` is the product's code at an external marketplace.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { hashKey, safeEqual } from '../keys/index.js';
import { type Clock, invalid, notFound, type OutboundPolicy, TollgateError } from '../shared/index.js';
import type { Db } from '../store/index.js';
import type { MarketplaceProductTable } from '../store/tables/marketplace.js';
import { productId } from './ids.js';
import { type Actor, parseInput } from './ports.js';

const url = z
  .string()
  .max(2048)
  .refine((v) => {
    try {
      const u = new URL(v);
      return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '' && !u.username;
    } catch {
      return false;
    }
  }, 'must be an absolute http(s) URL');
const code = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[-a-zA-Z0-9/=:_.@]+$/, 'only letters, digits and -/=:_.@');
const ids = z.array(z.string().min(1).max(64)).max(100);

export const productCreate = z.strictObject({
  providerId: z.string().min(1).max(64).optional(),
  title: z.string().trim().min(1).max(200),
  summary: z.string().trim().max(500).default(''),
  description: z.string().max(100_000).default(''),
  apiIds: ids.default([]),
  planIds: ids.min(1),
  visibility: z.enum(['public', 'private']).default('public'),
  inviteCodes: z.array(z.string().min(8).max(200)).max(1000).default([]),
  fulfilment: z.enum(['metered', 'wholesale']).default('metered'),
  externalProductCode: code.nullable().optional(),
  productCode: code.optional(),
  registrationUrl: url.nullable().optional(),
  notificationUrl: url.nullable().optional(),
});
export const productUpdate = productCreate
  .omit({ providerId: true, productCode: true })
  .partial()
  .extend({ planIds: ids.min(1).optional() })
  .strict();
export const browseQuery = z.strictObject({
  q: z.string().trim().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(64).optional(),
});

export interface Product {
  id: string;
  providerId: string;
  title: string;
  summary: string;
  description: string;
  apiIds: string[];
  planIds: string[];
  visibility: 'public' | 'private';
  fulfilment: 'metered' | 'wholesale';
  externalProductCode: string | null;
  productCode: string;
  registrationUrl: string | null;
  notificationUrl: string | null;
  status: 'draft' | 'published';
  publishedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

const iso = (ms: number | null) => (ms == null ? null : new Date(Number(ms)).toISOString());

export function productView(r: MarketplaceProductTable): Product {
  return {
    id: r.id,
    providerId: r.provider_id,
    title: r.title,
    summary: r.summary,
    description: r.description,
    apiIds: JSON.parse(r.api_ids),
    planIds: JSON.parse(r.plan_ids),
    visibility: r.visibility as Product['visibility'],
    fulfilment: r.fulfilment as Product['fulfilment'],
    externalProductCode: r.external_product_code,
    productCode: r.product_code,
    registrationUrl: r.registration_url,
    notificationUrl: r.notification_url,
    status: r.status as Product['status'],
    publishedAt: iso(r.published_at),
    createdAt: iso(r.created_at)!,
    updatedAt: iso(r.updated_at)!,
  };
}

function newProductCode(): string {
  const a = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let s = '';
  for (const b of randomBytes(40)) if (b < 252 && s.length < 25) s += a[b % 36];
  return s;
}

export interface ProductService {
  create(actor: Actor, input: z.input<typeof productCreate>): Promise<Product>;
  update(actor: Actor, id: string, input: z.input<typeof productUpdate>): Promise<Product>;
  publish(actor: Actor, id: string): Promise<Product>;
  unpublish(actor: Actor, id: string): Promise<Product>;
  get(actor: Actor, id: string): Promise<Product>;
  list(actor: Actor): Promise<Product[]>;
  /** Buyers: public + published, searched in title/summary/description. */
  browse(query?: z.input<typeof browseQuery>): Promise<{ items: Product[]; nextCursor: string | null }>;
  /** Buyers: one published product; a private one needs a valid invite code. */
  view(id: string, inviteCode?: string): Promise<Product>;
  byExternalCode(externalProductCode: string): Promise<Product | null>;
}

export function createProducts(deps: { db: Db; clock: Clock; outbound: OutboundPolicy }): ProductService {
  const { db, clock } = deps;

  async function load(actor: Actor, id: string): Promise<MarketplaceProductTable> {
    let q = db.selectFrom('marketplace_products').selectAll().where('id', '=', id);
    if (actor.kind === 'provider') q = q.where('provider_id', '=', actor.providerId);
    const r = await q.executeTakeFirst();
    if (!r) throw notFound('product', id);
    return r;
  }

  /**
   * One product per external product code in the installation (a unique index backs it):
   * onboarding from an external marketplace finds the product by that code, so a second
   * provider reusing it could receive the first one's buyers.
   */
  async function externalCodeFree(code: string | null, self: string | null): Promise<void> {
    if (code === null) return;
    let q = db.selectFrom('marketplace_products').select('id').where('external_product_code', '=', code);
    if (self) q = q.where('id', '!=', self);
    if (await q.executeTakeFirst())
      throw new TollgateError('CONFLICT', 'externalProductCode: already used by another product', [
        { field: 'externalProductCode', message: 'already used by another product' },
      ]);
  }

  async function checkOwned(providerId: string, apiIds: string[], planIds: string[]): Promise<void> {
    if (apiIds.length) {
      const rows = await db
        .selectFrom('apis')
        .select('id')
        .where('id', 'in', apiIds)
        .where('provider_id', '=', providerId)
        .execute();
      const found = new Set(rows.map((r) => r.id));
      const missing = apiIds.find((i) => !found.has(i));
      if (missing) throw invalid('apiIds', `API ${missing} does not exist for this provider`);
    }
    if (planIds.length) {
      const rows = await db
        .selectFrom('plans')
        .select('id')
        .where('id', 'in', planIds)
        .where('provider_id', '=', providerId)
        .execute();
      const found = new Set(rows.map((r) => r.id));
      const missing = planIds.find((i) => !found.has(i));
      if (missing) throw invalid('planIds', `plan ${missing} does not exist for this provider`);
    }
  }

  /**
   * A product may go live only if every plan on offer opens every API it lists: otherwise a
   * buyer would get a key that answers 403 on the documented API.
   */
  async function checkGrants(r: MarketplaceProductTable): Promise<void> {
    const apiIds: string[] = JSON.parse(r.api_ids);
    const planIds: string[] = JSON.parse(r.plan_ids);
    if (!apiIds.length || !planIds.length) return;
    const [apis, plans] = await Promise.all([
      db.selectFrom('apis').select(['id', 'name']).where('id', 'in', apiIds).execute(),
      db.selectFrom('plans').select(['id', 'name', 'api_ids']).where('id', 'in', planIds).execute(),
    ]);
    const apiName = new Map(apis.map((a) => [a.id, a.name]));
    for (const planId of planIds) {
      const plan = plans.find((p) => p.id === planId);
      if (!plan) continue;
      const granted = new Set<string>(JSON.parse(plan.api_ids));
      const missing = apiIds.find((a) => !granted.has(a));
      if (missing) {
        throw invalid(
          'planIds',
          `plan "${plan.name}" does not give access to the API "${apiName.get(missing) ?? missing}": add the API to the plan, or take it off the product, before publishing`,
        );
      }
    }
  }

  async function setStatus(actor: Actor, id: string, status: 'draft' | 'published'): Promise<Product> {
    const r = await load(actor, id);
    if (status === 'published' && r.fulfilment === 'metered') await checkGrants(r);
    const now = clock.now();
    await db
      .updateTable('marketplace_products')
      .set({ status, updated_at: now, published_at: status === 'published' ? now : r.published_at })
      .where('id', '=', id)
      .execute();
    return productView(await load(actor, id));
  }

  return {
    async create(actor, input) {
      const d = parseInput(productCreate, input);
      if (d.notificationUrl) await deps.outbound.assert('notificationUrl', d.notificationUrl);
      const providerId = actor.kind === 'provider' ? actor.providerId : d.providerId;
      if (!providerId) throw invalid('providerId', 'required for an operator');
      if (actor.kind === 'provider' && d.providerId && d.providerId !== actor.providerId) {
        throw notFound('provider', d.providerId);
      }
      const p = await db.selectFrom('providers').select('id').where('id', '=', providerId).executeTakeFirst();
      if (!p) throw invalid('providerId', `provider ${providerId} does not exist`);
      await checkOwned(providerId, d.apiIds, d.planIds);
      if (d.visibility === 'public' && d.inviteCodes.length)
        throw invalid('inviteCodes', 'only for private products');
      const now = clock.now();
      const row: MarketplaceProductTable = {
        id: productId(now),
        provider_id: providerId,
        title: d.title,
        summary: d.summary,
        description: d.description,
        api_ids: JSON.stringify(d.apiIds),
        plan_ids: JSON.stringify(d.planIds),
        visibility: d.visibility,
        invite_codes: JSON.stringify(d.inviteCodes.map(hashKey)),
        fulfilment: d.fulfilment,
        external_product_code: d.externalProductCode ?? null,
        product_code: d.productCode ?? newProductCode(),
        registration_url: d.registrationUrl ?? null,
        notification_url: d.notificationUrl ?? null,
        status: 'draft',
        published_at: null,
        created_at: now,
        updated_at: now,
      };
      const clash = await db
        .selectFrom('marketplace_products')
        .select('id')
        .where('product_code', '=', row.product_code)
        .executeTakeFirst();
      if (clash)
        throw new TollgateError('CONFLICT', 'productCode: already used by another product', [
          { field: 'productCode', message: 'already used' },
        ]);
      await externalCodeFree(row.external_product_code, null);
      await db.insertInto('marketplace_products').values(row).execute();
      return productView(row);
    },

    async update(actor, id, input) {
      const d = parseInput(productUpdate, input);
      const r = await load(actor, id);
      if (d.notificationUrl) await deps.outbound.assert('notificationUrl', d.notificationUrl);
      const apiIds = d.apiIds ?? JSON.parse(r.api_ids);
      const planIds = d.planIds ?? JSON.parse(r.plan_ids);
      await checkOwned(r.provider_id, d.apiIds ?? [], d.planIds ?? []);
      const visibility = d.visibility ?? r.visibility;
      const codes = d.inviteCodes ? d.inviteCodes.map(hashKey) : JSON.parse(r.invite_codes);
      if (visibility === 'public' && codes.length) throw invalid('inviteCodes', 'only for private products');
      const row = {
        title: d.title ?? r.title,
        summary: d.summary ?? r.summary,
        description: d.description ?? r.description,
        api_ids: JSON.stringify(apiIds),
        plan_ids: JSON.stringify(planIds),
        visibility,
        invite_codes: JSON.stringify(codes),
        fulfilment: d.fulfilment ?? r.fulfilment,
        external_product_code:
          d.externalProductCode === undefined ? r.external_product_code : d.externalProductCode,
        registration_url: d.registrationUrl === undefined ? r.registration_url : d.registrationUrl,
        notification_url: d.notificationUrl === undefined ? r.notification_url : d.notificationUrl,
        updated_at: clock.now(),
      };
      if (row.external_product_code !== r.external_product_code)
        await externalCodeFree(row.external_product_code, id);
      await db.updateTable('marketplace_products').set(row).where('id', '=', id).execute();
      return productView({ ...r, ...row });
    },

    publish: (actor, id) => setStatus(actor, id, 'published'),
    unpublish: (actor, id) => setStatus(actor, id, 'draft'),
    get: async (actor, id) => productView(await load(actor, id)),

    async list(actor) {
      let q = db.selectFrom('marketplace_products').selectAll().orderBy('id');
      if (actor.kind === 'provider') q = q.where('provider_id', '=', actor.providerId);
      return (await q.execute()).map(productView);
    },

    async browse(query = {}) {
      const { q, limit, cursor } = parseInput(browseQuery, query);
      let sel = db
        .selectFrom('marketplace_products')
        .selectAll()
        .where('status', '=', 'published')
        .where('visibility', '=', 'public')
        .orderBy('id')
        .limit(limit + 1);
      if (cursor) sel = sel.where('id', '>', cursor);
      if (q) {
        // Portable case-insensitive match: lower() on both sides, LIKE wildcards escaped.
        const pattern = `%${q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
        sel = sel.where((eb) =>
          eb.or(
            (['title', 'summary', 'description'] as const).map((col) =>
              eb(eb.fn('lower', [eb.ref(col)]), 'like', eb.val(pattern)),
            ),
          ),
        );
      }
      const rows = await sel.execute();
      const more = rows.length > limit;
      const items = (more ? rows.slice(0, limit) : rows).map(productView);
      return { items, nextCursor: more ? items[items.length - 1]!.id : null };
    },

    async view(id, inviteCode) {
      const r = await db
        .selectFrom('marketplace_products')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirst();
      if (!r) throw notFound('product', id);
      if (r.status !== 'published') throw notFound('product', id);
      if (r.visibility === 'private') {
        const hashes = JSON.parse(r.invite_codes) as string[];
        const h = inviteCode ? hashKey(inviteCode) : '';
        if (!h || !hashes.some((x) => safeEqual(x, h))) throw notFound('product', id);
      }
      return productView(r);
    },

    async byExternalCode(externalProductCode) {
      const r = await db
        .selectFrom('marketplace_products')
        .selectAll()
        .where('external_product_code', '=', externalProductCode)
        .executeTakeFirst();
      return r ? productView(r) : null;
    },
  };
}
