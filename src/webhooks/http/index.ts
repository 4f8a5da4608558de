/**
 * Webhook endpoints and deliveries on the admin API (`/admin/v1`), plugged in through
 * `createControlApp({ extraRoutes: [webhookAdminRoutes({ webhooks, catalog })] })`:
 *
 *   POST/GET /webhooks/endpoints, PATCH/DELETE /webhooks/endpoints/{id},
 *   POST /webhooks/endpoints/{id}/rotate-secret, GET /webhooks/deliveries.
 *
 * Scoped by provider: a provider token works on its own endpoints only (another provider's
 * endpoint id answers NOT_FOUND, as a missing one would); an operator names the provider
 * (`providerId` in the body or query) to create and list, and may touch any endpoint by id.
 * The signing secret is shown on creation and rotation only. Times are ISO 8601.
 *
 * An adapter at the admin API's level (imports src/control's helpers); src/webhooks itself
 * never imports it.
 */
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { Actor, Catalog } from '../../catalog/index.js';
import { type Env, IdParam, json, jsonBody, NoContent, problems } from '../../control/index.js';
import { invalid, notFound } from '../../shared/index.js';
import { type DeliveryView, type EndpointView, endpointInputSchema, type Webhooks } from '../index.js';

export interface WebhookAdminDeps {
  webhooks: Webhooks;
  /** Checks that a provider an operator names exists. */
  catalog: Catalog;
}

const tags = ['webhooks'];
const id = z.string().min(1).max(64);
const time = z.string().openapi({ format: 'date-time', example: '2026-11-26T12:00:00.000Z' });
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

const EndpointCreate = endpointInputSchema
  .extend({ providerId: id.optional().describe('Required for an operator token; implied otherwise') })
  .strict()
  .meta({ id: 'WebhookEndpointCreate' });
// Not endpointInputSchema.partial(): its `enabled` default would turn every PATCH into enabled=true.
const EndpointUpdate = z
  .strictObject({
    url: endpointInputSchema.shape.url.optional(),
    secret: endpointInputSchema.shape.secret,
    enabled: z.boolean().optional(),
  })
  .refine((v) => Object.keys(v).length > 0, { message: 'give at least one of url, secret, enabled' })
  .meta({ id: 'WebhookEndpointUpdate' });
