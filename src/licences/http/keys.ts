/**
 * /licence-keys — a provider's Ed25519 signing keys, public parts only (the private JWK is
 * sealed in the store and never leaves the service). Rotation makes a new active key; the
 * old one stays `previous` and keeps verifying the licences it signed until it is retired.
 */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { Env } from '../../control/index.js';
import { json, jsonBody, problems } from '../../control/index.js';
import { notFound } from '../../shared/index.js';
import type { Licences } from '../service.js';
import { KeyQuery, KeyRotate, KidParam, keyView, SigningKey, SigningKeyList } from './schemas.js';
import { providerFor } from './scope.js';

const tags = ['licence keys'];

export function registerLicenceKeys(app: OpenAPIHono<Env>, licences: Licences): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/licence-keys',
      tags,
      summary: "A provider's licence signing keys (public parts only)",
      request: { query: KeyQuery },
      responses: { 200: json(SigningKeyList, 'Keys, oldest first'), ...problems },
    }),
    async (c) => {
      const providerId = providerFor(c.var.actor, c.req.valid('query').providerId);
      return c.json({ items: (await licences.listKeys(providerId)).map(keyView) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/licence-keys/rotate',
      tags,
      summary: 'Rotate: a new active signing key; the previous one still verifies',
      description:
        'New licences and re-signed ones (renewal, deployment change) use the new key. Buyers need the updated public keys file (GET /licences/v1/keys/{providerId}) before their licence is re-signed.',
      request: jsonBody(KeyRotate, false),
      responses: { 201: json(SigningKey, 'The new active key'), ...problems },
    }),
    async (c) => {
      const providerId = providerFor(c.var.actor, c.req.valid('json').providerId);
      return c.json(keyView(await licences.rotateKey(providerId, c.var.actor.id)), 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/licence-keys/{kid}/retire',
      tags,
      summary: 'Retire a previous key: licences it signed stop verifying',
      description: 'The active key cannot be retired; rotate first (409 INVALID_STATE).',
      request: { params: KidParam },
      responses: { 200: json(SigningKey, 'Retired'), ...problems },
    }),
    async (c) => {
      const actor = c.var.actor;
      const { kid } = c.req.valid('param');
      if (actor.kind === 'provider') {
        const own = await licences.listKeys(actor.providerId);
        if (!own.some((k) => k.kid === kid)) throw notFound('signing key', kid);
      }
      return c.json(keyView(await licences.retireKey(kid, actor.id)), 200);
    },
  );
}
