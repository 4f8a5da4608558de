/**
 * /licences — the provider's admin surface over the Licences service: issue, list, read,
 * download the signed file, renew, revoke, change the licensed deployment count, and read
 * the seats in use and the deployment history that billing prices. Thin handlers: the
 * service validates again and signs; refusals are TollgateErrors rendered as problem+json
 * by the admin app. A provider-scoped token sees only its own licences (NOT_FOUND otherwise).
 */
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { Env } from '../../control/index.js';
import { json, jsonBody, problems } from '../../control/index.js';
import { invalid } from '../../shared/index.js';
import type { LicenceAdminDeps } from './index.js';
import { listActivations, pageLicences } from './queries.js';
import {
  ActivationQuery,
  Activations,
  iso,
  Licence,
  LicenceDeployments,
  LicenceIdParam,
  LicenceIssue,
  LicencePage,
  LicenceQuery,
  LicenceRenew,
  LicenceRevoke,
  licenceView,
  Timeline,
  TimelineQuery,
} from './schemas.js';
import { checkReferences, providerFor, visibleLicence } from './scope.js';

const tags = ['licences'];
const params = { params: LicenceIdParam };
const ms = (t: string): number => Date.parse(t);

export function registerLicences(app: OpenAPIHono<Env>, deps: Required<LicenceAdminDeps>): void {
  const { licences, catalog, store, clock } = deps;
  const view = (r: Parameters<typeof licenceView>[0]) => licenceView(r, clock.now());

  app.openapi(
    createRoute({
      method: 'post',
      path: '/licences',
      tags,
      summary: 'Issue a signed licence (Ed25519) for a product to a consumer',
      description:
        "Signs with the provider's active key (generated on first use). The licence file is at GET /licences/{id}/file.",
      request: jsonBody(LicenceIssue),
      responses: { 201: json(Licence, 'Issued'), ...problems },
    }),
    async (c) => {
      const actor = c.var.actor;
      const body = c.req.valid('json');
      const providerId = providerFor(actor, body.providerId);
      await checkReferences(
        catalog,
        store.db,
        actor,
        providerId,
        body.productId,
        body.consumerId,
        body.subscriptionId,
      );
      const issued = await licences.issue(
        {
          providerId,
          productId: body.productId,
          consumerId: body.consumerId,
          subscriptionId: body.subscriptionId ?? null,
          deployments: body.deployments,
          features: body.features,
          limits: body.limits,
          ...(body.validFrom === undefined ? {} : { validFrom: ms(body.validFrom) }),
          validUntil: ms(body.validUntil),
        },
        actor.id,
      );
      c.header('location', `/admin/v1/licences/${issued.id}`);
      return c.json(view(issued), 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/licences',
      tags,
      summary: 'List licences (filter by providerId, consumerId, productId, status)',
      request: { query: LicenceQuery },
      responses: { 200: json(LicencePage, 'A page of licences'), ...problems },
    }),
    async (c) => {
      const actor = c.var.actor;
      const q = c.req.valid('query');
      if (actor.kind === 'provider' && q.providerId !== undefined && q.providerId !== actor.providerId) {
        return c.json({ items: [], nextCursor: null }, 200);
      }
      const providerId = actor.kind === 'provider' ? actor.providerId : q.providerId;
      const now = clock.now();
      const page = await pageLicences(store, { ...q, providerId }, now);
      return c.json({ items: page.items.map((r) => licenceView(r, now)), nextCursor: page.nextCursor }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/licences/{id}',
      tags,
      summary: 'Get a licence',
      request: params,
      responses: { 200: json(Licence, 'The licence'), ...problems },
    }),
    async (c) => c.json(view(await visibleLicence(licences, c.var.actor, c.req.valid('param').id)), 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/licences/{id}/file',
      tags,
      summary: 'Download the current licence file (a compact JWS, RFC 7515/7519)',
      description:
        'The text the buyer installs as TOLLGATE_LICENCE_FILE. Re-signed on renewal and deployment changes.',
      request: params,
      responses: {
        200: {
          content: { 'application/jwt': { schema: z.string() } },
          description: 'The licence file, as an attachment named licence.jwt',
        },
        ...problems,
      },
    }),
    async (c) => {
      const licence = await visibleLicence(licences, c.var.actor, c.req.valid('param').id);
      return c.body(`${licence.token}\n`, 200, {
        'content-type': 'application/jwt',
        'content-disposition': 'attachment; filename="licence.jwt"',
        'cache-control': 'no-store',
      });
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/licences/{id}/renew',
      tags,
      summary: 'Renew: move the end date (re-signs the licence file)',
      request: { ...params, ...jsonBody(LicenceRenew) },
      responses: { 200: json(Licence, 'Renewed'), ...problems },
    }),
    async (c) => {
      const licence = await visibleLicence(licences, c.var.actor, c.req.valid('param').id);
      return c.json(
        view(await licences.renew(licence.id, ms(c.req.valid('json').validUntil), c.var.actor.id)),
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/licences/{id}/revoke',
      tags,
      summary: 'Revoke: activations are refused and the id joins the published revoked list',
      description: 'Idempotent: revoking a revoked licence answers it unchanged.',
      request: { ...params, ...jsonBody(LicenceRevoke, false) },
      responses: { 200: json(Licence, 'Revoked'), ...problems },
    }),
    async (c) => {
      const licence = await visibleLicence(licences, c.var.actor, c.req.valid('param').id);
      return c.json(view(await licences.revoke(licence.id, c.var.actor.id)), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/licences/{id}/deployments',
      tags,
      summary: 'Change the licensed deployment count, from now or from a given time',
      request: { ...params, ...jsonBody(LicenceDeployments) },
      responses: { 200: json(Licence, 'Changed (the licence file is re-signed)'), ...problems },
    }),
    async (c) => {
      const licence = await visibleLicence(licences, c.var.actor, c.req.valid('param').id);
      const body = c.req.valid('json');
      const at = body.effectiveAt === undefined ? undefined : ms(body.effectiveAt);
      return c.json(
        view(await licences.setDeployments(licence.id, body.deployments, at, c.var.actor.id)),
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/licences/{id}/activations',
      tags,
      summary: 'Deployments that activated the licence, and how many hold a seat now',
      request: { ...params, query: ActivationQuery },
      responses: { 200: json(Activations, 'Activations, newest heartbeat first'), ...problems },
    }),
    async (c) => {
      const licence = await visibleLicence(licences, c.var.actor, c.req.valid('param').id);
      const q = c.req.valid('query');
      const live = q.live === undefined ? undefined : q.live === 'true';
      const { items, inUse } = await listActivations(store, licence.id, {
        now: clock.now(),
        heartbeatTtlMs: licences.heartbeatTtlMs,
        live,
        limit: q.limit,
      });
      return c.json(
        {
          licenceId: licence.id,
          deployments: licence.deployments,
          inUse,
          heartbeatTtlMs: licences.heartbeatTtlMs,
          items: items.map((a) => ({
            instanceId: a.instanceId,
            firstSeen: iso(a.firstSeen),
            lastSeen: iso(a.lastSeen),
            releasedAt: a.releasedAt === null ? null : iso(a.releasedAt),
            live: a.live,
          })),
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/licences/{id}/timeline',
      tags,
      summary: 'Licensed deployments over time: the segments per-deployment billing prices',
      description:
        'Half-open [from, to) segments with the deployment count in force, clipped to the window and to the licence validity (and revocation).',
      request: { ...params, query: TimelineQuery },
      responses: { 200: json(Timeline, 'Deployment segments'), ...problems },
    }),
    async (c) => {
      const licence = await visibleLicence(licences, c.var.actor, c.req.valid('param').id);
      const q = c.req.valid('query');
      const from = q.from === undefined ? licence.validFrom : ms(q.from);
      const to = q.to === undefined ? licence.validUntil : ms(q.to);
      if (from > to) throw invalid('to', 'must not be before from');
      const segments = await licences.deploymentTimeline(licence.id, from, to);
      return c.json(
        {
          licenceId: licence.id,
          from: iso(from),
          to: iso(to),
          segments: segments.map((s) => ({ from: iso(s.from), to: iso(s.to), quantity: s.quantity })),
        },
        200,
      );
    },
  );
}
