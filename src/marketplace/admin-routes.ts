/**
 * Admin API routes of the marketplace, registered through the control plane's
 * `extraRoutes` (paths relative to /admin/v1). Provider tokens see and change only their
 * own products, subscriptions, credentials and export ledger.
 *
 *   createControlApp({ …, extraRoutes: [marketplaceRoutes(marketplace)] })
 */
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { type Env, IdParam, json, jsonBody, problems } from '../control/index.js';
import { invalid, notFound } from '../shared/index.js';
import type { Marketplace } from './index.js';
import type { Actor } from './ports.js';
import { browseQuery, productCreate, productUpdate } from './products.js';
import { subscribeInput } from './subscriptions.js';

const tags = ['marketplace'];
const time = z.string().openapi({ format: 'date-time' });
const Product = z
  .object({
    id: z.string(),
    providerId: z.string(),
    title: z.string(),
    summary: z.string(),
    description: z.string(),
    apiIds: z.array(z.string()),
    planIds: z.array(z.string()),
    visibility: z.enum(['public', 'private']),
    fulfilment: z.enum(['metered', 'wholesale']),
    externalProductCode: z.string().nullable(),
    productCode: z.string(),
    registrationUrl: z.string().nullable(),
    notificationUrl: z.string().nullable(),
    status: z.enum(['draft', 'published']),
    publishedAt: time.nullable(),
    createdAt: time,
    updatedAt: time,
  })
  .openapi('Product');
const Products = z
  .object({ items: z.array(Product), nextCursor: z.string().nullable() })
  .openapi('ProductPage');
const Loose = z.record(z.string(), z.unknown());
const SubscribeResult = z
  .object({
    subscription: Loose,
    product: Product,
    key: z.object({ id: z.string(), prefix: z.string(), value: z.string() }).optional(),
    registration: z.object({ url: z.string(), token: z.string(), expiresAt: time }).optional(),
  })
  .openapi('MarketplaceSubscribeResult');
const Event = z
  .object({
    id: z.string(),
    subscriptionId: z.string(),
    type: z.string(),
    fromStatus: z.string().nullable(),
    toStatus: z.string(),
    actor: z.string(),
    data: Loose,
    at: time,
  })
  .openapi('SubscriptionEvent');
const Credentials = z
  .object({
    accessKeyId: z.string(),
    secretAccessKey: z.string().optional(),
    name: z.string(),
    providerId: z.string().optional(),
    createdAt: z.number(),
    revokedAt: z.number().nullable().optional(),
  })
  .openapi('MarketplaceCredentials');
const CredentialsCreate = z
  .strictObject({
    providerId: z.string().min(1).max(64).optional(),
    name: z.string().trim().min(1).max(200).default('default'),
    agreementId: z.string().min(1).max(64).optional(),
  })
  .openapi('MarketplaceCredentialsCreate');
const PlanChange = z.strictObject({ planId: z.string().min(1).max(64) }).openapi('MarketplacePlanChange');
const KeyParam = z.object({ accessKeyId: z.string().min(1).max(64) });
const ProviderQuery = z.object({ providerId: z.string().min(1).max(64).optional() });
const SubQuery = z.object({ subscriptionId: z.string().min(1).max(64) });

const providerOf = (actor: Actor, requested?: string): string => {
  if (actor.kind === 'provider') {
    if (requested && requested !== actor.providerId) throw notFound('provider', requested);
    return actor.providerId;
  }
  if (!requested) throw invalid('providerId', 'required for an operator token');
  return requested;
};