const ProviderQuery = z.strictObject({ providerId: id.optional() });
const DeliveryQuery = z.strictObject({
  providerId: id.optional(),
  eventId: id.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

const endpointFields = {
  id: z.string(),
  providerId: z.string(),
  url: z.string(),
  enabled: z.boolean(),
  createdAt: time,
};
const Endpoint = z.object(endpointFields).openapi('WebhookEndpoint');
const EndpointWithSecret = z
  .object({
    ...endpointFields,
    secret: z.string().openapi({ description: 'The signing secret. Shown once, never again.' }),
  })
  .openapi('WebhookEndpointWithSecret');
const EndpointList = z
  .object({ items: z.array(Endpoint), nextCursor: z.string().nullable() })
  .openapi('WebhookEndpointList');
const Secret = z
  .object({
    id: z.string(),
    secret: z.string().openapi({ description: 'The new signing secret. Shown once.' }),
  })
  .openapi('WebhookSecret');
const Delivery = z
  .object({
    id: z.string(),
    eventId: z.string(),
    type: z.string(),
    url: z.string(),
    attempts: z.number().int(),
    status: z.enum(['pending', 'delivered', 'failed']),
    nextAttemptAt: time.nullable(),
    lastStatus: z.number().int().nullable(),
    lastError: z.string().nullable(),
  })
  .openapi('WebhookDelivery');
const DeliveryList = z.object({ items: z.array(Delivery) }).openapi('WebhookDeliveryList');

const endpointView = (e: EndpointView) => ({ ...e, createdAt: iso(e.createdAt)! });
const deliveryView = (d: DeliveryView) => ({ ...d, nextAttemptAt: iso(d.nextAttemptAt) });

export function webhookAdminRoutes(deps: WebhookAdminDeps): (app: OpenAPIHono<Env>) => void {
  const { webhooks, catalog } = deps;

  /** The provider a request is about: the token's own, or the one an operator names. */
  async function providerFor(actor: Actor, requested: string | undefined): Promise<string> {
    if (actor.kind === 'provider') {
      if (requested !== undefined && requested !== actor.providerId) throw notFound('provider', requested);
      return actor.providerId;
    }
    if (requested === undefined) throw invalid('providerId', 'required for an operator token');
    await catalog.providers.get(actor, requested);
    return requested;
  }

  /**
   * The endpoint, if the actor may touch it (a provider token: its own only), else NOT_FOUND.
   * An operator's lookup walks the providers: the webhooks service has no get-by-id.
   */
  async function findEndpoint(actor: Actor, endpointId: string): Promise<EndpointView> {
    const owners: string[] = [];
    if (actor.kind === 'provider') owners.push(actor.providerId);
    else {
      let cursor: string | undefined;
      do {
        const page = await catalog.providers.list(actor, { limit: 200, ...(cursor ? { cursor } : {}) });
        owners.push(...page.items.map((p) => p.id));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
    }
    for (const owner of owners) {
      const found = (await webhooks.listEndpoints(owner)).find((e) => e.id === endpointId);
      if (found) return found;
    }
    throw notFound('webhook endpoint', endpointId);
  }

  return (app) => {
    app.openapi(
      createRoute({
        method: 'post',
        path: '/webhooks/endpoints',
        tags,
        summary: 'Add an endpoint that receives signed events (invoice.*, usage alerts…)',
        description:
          'Each delivery is a POST with a Tollgate-Signature header (HMAC-SHA256 over the timestamp and body). Omit `secret` to have one generated; it is returned once.',
        request: jsonBody(EndpointCreate),
        responses: { 201: json(EndpointWithSecret, 'Created'), ...problems },
      }),
      async (c) => {
        const { providerId, ...input } = c.req.valid('json');
        const owner = await providerFor(c.var.actor, providerId);
        const created = await webhooks.addEndpoint(owner, input);
        c.header('location', `/admin/v1/webhooks/endpoints/${created.id}`);
        return c.json({ ...endpointView(created), secret: created.secret }, 201);
      },
    );

    app.openapi(
      createRoute({
        method: 'get',
        path: '/webhooks/endpoints',
        tags,
        summary: "The provider's endpoints (operator: ?providerId=)",
        request: { query: ProviderQuery },
        responses: { 200: json(EndpointList, 'Endpoints'), ...problems },
      }),
      async (c) => {
        const owner = await providerFor(c.var.actor, c.req.valid('query').providerId);
        const items = (await webhooks.listEndpoints(owner)).map(endpointView);
        return c.json({ items, nextCursor: null }, 200);
      },
    );

    app.openapi(
      createRoute({
        method: 'patch',
        path: '/webhooks/endpoints/{id}',
        tags,
        summary: 'Change the URL, the secret, or enable/disable an endpoint',
        request: { params: IdParam, ...jsonBody(EndpointUpdate) },
        responses: { 200: json(Endpoint, 'Updated'), ...problems },
      }),
      async (c) => {
        const { id: endpointId } = c.req.valid('param');
        const current = await findEndpoint(c.var.actor, endpointId);
        const body = c.req.valid('json');
        // The service re-parses with defaults (enabled=true): always pass the intended value.
        const input = { ...body, enabled: body.enabled ?? current.enabled };
        return c.json(endpointView(await webhooks.updateEndpoint(endpointId, input)), 200);
      },
    );

    app.openapi(
      createRoute({
        method: 'delete',
        path: '/webhooks/endpoints/{id}',
        tags,
        summary: 'Remove an endpoint (its pending deliveries fail)',
        request: { params: IdParam },
        responses: { ...NoContent, ...problems },
      }),
      async (c) => {
        const { id: endpointId } = c.req.valid('param');
        await findEndpoint(c.var.actor, endpointId);
        await webhooks.removeEndpoint(endpointId);
        return c.body(null, 204);
      },
    );

    app.openapi(
      createRoute({
        method: 'post',
        path: '/webhooks/endpoints/{id}/rotate-secret',
        tags,
        summary: 'Replace the signing secret with a new generated one (returned once)',
        request: { params: IdParam },
        responses: { 200: json(Secret, 'The new secret'), ...problems },
      }),
      async (c) => {
        const { id: endpointId } = c.req.valid('param');
        await findEndpoint(c.var.actor, endpointId);
        const { secret } = await webhooks.rotateSecret(endpointId);
        return c.json({ id: endpointId, secret }, 200);
      },
    );

    app.openapi(
      createRoute({
        method: 'get',
        path: '/webhooks/deliveries',
        tags,
        summary: "The provider's recent deliveries, newest first (filter by eventId)",
        request: { query: DeliveryQuery },
        responses: { 200: json(DeliveryList, 'Deliveries'), ...problems },
      }),
      async (c) => {
        const q = c.req.valid('query');
        const owner = await providerFor(c.var.actor, q.providerId);
        const items = await webhooks.listDeliveries(owner, {
          limit: q.limit,
          ...(q.eventId ? { eventId: q.eventId } : {}),
        });
        return c.json({ items: items.map(deliveryView) }, 200);
      },
    );
  };
}
