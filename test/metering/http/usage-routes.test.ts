/**
 * The usage admin routes on a real socket over a real store (SQLite and PostgreSQL): two
 * providers, each with a plan, a subscription and a key; hourly usage seeded straight into
 * the `usage` table; an operator token and provider A's token.
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, type Catalog, createCatalog, SYSTEM } from '../../../src/catalog/index.js';
import { createControlApp } from '../../../src/control/index.js';
import { usageAdminRoutes } from '../../../src/metering/http/index.js';
import { ManualClock, silentLogger } from '../../../src/shared/index.js';
import type { Store } from '../../../src/store/index.js';
import { testOutbound } from '../../helpers/outbound.js';
import { testStores } from '../../helpers/stores.js';

const Z = (s: string) => Date.parse(s);

async function provision(catalog: Catalog, name: string) {
  const provider = await catalog.providers.create(SYSTEM, { name });
  const api = await catalog.apis.create(SYSTEM, {
    providerId: provider.id,
    name: `${name} api`,
    upstreamUrl: 'http://127.0.0.1:9/',
    pathPrefix: `/${name.toLowerCase()}`,
  });
  const plan = await catalog.plans.create(SYSTEM, {
    providerId: provider.id,
    name: `${name} basic`,
    apiIds: [api.id],
    quota: { limit: 1000, period: 'DAY' },
  });
  const consumer = await catalog.consumers.create(SYSTEM, { providerId: provider.id, name: `${name} buyer` });
  const sub = await catalog.subscriptions.create(SYSTEM, { consumerId: consumer.id, planId: plan.id });
  const key = await catalog.keys.create(SYSTEM, { subscriptionId: sub.id });
  return { providerId: provider.id, apiId: api.id, planId: plan.id, subId: sub.id, keyId: key.id };
}

type P = Awaited<ReturnType<typeof provision>>;

async function seedUsage(
  store: Store,
  p: P,
  hour: string,
  requests: number,
  dimension = 'requests',
  units = requests,
) {
  await store.db
    .insertInto('usage')
    .values({
      subscription_id: p.subId,
      key_id: p.keyId,
      api_id: p.apiId,
      dimension,
      hour: Z(hour),
      units,
      requests,
    })
    .execute();
}

for (const kind of await testStores()) {
  describe(`usage admin routes on ${kind.name}`, () => {
    let store: Store;
    let catalog: Catalog;
    let server: ReturnType<typeof serve>;
    let url: string;
    let operator: string;
    let providerToken: string;
    let providerTokenId: string;
    let a: P;
    let b: P;
    const clock = new ManualClock(Z('2026-11-26T12:00:00Z'));

    async function get(path: string, token = operator) {
      const res = await fetch(`${url}/admin/v1${path}`, { headers: { authorization: `Bearer ${token}` } });
      const text = await res.text();
      const isJson = (res.headers.get('content-type') ?? '').includes('json');
      return { status: res.status, headers: res.headers, text, body: isJson ? JSON.parse(text) : null };
    }
    async function post(path: string, body: unknown, token = operator) {
      clock.advance(1); // distinct ids (time-sorted) for each write
      const res = await fetch(`${url}/admin/v1${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      // biome-ignore lint/suspicious/noExplicitAny: test bodies are inspected loosely
      return { status: res.status, body: (await res.json()) as any };
    }

    beforeAll(async () => {
      store = await kind.open();
      catalog = createCatalog({ outbound: testOutbound(), store, clock, log: silentLogger });
      a = await provision(catalog, 'Alpha');
      b = await provision(catalog, 'Beta');
      await seedUsage(store, a, '2026-11-25T10:00:00Z', 5);
      await seedUsage(store, a, '2026-11-26T09:00:00Z', 7);
      await seedUsage(store, a, '2026-11-26T09:00:00Z', 0, 'chars', 3000);
      await seedUsage(store, b, '2026-11-26T09:00:00Z', 11);
      await store.db
        .insertInto('rejections')
        .values([
          {
            api_id: a.apiId,
            route_id: '',
            subscription_id: a.subId,
            key_id: a.keyId,
            code: 'THROTTLED',
            hour: Z('2026-11-26T09:00:00Z'),
            count: 3,
          },
          {
            api_id: a.apiId,
            route_id: '',
            subscription_id: '',
            key_id: '',
            code: 'FORBIDDEN',
            hour: Z('2026-11-26T10:00:00Z'),
            count: 2,
          },
          {
            api_id: b.apiId,
            route_id: '',
            subscription_id: b.subId,
            key_id: b.keyId,
            code: 'QUOTA_EXCEEDED',
            hour: Z('2026-11-26T09:00:00Z'),
            count: 4,
          },
        ])
        .execute();
      operator = (await catalog.bootstrapOperatorToken()).value!;
      const op: Actor = { kind: 'operator', id: 'test' };
      const t = await catalog.tokens.create(op, {
        name: 'alpha',
        scope: 'provider',
        providerId: a.providerId,
      });
      providerToken = t.value;
      providerTokenId = t.id;
      const app = createControlApp({
        catalog,
        log: silentLogger,
        clock,
        extraRoutes: [usageAdminRoutes({ store, clock, catalog })],
      });
      server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
      await new Promise<void>((r) => server.once('listening', () => r()));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    afterAll(async () => {
      await new Promise<void>((r) => server.close(() => r()));
      await store.close();
    });

    it('documents its routes in the admin OpenAPI document', async () => {
      const doc = await get('/openapi.json');
      expect(Object.keys(doc.body.paths)).toEqual(
        expect.arrayContaining([
          '/admin/v1/usage',
          '/admin/v1/usage/rejections',
          '/admin/v1/subscriptions/{id}/quota',
          '/admin/v1/usageplans/{planId}/usage',
        ]),
      );
      expect(Object.keys(doc.body.paths['/admin/v1/usage'].get.responses['200'].content)).toEqual([
        'application/json',
        'text/csv',
      ]);
    });

    it('the operator sees every subscription, per day and subscription', async () => {
      const r = await get('/usage?from=2026-11-25&to=2026-11-27&groupBy=subscription');
      expect(r.status).toBe(200);
      expect(r.body.granularity).toBe('day');
      const rows = r.body.items.map((i: Record<string, unknown>) => [
        i.period,
        i.subscriptionId,
        i.requests,
        i.units,
      ]);
      expect(rows).toEqual(
        [
          ['2026-11-25T00:00:00.000Z', a.subId, 5, 5],
          ['2026-11-26T00:00:00.000Z', a.subId, 7, 3007],
          ['2026-11-26T00:00:00.000Z', b.subId, 11, 11],
        ].sort(
          (x, y) => String(x[0]).localeCompare(String(y[0])) || String(x[1]).localeCompare(String(y[1])),
        ),
      );
    });

    it('a provider token sees only its own subscriptions; naming another is 404', async () => {
      const r = await get(
        '/usage?from=2026-11-25&to=2026-11-27&groupBy=subscription,dimension',
        providerToken,
      );
      expect(r.status).toBe(200);
      expect(new Set(r.body.items.map((i: { subscriptionId: string }) => i.subscriptionId))).toEqual(
        new Set([a.subId]),
      );
      expect(r.body.items).toHaveLength(3);
      expect((await get(`/usage?from=2026-11-25&subscriptionId=${b.subId}`, providerToken)).status).toBe(404);
      expect((await get(`/usage?from=2026-11-25&keyId=${b.keyId}`, providerToken)).status).toBe(404);
      expect((await get(`/usage/rejections?from=2026-11-25&apiId=${b.apiId}`, providerToken)).status).toBe(
        404,
      );
    });

    it('buckets by hour, and by day in a time zone', async () => {
      const h = await get(
        '/usage?from=2026-11-26T00:00:00Z&to=2026-11-26T12:00:00Z&granularity=hour&dimension=requests',
      );
      expect(h.body.items).toEqual([
        {
          period: '2026-11-26T09:00:00.000Z',
          periodStart: Z('2026-11-26T09:00:00Z'),
          units: 18,
          requests: 18,
        },
      ]);
      // 2026-11-25T10:00Z is 05:00 in New York on the 25th; 2026-11-26T09:00Z is 04:00 on the 26th.
      const ny = await get(
        '/usage?from=2026-11-25&to=2026-11-27&timeZone=America/New_York&dimension=requests',
      );
      expect(ny.body.items.map((i: { period: string; requests: number }) => [i.period, i.requests])).toEqual([
        ['2026-11-25T05:00:00.000Z', 5],
        ['2026-11-26T05:00:00.000Z', 18],
      ]);
    });

    it('exports CSV with a filename', async () => {
      const r = await get(
        '/usage?from=2026-11-25&to=2026-11-27&groupBy=key,dimension&format=csv',
        providerToken,
      );
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toBe('text/csv; charset=utf-8');
      expect(r.headers.get('content-disposition')).toBe(
        'attachment; filename="usage-20261125T0000-20261127T0000.csv"',
      );
      expect(r.text.split('\r\n')).toEqual([
        'period,keyId,dimension,units,requests',
        `2026-11-25T00:00:00.000Z,${a.keyId},requests,5,5`,
        `2026-11-26T00:00:00.000Z,${a.keyId},chars,3000,0`,
        `2026-11-26T00:00:00.000Z,${a.keyId},requests,7,7`,
        '',
      ]);
    });

    it('reports rejections, scoped to the provider’s APIs (unknown keys included)', async () => {
      const op = await get('/usage/rejections?from=2026-11-26&groupBy=code');
      expect(op.body.items.map((i: { code: string; count: number }) => [i.code, i.count])).toEqual([
        ['FORBIDDEN', 2],
        ['QUOTA_EXCEEDED', 4],
        ['THROTTLED', 3],
      ]);
      const mine = await get('/usage/rejections?from=2026-11-26&groupBy=code&format=csv', providerToken);
      expect(mine.text).toBe(
        'period,code,count\r\n2026-11-26T00:00:00.000Z,FORBIDDEN,2\r\n2026-11-26T00:00:00.000Z,THROTTLED,3\r\n',
      );
    });

    it('refuses bad queries with a 400 naming the field', async () => {
      const cases: Array<[string, string]> = [
        ['/usage', 'from'],
        ['/usage?from=yesterday', 'from'],
        ['/usage?from=2026-11-26&to=2026-11-25', 'to'],
        ['/usage?from=2026-11-26&to=2026-11-26', 'to'],
        ['/usage?from=2025-01-01&to=2026-11-01&granularity=hour', 'to'],
        ['/usage?from=2026-11-01&timeZone=Mars/Olympus', 'timeZone'],
        ['/usage?from=2026-11-01&granularity=week', 'granularity'],
        ['/usage?from=2026-11-01&groupBy=key,colour', 'groupBy'],
        ['/usage?from=2026-11-01&groupBy=key,key', 'groupBy'],
        ['/usage?from=2026-11-01&format=xml', 'format'],
        ['/usage?from=2026-11-01&colour=red', 'colour'],
        ['/usage/rejections?from=2026-11-01&groupBy=dimension', 'groupBy'],
        [`/usageplans/${a.planId}/usage?startDate=2026-11-01`, 'endDate'],
        [`/usageplans/${a.planId}/usage?startDate=2026-11-31&endDate=2026-12-01`, 'startDate'],
      ];
      for (const [path, field] of cases) {
        const r = await get(path);
        expect(r.status, path).toBe(400);
        expect(r.headers.get('content-type')).toBe('application/problem+json');
        expect(
          r.body.errors.map((e: { field: string }) => e.field),
          path,
        ).toContain(field);
      }
    });

    it('gives GetUsage per key per day for a plan', async () => {
      const r = await get(
        `/usageplans/${a.planId}/usage?startDate=2026-11-25&endDate=2026-11-26`,
        providerToken,
      );
      expect(r.status).toBe(200);
      expect(r.body).toEqual({
        usagePlanId: a.planId,
        startDate: '2026-11-25',
        endDate: '2026-11-26',
        values: {
          [a.keyId]: [
            [5, 995],
            [7, 993],
          ],
        },
      });
      expect(
        (await get(`/usageplans/${b.planId}/usage?startDate=2026-11-25&endDate=2026-11-26`, providerToken))
          .status,
      ).toBe(404);
    });

    it('shows the quota window and records audited adjustments (one endpoint: /quota)', async () => {
      const paths = Object.keys((await get('/openapi.json')).body.paths);
      expect(paths).not.toContain('/admin/v1/subscriptions/{id}/usage/quota');
      const q = await get(`/subscriptions/${a.subId}/quota`, providerToken);
      expect(q.status).toBe(200);
      expect(q.body).toEqual({
        subscriptionId: a.subId,
        period: 'DAY',
        timeZone: 'UTC',
        windowStart: '2026-11-26T00:00:00.000Z',
        windowEnd: '2026-11-27T00:00:00.000Z',
        limit: 1000,
        used: 7,
        remaining: 993,
        adjustments: 0,
      });
      const grant = await post(
        `/subscriptions/${a.subId}/quota`,
        { delta: 100, reason: 'outage credit' },
        providerToken,
      );
      expect(grant.status).toBe(200);
      expect(grant.body).toMatchObject({ limit: 1100, remaining: 1093, adjustments: 100 });

      const set = await post(`/subscriptions/${a.subId}/quota`, { remaining: 50, reason: 'abuse' });
      expect(set.body.remaining).toBe(50);
      const same = await post(`/subscriptions/${a.subId}/quota`, { remaining: 50, reason: 'again' });
      expect(same.body.remaining).toBe(50);

      const audit = await store.db
        .selectFrom('audit_log')
        .selectAll()
        .where('entity_id', '=', a.subId)
        .where('entity', '=', 'quota')
        .orderBy('id')
        .execute();
      expect(audit.map((r) => [r.actor, JSON.parse(r.after!).reason])).toEqual([
        [providerTokenId, 'outage credit'],
        [expect.stringMatching(/^tok_/), 'abuse'],
      ]);

      const both = await post(`/subscriptions/${a.subId}/quota`, { delta: 1, remaining: 1, reason: 'x' });
      expect(both.status).toBe(400);
      expect(both.body.errors[0].field).toBe('delta');
      const noReason = await post(`/subscriptions/${a.subId}/quota`, { delta: 1 });
      expect(noReason.body.errors[0].field).toBe('reason');
      const other = await post(`/subscriptions/${b.subId}/quota`, { delta: 1, reason: 'x' }, providerToken);
      expect(other.status).toBe(404);
      expect((await get(`/subscriptions/${b.subId}/quota`, providerToken)).status).toBe(404);
    });
  });
}