export const marketplaceRoutes = (m: Marketplace) => (app: OpenAPIHono<Env>) => {
  // ------------------------------------------------------------ products
  app.openapi(
    createRoute({
      method: 'get',
      path: '/products',
      tags,
      summary: "The caller's products (all statuses)",
      responses: { 200: json(Products, 'Products'), ...problems },
    }),
    async (c) => c.json({ items: await m.products.list(c.var.actor), nextCursor: null }, 200),
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/products',
      tags,
      summary: 'Create a product (draft)',
      request: jsonBody(productCreate.meta({ id: 'ProductCreate' })),
      responses: { 201: json(Product, 'Created'), ...problems },
    }),
    async (c) => c.json(await m.products.create(c.var.actor, c.req.valid('json')), 201),
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/products/{id}',
      tags,
      summary: 'Get a product',
      request: { params: IdParam },
      responses: { 200: json(Product, 'The product'), ...problems },
    }),
    async (c) => c.json(await m.products.get(c.var.actor, c.req.valid('param').id), 200),
  );
  app.openapi(
    createRoute({
      method: 'patch',
      path: '/products/{id}',
      tags,
      summary: 'Update a product',
      request: { params: IdParam, ...jsonBody(productUpdate.meta({ id: 'ProductUpdate' })) },
      responses: { 200: json(Product, 'Updated'), ...problems },
    }),
    async (c) =>
      c.json(await m.products.update(c.var.actor, c.req.valid('param').id, c.req.valid('json')), 200),
  );
  for (const action of ['publish', 'unpublish'] as const) {
    app.openapi(
      createRoute({
        method: 'post',
        path: `/products/{id}/${action}`,
        tags,
        summary: `${action[0]!.toUpperCase()}${action.slice(1)} a product`,
        request: { params: IdParam },
        responses: { 200: json(Product, 'Done'), ...problems },
      }),
      async (c) => c.json(await m.products[action](c.var.actor, c.req.valid('param').id), 200),
    );
  }
  app.openapi(
    createRoute({
      method: 'get',
      path: '/marketplace/products',
      tags,
      summary: 'Browse and search public, published products (what buyers see)',
      request: { query: browseQuery },
      responses: { 200: json(Products, 'Products'), ...problems },
    }),
    async (c) => c.json(await m.products.browse(c.req.valid('query')), 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/marketplace/products/{id}',
      tags,
      summary: 'One published product as buyers see it: plans (limits, price) and API documents',
      request: { params: IdParam, query: z.object({ inviteCode: z.string().max(200).optional() }) },
      responses: { 200: json(Loose, 'The listing'), ...problems },
    }),
    async (c) =>
      c.json(
        (await m.listing(c.req.valid('param').id, c.req.valid('query').inviteCode)) as unknown as Record<
          string,
          unknown
        >,
        200,
      ),
  );

  // ------------------------------------------------------------ subscriptions
  app.openapi(
    createRoute({
      method: 'post',
      path: '/marketplace/subscriptions',
      tags,
      summary: 'Subscribe (key shown once, or a registration token for externally fulfilled products)',
      request: jsonBody(subscribeInput.meta({ id: 'MarketplaceSubscribe' })),
      responses: { 201: json(SubscribeResult, 'Subscribed'), ...problems },
    }),
    async (c) => {
      const input = c.req.valid('json');
      if (c.var.actor.kind === 'provider') {
        const p = await m.products.get(c.var.actor, input.productId);
        if (p.providerId !== c.var.actor.providerId) throw notFound('product', input.productId);
      }
      return c.json(
        (await m.subscriptions.subscribe(input, c.var.actor)) as unknown as z.infer<typeof SubscribeResult>,
        201,
      );
    },
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/marketplace/subscriptions/{id}/plan',
      tags,
      summary: 'Change plan (prorated by billing)',
      request: { params: IdParam, ...jsonBody(PlanChange) },
      responses: { 200: json(Loose, 'Changed'), ...problems },
    }),
    async (c) =>
      c.json(
        await m.subscriptions.changePlan(c.req.valid('param').id, c.req.valid('json').planId, c.var.actor),
        200,
      ),
  );
  for (const action of ['cancel', 'suspend', 'resume'] as const) {
    app.openapi(
      createRoute({
        method: 'post' as const,
        path: `/marketplace/subscriptions/{id}/${action}`,
        tags,
        summary: `${action[0]!.toUpperCase()}${action.slice(1)} a subscription`,
        request: { params: IdParam },
        responses: { 200: json(Loose, 'Done'), ...problems },
      }),
      async (c) =>
        c.json(
          (await m.subscriptions[action](c.req.valid('param').id, c.var.actor)) as Record<string, unknown>,
          200,
        ),
    );
  }
  app.openapi(
    createRoute({
      method: 'get',
      path: '/marketplace/subscriptions/{id}/events',
      tags,
      summary: 'The append-only history of a subscription',
      request: { params: IdParam },
      responses: { 200: json(z.object({ items: z.array(Event) }), 'Events'), ...problems },
    }),
    async (c) => c.json({ items: await m.subscriptions.history(c.req.valid('param').id, c.var.actor) }, 200),
  );

  // ------------------------------------------------------------ credentials (AWS endpoint)
  app.openapi(
    createRoute({
      method: 'post',
      path: '/marketplace/credentials',
      tags,
      summary: 'Issue SigV4 credentials for the AWS-compatible marketplace endpoint (secret shown once)',
      request: jsonBody(CredentialsCreate),
      responses: { 201: json(Credentials, 'Issued'), ...problems },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const providerId = providerOf(c.var.actor, body.providerId);
      if (body.agreementId) {
        const a = await m.agreements.get(body.agreementId);
        if (!a || a.providerId !== providerId) throw notFound('agreement', body.agreementId);
      }
      return c.json(await m.credentials.issue(providerId, body.name, body.agreementId), 201);
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/marketplace/credentials',
      tags,
      summary: 'List credentials (no secrets)',
      request: { query: ProviderQuery },
      responses: { 200: json(z.object({ items: z.array(Credentials) }), 'Credentials'), ...problems },
    }),
    async (c) =>
      c.json(
        { items: await m.credentials.list(providerOf(c.var.actor, c.req.valid('query').providerId)) },
        200,
      ),
  );
  app.openapi(
    createRoute({
      method: 'delete',
      path: '/marketplace/credentials/{accessKeyId}',
      tags,
      summary: 'Revoke credentials',
      request: { params: KeyParam },
      responses: { 204: { description: 'Revoked' }, ...problems },
    }),
    async (c) => {
      const id = c.req.valid('param').accessKeyId;
      const creds = await m.credentials.resolve(id);
      if (!creds || (c.var.actor.kind === 'provider' && creds.providerId !== c.var.actor.providerId)) {
        throw notFound('credentials', id);
      }
      await m.credentials.revoke(id);
      return c.body(null, 204);
    },
  );

  // ------------------------------------------------------------ export ledger (selling through an external marketplace)
  app.openapi(
    createRoute({
      method: 'get',
      path: '/marketplace/exports',
      tags,
      summary: "A subscription's metering export ledger",
      request: { query: SubQuery },
      responses: { 200: json(z.object({ items: z.array(Loose) }), 'Ledger'), ...problems },
    }),
    async (c) => {
      const { subscriptionId } = c.req.valid('query');
      await m.subscriptions.history(subscriptionId, c.var.actor); // scope check
      return c.json({ items: m.exporter ? await m.exporter.ledger(subscriptionId) : [] }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/marketplace/exports/flush',
      tags,
      summary: 'Export a subscription now, including the current partial hour (as on unsubscribe-pending)',
      request: jsonBody(SubQuery.strict().openapi('MarketplaceExportFlush')),
      responses: { 200: json(Loose, 'Export report'), ...problems },
    }),
    async (c) => {
      const { subscriptionId } = c.req.valid('json');
      await m.subscriptions.history(subscriptionId, c.var.actor); // scope check
      if (!m.exporter) throw invalid('subscriptionId', 'no external marketplace is configured');
      return c.json({ ...(await m.exporter.flushNow(subscriptionId)) }, 200);
    },
  );
};
