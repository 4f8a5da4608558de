/**
 * A battery of bad admin requests. Each must answer 4xx application/problem+json naming the
 * field at fault (where there is one), and leave every table exactly as it was.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testStores } from '../helpers/stores.js';
import { badCases } from './bad-cases.js';
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

    it('answers each with a 4xx problem naming the field, and writes nothing', async () => {
      const before = await counts();
      for (const c of badCases({ providerId, apiId, planId, consumerId, subId, keyId })) {
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
