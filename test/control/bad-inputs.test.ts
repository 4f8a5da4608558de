/**
 * A battery of bad admin requests. Each must answer 4xx application/problem+json naming the
 * field at fault (where there is one), and leave every table exactly as it was.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testStores } from '../helpers/stores.js';
import { type Harness, startHarness } from './harness.js';

const TABLES = [
  'providers',
  'apis',
  'routes',
  'plans',
  'consumers',
  'subscriptions',
  'api_keys',
  'quota_adjustments',
  'admin_tokens',
  'audit_log',
] as const;

interface Case {
  name: string;
  method: string;
  path: string;
  body?: unknown;
  raw?: string;
  headers?: Record<string, string>;
  token?: string | null;
  status: number;
  code: string;
  field?: string;
}

for (const kind of await testStores()) {
  describe(`admin API bad inputs on ${kind.name}`, () => {
    let h: Harness;
    let providerId: string;
    let apiId: string;
    let planId: string;
    let consumerId: string;
    let subId: string;
    let keyId: string;

    async function counts(): Promise<Record<string, number>> {
      const out: Record<string, number> = {};
      for (const t of TABLES) {
        const r = await h.store.db
          .selectFrom(t)
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow();
        out[t] = Number(r.n);
      }
      return out;
    }

    beforeAll(async () => {
      h = await startHarness(kind);
      providerId = (await h.call('POST', '/admin/v1/providers', { body: { name: 'P' } })).body.id;
      const api = await h.call('POST', '/admin/v1/apis', {
        body: { providerId, name: 'A', upstreamUrl: 'http://127.0.0.1:1', pathPrefix: '/a' },
      });
      apiId = api.body.id;
      planId = (
        await h.call('POST', '/admin/v1/plans', { body: { providerId, name: 'Plan', apiIds: [apiId] } })
      ).body.id;
      consumerId = (await h.call('POST', '/admin/v1/consumers', { body: { providerId, name: 'C' } })).body.id;
      subId = (await h.call('POST', '/admin/v1/subscriptions', { body: { consumerId, planId } })).body.id;
      keyId = (await h.call('POST', '/admin/v1/keys', { body: { subscriptionId: subId } })).body.id;
    });
    afterAll(async () => {
      await h.close();
    });

    const api = (extra: Record<string, unknown>) => ({
      providerId,
      name: 'B',
      upstreamUrl: 'http://127.0.0.1:2',
      pathPrefix: '/b',
      ...extra,
    });
    const plan = (extra: Record<string, unknown>) => ({ providerId, name: 'Plan 2', ...extra });

    const cases = (): Case[] => [
      // auth
      {
        name: 'no token',
        method: 'GET',
        path: '/admin/v1/apis',
        token: null,
        status: 401,
        code: 'UNAUTHENTICATED',
      },
      {
        name: 'unknown token',
        method: 'GET',
        path: '/admin/v1/apis',
        token: 'tga_not-a-real-token-at-all-000000000000000',
        status: 401,
        code: 'UNAUTHENTICATED',
      },
      {
        name: 'basic auth instead of bearer',
        method: 'POST',
        path: '/admin/v1/providers',
        token: null,
        headers: { authorization: 'Basic dXNlcjpwYXNz' },
        body: { name: 'x' },
        status: 401,
        code: 'UNAUTHENTICATED',
      },
      // body framing
      {
        name: 'malformed JSON',
        method: 'POST',
        path: '/admin/v1/providers',
        raw: '{"name": "x",',
        headers: { 'content-type': 'application/json' },
        status: 400,
        code: 'BAD_JSON',
      },
      {
        name: 'form body',
        method: 'POST',
        path: '/admin/v1/providers',
        raw: 'name=x',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        status: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
      },
      {
        name: 'JSON without a content type',
        method: 'POST',
        path: '/admin/v1/providers',
        raw: '{"name":"x"}',
        headers: { 'content-type': '' },
        status: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
      },
      {
        name: 'oversized body',
        method: 'POST',
        path: '/admin/v1/apis',
        body: api({ openapi: { blob: 'x'.repeat(1024 * 1024) } }),
        status: 413,
        code: 'PAYLOAD_TOO_LARGE',
      },
      {
        name: 'array body',
        method: 'POST',
        path: '/admin/v1/providers',
        body: [1],
        status: 400,
        code: 'VALIDATION_FAILED',
      },
      // providers
      {
        name: 'missing name',
        method: 'POST',
        path: '/admin/v1/providers',
        body: {},
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'name',
      },
      {
        name: 'name wrong type',
        method: 'POST',
        path: '/admin/v1/providers',
        body: { name: 7 },
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'name',
      },
      {
        name: 'name too long',
        method: 'POST',
        path: '/admin/v1/providers',
        body: { name: 'n'.repeat(201) },
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'name',
      },
      {
        name: 'unknown field',
        method: 'POST',
        path: '/admin/v1/providers',
        body: { name: 'x', admin: true },
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'admin',
      },
      // apis
      {
        name: 'ftp upstream',
        method: 'POST',
        path: '/admin/v1/apis',
        body: api({ upstreamUrl: 'ftp://x.example' }),
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'upstreamUrl',
      },
      {
        name: 'relative upstream',
        method: 'POST',
        path: '/admin/v1/apis',
        body: api({ upstreamUrl: '/just/a/path' }),
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'upstreamUrl',
      },
      {
        name: 'upstream with credentials',
        method: 'POST',
        path: '/admin/v1/apis',
        body: api({ upstreamUrl: 'https://u:p@x.example' }),
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'upstreamUrl',
      },
      {
        name: 'prefix without slash',
        method: 'POST',
        path: '/admin/v1/apis',
        body: api({ pathPrefix: 'b' }),
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'pathPrefix',
      },
      {
        name: 'prefix with ..',
        method: 'POST',
        path: '/admin/v1/apis',
        body: api({ pathPrefix: '/b/../c' }),
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'pathPrefix',
      },
      {
        name: 'bad host',
        method: 'POST',
        path: '/admin/v1/apis',
        body: api({ host: 'not a host!' }),
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'host',
      },
      {
        name: 'clashing prefix',
        method: 'POST',
        path: '/admin/v1/apis',
        body: api({ pathPrefix: '/a' }),
        status: 409,
        code: 'CONFLICT',
        field: 'pathPrefix',
      },
      {
        name: 'absurd timeout',
        method: 'POST',
        path: '/admin/v1/apis',
        body: api({ timeoutMs: 1e9 }),
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'timeoutMs',
      },
      {
        name: 'bad route path',
        method: 'POST',
        path: '/admin/v1/apis',
        body: api({ routes: [{ path: '/ok' }, { path: 'no-slash' }] }),
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'routes[1].path',
      },
      {
        name: 'greedy not last',
        method: 'POST',
        path: '/admin/v1/apis',
        body: api({ routes: [{ path: '/{x+}/more' }] }),
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'routes[0].path',
      },
      {
        name: 'bad method',
        method: 'POST',
        path: '/admin/v1/apis',
        body: api({ routes: [{ method: 'FETCH', path: '/x' }] }),
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'routes[0].method',
      },
      {
        name: 'bad dimension',
        method: 'POST',
        path: '/admin/v1/apis',
        body: api({ routes: [{ path: '/x', dimension: 'Bad-Dim' }] }),
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'routes[0].dimension',
      },
      {
        name: 'fractional units',
        method: 'POST',
        path: '/admin/v1/apis',
        body: api({ routes: [{ path: '/x', units: 1.5 }] }),
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'routes[0].units',
      },
      {
        name: 'negative route burst',
        method: 'POST',
        path: '/admin/v1/apis',
        body: api({ routes: [{ path: '/x', throttle: { rateLimit: 1, burstLimit: -1 } }] }),
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'routes[0].throttle.burstLimit',
      },
      {
        name: 'unknown route field',
        method: 'POST',
        path: '/admin/v1/apis',
        body: api({ routes: [{ path: '/x', weight: 3 }] }),
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'routes[0].weight',
      },
      {
        name: 'foreign route id on update',
        method: 'PATCH',
        path: `/admin/v1/apis/${apiId}`,
        body: { routes: [{ id: 'rte_01ABCDEFGHJKMNPQRSTVWXYZ00', path: '/x' }] },
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'routes[0].id',
      },
      // plans
      {
        name: 'negative rate',
        method: 'POST',
        path: '/admin/v1/plans',
        body: plan({ throttle: { rateLimit: -5, burstLimit: 10 } }),
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'throttle.rateLimit',
      },
      {
        name: 'absurd rate',
        method: 'POST',
        path: '/admin/v1/plans',
        body: plan({ throttle: { rateLimit: 1e7, burstLimit: 10 } }),
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'throttle.rateLimit',
      },
      {
        name: 'absurd burst',
        method: 'POST',
        path: '/admin/v1/plans',
        body: plan({ throttle: { rateLimit: 5, burstLimit: 1e8 } }),
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'throttle.burstLimit',
      },
      {
        name: 'rate as string',
        method: 'POST',
        path: '/admin/v1/plans',
        body: plan({ throttle: { rateLimit: '5', burstLimit: 10 } }),
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'throttle.rateLimit',
      },
      {
        name: 'negative quota',
        method: 'POST',
        path: '/admin/v1/plans',
        body: plan({ quota: { limit: -1, period: 'DAY' } }),
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'quota.limit',
      },
      {
        name: 'absurd quota',
        method: 'POST',
        path: '/admin/v1/plans',
        body: plan({ quota: { limit: 1e13, period: 'DAY' } }),
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'quota.limit',
      },
      {
        name: 'offset over limit',
        method: 'POST',
        path: '/admin/v1/plans',
        body: plan({ quota: { limit: 10, period: 'DAY', offset: 11 } }),
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'quota.offset',
      },
      {
        name: 'bad period',
        method: 'POST',
        path: '/admin/v1/plans',
        body: plan({ quota: { limit: 10, period: 'YEAR' } }),
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'quota.period',
      },
      {
        name: 'bad time zone',
        method: 'POST',
        path: '/admin/v1/plans',
        body: plan({ quota: { limit: 10, period: 'DAY', timeZone: 'Mars/Olympus' } }),
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'quota.timeZone',
      },
      {
        name: 'offset time zone',
        method: 'POST',
        path: '/admin/v1/plans',
        body: plan({ quota: { limit: 10, period: 'DAY', timeZone: '+05:00' } }),
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'quota.timeZone',
      },
      {
        name: 'bad overQuota',
        method: 'POST',
        path: '/admin/v1/plans',
        body: plan({ overQuota: 'ignore' }),
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'overQuota',
      },
      {
        name: 'unknown api id',
        method: 'POST',
        path: '/admin/v1/plans',
        body: plan({ apiIds: ['api_01ABCDEFGHJKMNPQRSTVWXYZ00'] }),
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'apiIds[0]',
      },
      {
        name: 'override for unknown route',
        method: 'POST',
        path: '/admin/v1/plans',
        body: plan({ apiIds: [apiId], routeThrottles: { rte_nope: { rateLimit: 1, burstLimit: 1 } } }),
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'routeThrottles.rte_nope',
      },
      {
        name: 'operator without providerId',
        method: 'POST',
        path: '/admin/v1/plans',
        body: { name: 'x' },
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'providerId',
      },
      {
        name: 'unknown provider',
        method: 'POST',
        path: '/admin/v1/plans',
        body: plan({ providerId: 'prv_01ABCDEFGHJKMNPQRSTVWXYZ00' }),
        status: 404,
        code: 'NOT_FOUND',
        field: 'providerId',
      },
      // consumers, subscriptions
      {
        name: 'bad email',
        method: 'POST',
        path: '/admin/v1/consumers',
        body: { providerId, name: 'x', email: 'not-an-email' },
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'email',
      },
      {
        name: 'unknown plan',
        method: 'POST',
        path: '/admin/v1/subscriptions',
        body: { consumerId, planId: 'pln_01ABCDEFGHJKMNPQRSTVWXYZ00' },
        status: 404,
        code: 'NOT_FOUND',
        field: 'planId',
      },
      {
        name: 'bad status',
        method: 'PATCH',
        path: `/admin/v1/subscriptions/${subId}`,
        body: { status: 'paused' },
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'status',
      },
      {
        name: 'illegal transition',
        method: 'PATCH',
        path: `/admin/v1/subscriptions/${subId}`,
        body: { status: 'pending' },
        status: 409,
        code: 'INVALID_STATE',
        field: 'status',
      },
      {
        name: 'quota on a plan without one',
        method: 'POST',
        path: `/admin/v1/subscriptions/${subId}/quota`,
        body: { delta: 5, reason: 'x' },
        status: 409,
        code: 'INVALID_STATE',
      },
      {
        name: 'quota without reason',
        method: 'POST',
        path: `/admin/v1/subscriptions/${subId}/quota`,
        body: { delta: 5 },
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'reason',
      },
      // keys
      {
        name: 'key for unknown subscription',
        method: 'POST',
        path: '/admin/v1/keys',
        body: { subscriptionId: 'sub_01ABCDEFGHJKMNPQRSTVWXYZ00' },
        status: 404,
        code: 'NOT_FOUND',
        field: 'subscriptionId',
      },
      {
        name: 'key expiring in the past',
        method: 'POST',
        path: '/admin/v1/keys',
        body: { subscriptionId: subId, expiresAt: '2020-01-01T00:00:00Z' },
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'expiresAt',
      },
      {
        name: 'key expiry not a date',
        method: 'POST',
        path: '/admin/v1/keys',
        body: { subscriptionId: subId, expiresAt: 'tomorrow' },
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'expiresAt',
      },
      {
        name: 'grace over 30 days',
        method: 'POST',
        path: `/admin/v1/keys/${keyId}/roll`,
        body: { graceSeconds: 31 * 86400 },
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'graceSeconds',
      },
      {
        name: 'negative grace',
        method: 'POST',
        path: `/admin/v1/keys/${keyId}/roll`,
        body: { graceSeconds: -1 },
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'graceSeconds',
      },
      {
        name: 'import too short',
        method: 'POST',
        path: '/admin/v1/keys:import',
        body: { subscriptionId: subId, value: 'short' },
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'value',
      },
      // tokens, lists, routing
      {
        name: 'provider token without provider',
        method: 'POST',
        path: '/admin/v1/tokens',
        body: { name: 't', scope: 'provider' },
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'providerId',
      },
      {
        name: 'bad scope',
        method: 'POST',
        path: '/admin/v1/tokens',
        body: { name: 't', scope: 'root' },
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'scope',
      },
      {
        name: 'page too big',
        method: 'GET',
        path: '/admin/v1/plans?limit=100000',
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'limit',
      },
      {
        name: 'page not a number',
        method: 'GET',
        path: '/admin/v1/plans?limit=ten',
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'limit',
      },
      {
        name: 'unknown id',
        method: 'GET',
        path: '/admin/v1/plans/pln_01ABCDEFGHJKMNPQRSTVWXYZ00',
        status: 404,
        code: 'NOT_FOUND',
      },
      {
        name: 'wrong method',
        method: 'PUT',
        path: `/admin/v1/plans/${planId}`,
        body: { name: 'x' },
        status: 405,
        code: 'METHOD_NOT_ALLOWED',
      },
      { name: 'unknown route', method: 'GET', path: '/admin/v1/widgets', status: 404, code: 'NOT_FOUND' },
    ];

    it('answers each with a 4xx problem naming the field, and writes nothing', async () => {
      const before = await counts();
      for (const c of cases()) {
        const r = await h.call(c.method, c.path, {
          body: c.body,
          raw: c.raw,
          token: c.token,
          headers: c.headers,
        });
        expect(r.status, c.name).toBe(c.status);
        expect(r.headers.get('content-type'), c.name).toMatch(/^application\/problem\+json/);
        expect(r.headers.get('x-request-id'), c.name).toBeTruthy();
        expect(r.body, c.name).toMatchObject({
          status: c.status,
          code: c.code,
          requestId: r.headers.get('x-request-id'),
        });
        expect(typeof r.body.type, c.name).toBe('string');
        expect(typeof r.body.title, c.name).toBe('string');
        expect(typeof r.body.detail, c.name).toBe('string');
        if (c.field)
          expect(
            r.body.errors.map((e: { field: string }) => e.field),
            c.name,
          ).toContain(c.field);
      }
      expect(await counts()).toEqual(before);
    });

    it('leaves an API and its routes untouched when a route update fails half-way', async () => {
      const before = await h.call('GET', `/admin/v1/apis/${apiId}`);
      const r = await h.call('PATCH', `/admin/v1/apis/${apiId}`, {
        body: { name: 'renamed', routes: [{ path: '/one' }, { path: '/one' }] },
      });
      expect(r.status).toBe(400);
      expect(r.body.errors[0].field).toBe('routes[1].path');
      expect((await h.call('GET', `/admin/v1/apis/${apiId}`)).body).toEqual(before.body);
    });

    it('keeps a chunked body over 1 MiB out too', async () => {
      const chunk = new TextEncoder().encode('x'.repeat(64 * 1024));
      let sent = 0;
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent >= 20) return controller.close();
          sent++;
          controller.enqueue(chunk);
        },
      });
      const res = await fetch(`${h.url}/admin/v1/providers`, {
        method: 'POST',
        headers: { authorization: `Bearer ${h.operator}`, 'content-type': 'application/json' },
        body: stream,
        duplex: 'half',
      } as RequestInit);
      expect(res.status).toBe(413);
      expect(((await res.json()) as { code: string }).code).toBe('PAYLOAD_TOO_LARGE');
    });
  });
}
