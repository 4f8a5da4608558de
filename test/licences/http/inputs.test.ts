/**
 * What the licence endpoints refuse, and how: the admin routes answer a 400 problem naming
 * the field (strict objects: unknown fields too), the public endpoints a JSON
 * `{ ok: false, code, message }` with a 4xx a deployment treats as final. Also: the routes
 * are in the admin OpenAPI document, and an unknown path or method under /licences/v1 is
 * answered in JSON by the licence app while other console paths fall through.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { licencePublicApp } from '../../../src/licences/http/index.js';
import { createLicences } from '../../../src/licences/index.js';
import { type Logger, ManualClock, silentLogger } from '../../../src/shared/index.js';
import { sqliteStore } from '../../helpers/stores.js';
import { DAY, type Harness, SECRET, startHarness, T0 } from './harness.js';

const iso = (ms: number) => new Date(ms).toISOString();

describe('licence endpoints refuse bad input clearly', () => {
  let h: Harness;
  let licenceId: string;
  let token: string;

  const good = () => ({
    productId: 'prd_nouns',
    consumerId: h.a.consumerId,
    deployments: 2,
    limits: { rateLimit: 10 },
    validUntil: iso(T0 + 30 * DAY),
  });

  beforeAll(async () => {
    h = await startHarness(sqliteStore);
    const res = await h.call('POST', '/admin/v1/licences', { token: h.a.token, body: good() });
    expect(res.status, res.text).toBe(201);
    licenceId = res.body.id;
    token = (await h.licences.get(licenceId)).token;
  });
  afterAll(async () => {
    await h?.close();
  });

  const issueCases: Array<[string, (b: Record<string, unknown>) => unknown, string]> = [
    ['deployments 0', (b) => ({ ...b, deployments: 0 }), 'deployments'],
    ['deployments fractional', (b) => ({ ...b, deployments: 1.5 }), 'deployments'],
    ['deployments as text', (b) => ({ ...b, deployments: '2' }), 'deployments'],
    ['no productId', ({ productId: _p, ...b }) => b, 'productId'],
    ['no consumerId', ({ consumerId: _c, ...b }) => b, 'consumerId'],
    ['negative rate', (b) => ({ ...b, limits: { rateLimit: -1 } }), 'limits.rateLimit'],
    ['burst not integer', (b) => ({ ...b, limits: { rateLimit: 1, burstLimit: 2.5 } }), 'limits.burstLimit'],
    ['unknown limit', (b) => ({ ...b, limits: { rateLimit: 1, rps: 3 } }), 'limits.rps'],
    ['unknown field', (b) => ({ ...b, seats: 3 }), 'seats'],
    ['validUntil not a date', (b) => ({ ...b, validUntil: 'next year' }), 'validUntil'],
    ['validUntil as ms', (b) => ({ ...b, validUntil: T0 + DAY }), 'validUntil'],
    ['ends before it starts', (b) => ({ ...b, validFrom: iso(T0 + 40 * DAY) }), 'validUntil'],
    ['ends in the past (default start now)', (b) => ({ ...b, validUntil: iso(T0 - DAY) }), 'validUntil'],
    ['empty feature', (b) => ({ ...b, features: ['ok', ''] }), 'features[1]'],
  ];

  it.each(issueCases)('POST /licences: %s → 400 naming %s', async (_n, edit, field) => {
    const res = await h.call('POST', '/admin/v1/licences', { token: h.a.token, body: edit(good()) });
    expect(res.status, res.text).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    expect(res.body.detail).toContain(field);
  });

  it('POST /licences: an operator must name the provider; a provider may not name another', async () => {
    const op = await h.call('POST', '/admin/v1/licences', { body: good() });
    expect(op.status).toBe(400);
    expect(op.body.errors).toEqual([{ field: 'providerId', message: 'required for an operator token' }]);
    const other = await h.call('POST', '/admin/v1/licences', {
      token: h.a.token,
      body: { ...good(), providerId: h.b.providerId },
    });
    expect(other.status).toBe(404);
    const unknownConsumer = await h.call('POST', '/admin/v1/licences', {
      body: { ...good(), providerId: h.a.providerId, consumerId: 'con_nobody' },
    });
    expect(unknownConsumer.status).toBe(404);
    expect(unknownConsumer.body.detail).toMatch(/consumer con_nobody/);
    const noSuchProvider = await h.call('POST', '/admin/v1/licences', {
      body: { ...good(), providerId: 'prv_nobody' },
    });
    expect(noSuchProvider.status).toBe(404);
    const otherSub = await h.call('POST', '/admin/v1/licences', {
      body: { ...good(), providerId: h.a.providerId, subscriptionId: h.b.subscriptionId },
    });
    expect(otherSub.status).toBe(400);
    expect(otherSub.body.errors[0].field).toBe('subscriptionId');
  });

  it('rejects bad bodies and queries on the other admin routes, naming the field', async () => {
    const cases: Array<[string, string, unknown, string]> = [
      ['POST', `/admin/v1/licences/${licenceId}/renew`, {}, 'validUntil'],
      ['POST', `/admin/v1/licences/${licenceId}/renew`, { validUntil: '2027-13-01T00:00:00Z' }, 'validUntil'],
      ['POST', `/admin/v1/licences/${licenceId}/renew`, { validUntil: iso(T0 - DAY) }, 'validUntil'],
      ['POST', `/admin/v1/licences/${licenceId}/deployments`, { deployments: -1 }, 'deployments'],
      ['POST', `/admin/v1/licences/${licenceId}/deployments`, { deployments: 2, at: 1 }, 'at'],
      [
        'POST',
        `/admin/v1/licences/${licenceId}/deployments`,
        { deployments: 3, effectiveAt: iso(T0 - 100 * DAY) },
        'effectiveAt',
      ],
      ['POST', `/admin/v1/licences/${licenceId}/revoke`, { reason: 'x' }, 'reason'],
      ['POST', '/admin/v1/licence-keys/rotate', { kid: 'x' }, 'kid'],
      ['GET', '/admin/v1/licences?limit=0', undefined, 'limit'],
      ['GET', '/admin/v1/licences?cursor=abc', undefined, 'cursor'],
      ['GET', '/admin/v1/licences?status=lapsed', undefined, 'status'],
      ['GET', '/admin/v1/licences?provider=x', undefined, 'provider'],
      ['GET', `/admin/v1/licences/${licenceId}/timeline?from=yesterday`, undefined, 'from'],
      [
        'GET',
        `/admin/v1/licences/${licenceId}/timeline?from=${iso(T0 + DAY)}&to=${iso(T0)}`,
        undefined,
        'to',
      ],
      ['GET', `/admin/v1/licences/${licenceId}/activations?live=maybe`, undefined, 'live'],
      ['GET', '/admin/v1/licence-keys', undefined, 'providerId'],
    ];
    for (const [method, path, body, field] of cases) {
      const res = await h.call(method, path, body === undefined ? {} : { body });
      expect(res.status, `${method} ${path}: ${res.text}`).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
      expect(
        res.body.errors.map((e: { field: string }) => e.field),
        `${method} ${path}`,
      ).toContain(field);
    }
  });

  it('answers missing licences and keys with 404 problems, and refuses to retire the active key', async () => {
    expect((await h.call('GET', '/admin/v1/licences/lic_01JD3Q3R9ZK0V5TQ8Y0S2M4N6P')).status).toBe(404);
    expect((await h.call('POST', '/admin/v1/licence-keys/nokey/retire')).status).toBe(404);
    const active = (await h.call('GET', `/admin/v1/licence-keys?providerId=${h.a.providerId}`)).body.items[0];
    const res = await h.call('POST', `/admin/v1/licence-keys/${active.kid}/retire`, { token: h.a.token });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('INVALID_STATE');
    expect((await h.call('POST', '/admin/v1/licence-keys/rotate', { body: {} })).body.errors[0].field).toBe(
      'providerId',
    );
  });

  it('needs an admin token for every admin licence route', async () => {
    for (const [method, path] of [
      ['GET', '/admin/v1/licences'],
      ['GET', `/admin/v1/licences/${licenceId}/file`],
      ['POST', '/admin/v1/licence-keys/rotate'],
    ]) {
      const res = await h.call(method!, path!, { token: null });
      expect(res.status, path).toBe(401);
    }
  });

  it('public endpoints: JSON refusals a deployment can act on', async () => {
    const post = (path: string, init: { body?: string; headers?: Record<string, string> }) =>
      h.call('POST', path, {
        token: null,
        ...(init.body === undefined ? {} : { raw: init.body }),
        headers: init.headers ?? {},
      });
    const json = { 'content-type': 'application/json' };
    const cases: Array<[string, Awaited<ReturnType<typeof post>>, number, string, RegExp]> = [
      [
        'no content type',
        await post('/licences/v1/activate', { body: '{}' }),
        415,
        'UNSUPPORTED_MEDIA_TYPE',
        /application\/json/,
      ],
      [
        'form body',
        await post('/licences/v1/activate', {
          body: 'token=x',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        }),
        415,
        'UNSUPPORTED_MEDIA_TYPE',
        /got application\/x-www-form-urlencoded/,
      ],
      [
        'bad JSON',
        await post('/licences/v1/activate', { body: '{"token":', headers: json }),
        400,
        'MALFORMED',
        /not valid JSON/,
      ],
      [
        'array',
        await post('/licences/v1/release', { body: '[]', headers: json }),
        400,
        'MALFORMED',
        /JSON object/,
      ],
      [
        'no token',
        await post('/licences/v1/activate', { body: '{"instanceId":"a"}', headers: json }),
        400,
        'MALFORMED',
        /^token: the licence text is required/,
      ],
      [
        'instance with spaces',
        await post('/licences/v1/activate', {
          body: JSON.stringify({ token, instanceId: 'my vm' }),
          headers: json,
        }),
        400,
        'MALFORMED',
        /^instanceId: /,
      ],
      [
        'not a licence',
        await post('/licences/v1/activate', {
          body: JSON.stringify({ token: 'abc', instanceId: 'vm' }),
          headers: json,
        }),
        400,
        'MALFORMED',
        /not a licence/,
      ],
      [
        'too large',
        await post('/licences/v1/activate', {
          body: JSON.stringify({ token: 'x'.repeat(70_000), instanceId: 'vm' }),
          headers: json,
        }),
        413,
        'PAYLOAD_TOO_LARGE',
        /at most 65536 bytes/,
      ],
      [
        'unknown endpoint',
        await post('/licences/v1/transfer', { body: '{}', headers: json }),
        404,
        'NOT_FOUND',
        /no licence endpoint POST \/licences\/v1\/transfer/,
      ],
      [
        'GET on activate',
        await h.call('GET', '/licences/v1/activate', { token: null }),
        405,
        'METHOD_NOT_ALLOWED',
        /use POST/,
      ],
      [
        'bad provider id',
        await h.call('GET', '/licences/v1/keys/a%20b', { token: null }),
        400,
        'MALFORMED',
        /^providerId: /,
      ],
      [
        'provider without keys',
        await h.call('GET', `/licences/v1/keys/${h.b.providerId}`, { token: null }),
        404,
        'UNKNOWN_PROVIDER',
        /publishes no licence signing keys/,
      ],
    ];
    for (const [name, res, status, code, message] of cases) {
      expect(res.status, `${name}: ${res.text}`).toBe(status);
      expect(res.headers.get('content-type'), name).toMatch(/^application\/json/);
      expect(res.body.ok, name).toBe(false);
      expect(res.body.code, name).toBe(code);
      expect(res.body.message, name).toMatch(message);
    }
    const get = await h.call('GET', '/licences/v1/activate', { token: null });
    expect(get.headers.get('allow')).toBe('POST');
  });

  it('public endpoints: a tampered token is refused as TAMPERED; extra fields are ignored', async () => {
    const [head, payload, sig] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    claims.deployments = 1000;
    const forged = `${head}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${sig}`;
    const res = await h.call('POST', '/licences/v1/activate', {
      token: null,
      body: { token: forged, instanceId: 'vm-x' },
    });
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ ok: false, code: 'TAMPERED' });
    const ok = await h.call('POST', '/licences/v1/activate', {
      token: null,
      body: { token, instanceId: 'vm-x', agent: 'tollgate/2.0' },
    });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body).toMatchObject({ ok: true, licenceId });
  });

  it('lists every licence route in GET /admin/v1/openapi.json', async () => {
    const res = await h.call('GET', '/admin/v1/openapi.json', { token: null });
    expect(res.status).toBe(200);
    const paths = res.body.paths as Record<string, Record<string, unknown>>;
    const expected: Array<[string, string]> = [
      ['/admin/v1/licences', 'post'],
      ['/admin/v1/licences', 'get'],
      ['/admin/v1/licences/{id}', 'get'],
      ['/admin/v1/licences/{id}/file', 'get'],
      ['/admin/v1/licences/{id}/renew', 'post'],
      ['/admin/v1/licences/{id}/revoke', 'post'],
      ['/admin/v1/licences/{id}/deployments', 'post'],
      ['/admin/v1/licences/{id}/activations', 'get'],
      ['/admin/v1/licences/{id}/timeline', 'get'],
      ['/admin/v1/licence-keys', 'get'],
      ['/admin/v1/licence-keys/rotate', 'post'],
      ['/admin/v1/licence-keys/{kid}/retire', 'post'],
    ];
    for (const [path, method] of expected) expect(paths[path]?.[method], `${method} ${path}`).toBeDefined();
    const file = paths['/admin/v1/licences/{id}/file']!.get as {
      responses: Record<string, { content: object }>;
    };
    expect(Object.keys(file.responses['200']!.content)).toEqual(['application/jwt']);
    expect(res.body.components.schemas.LicenceIssue.properties.deployments.description).toMatch(
      /deployments/,
    );
    expect(res.body.components.schemas.LicenceIssue.additionalProperties).toBe(false);
    // Public (unauthenticated) endpoints are not admin routes.
    expect(Object.keys(paths).some((p) => p.startsWith('/licences/v1'))).toBe(false);
  });
});

describe('licence public endpoints when the provider itself is broken', () => {
  it('answers 500 INTERNAL in JSON (a deployment rides that out on its offline grace)', async () => {
    const store = await sqliteStore.open();
    const errors: unknown[] = [];
    const log = { ...silentLogger, error: (o: unknown) => void errors.push(o) } as unknown as Logger;
    const licences = createLicences({ store, clock: new ManualClock(T0), log: silentLogger, secret: SECRET });
    const app = licencePublicApp(licences, { log });
    await store.close();
    const res = await app.request('/licences/v1/keys/prv_acme');
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({
      ok: false,
      code: 'INTERNAL',
      message: 'internal error at the licence provider; try again later',
    });
    expect(errors).toHaveLength(1);
  });
});
