/**
 * The OpenAPI document is generated from the very schemas that validate requests: check it
 * is well-formed 3.1, that it lists every route the app serves (derived from the router,
 * not from a hand-kept list), that every $ref resolves, and that a module plugging routes
 * in through `extraRoutes` shows up in it and gets the same auth and error handling.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Catalog, createCatalog } from '../../src/catalog/index.js';
import { createControlApp, json, jsonBody, OPENAPI_PATH, problems } from '../../src/control/index.js';
import { ManualClock, silentLogger, TollgateError } from '../../src/shared/index.js';
import type { Store } from '../../src/store/index.js';
import { testOutbound } from '../helpers/outbound.js';
import { sqliteStore } from '../helpers/stores.js';

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];
// biome-ignore lint/suspicious/noExplicitAny: a parsed JSON document, inspected loosely
type Json = any;

describe('admin API OpenAPI document', () => {
  let store: Store;
  let catalog: Catalog;
  let app: ReturnType<typeof createControlApp>;
  let operator: string;

  beforeAll(async () => {
    store = await sqliteStore.open();
    const clock = new ManualClock();
    catalog = createCatalog({ outbound: testOutbound(), store, clock, log: silentLogger });
    operator = (await catalog.bootstrapOperatorToken()).value!;
    app = createControlApp({
      catalog,
      log: silentLogger,
      clock,
      extraRoutes: [
        (api) => {
          api.openapi(
            createRoute({
              method: 'post',
              path: '/widgets/{id}/polish',
              tags: ['widgets'],
              request: {
                params: z.object({ id: z.string().max(10) }),
                ...jsonBody(z.strictObject({ shine: z.number().int().min(1).max(10) })),
              },
              responses: { 200: json(z.object({ id: z.string(), by: z.string() }), 'Polished'), ...problems },
            }),
            (c) => {
              if (c.req.valid('param').id === 'gone') throw new TollgateError('NOT_FOUND', 'no widget gone');
              return c.json({ id: c.req.valid('param').id, by: c.var.actor.id }, 200);
            },
          );
        },
      ],
    });
  });
  afterAll(async () => {
    await store.close();
  });

  it('is OpenAPI 3.1 with every served path and method, and every $ref resolves', async () => {
    const res = await app.request(OPENAPI_PATH);
    expect(res.status).toBe(200);
    const doc: Json = await res.json();
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.title).toBeTruthy();
    expect(doc.components.securitySchemes.adminToken).toMatchObject({ type: 'http', scheme: 'bearer' });

    const served = new Set(
      app.routes
        .filter((r) => METHODS.includes(r.method.toLowerCase()) && r.path !== OPENAPI_PATH)
        .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/\/:([A-Za-z]+)/g, '/{$1}')}`),
    );
    const documented = new Set<string>();
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
      for (const m of Object.keys(ops)) if (METHODS.includes(m)) documented.add(`${m} ${path}`);
    }
    expect(served.size).toBeGreaterThan(25);
    expect([...documented].sort()).toEqual([...served].sort());
    expect(documented).toContain('post /admin/v1/keys:import');
    expect(documented).toContain('post /admin/v1/keys/{id}/roll');
    expect(documented).toContain('post /admin/v1/subscriptions/{id}/quota');

    for (const [path, ops] of Object.entries(
      doc.paths as Record<string, Record<string, { responses: object }>>,
    )) {
      for (const [m, op] of Object.entries(ops)) {
        expect(Object.keys(op.responses).length, `${m} ${path}`).toBeGreaterThan(1);
      }
    }
    const refs = JSON.stringify(doc).match(/"\$ref":"#\/components\/schemas\/[^"]+"/g) ?? [];
    expect(refs.length).toBeGreaterThan(20);
    for (const ref of refs) {
      const name = ref.slice(ref.lastIndexOf('/') + 1, -1);
      expect(doc.components.schemas[name], name).toBeDefined();
    }
    // Request schemas are the validating ones: strict, bounded.
    const plan = doc.components.schemas.PlanCreate;
    expect(plan.additionalProperties).toBe(false);
    expect(plan.properties.quota.properties.limit.maximum).toBe(1e12);
  });

  it('serves routes plugged in through extraRoutes with the same auth, validation and errors', async () => {
    const call = (path: string, body: unknown, token: string | null = operator) =>
      app.request(path, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify(body),
      });
    const ok = await call('/admin/v1/widgets/w1/polish', { shine: 3 });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as Json).by).toMatch(/^tok_/);
    expect((await call('/admin/v1/widgets/w1/polish', { shine: 3 }, null)).status).toBe(401);
    const bad = await call('/admin/v1/widgets/w1/polish', { shine: 11, extra: 1 });
    expect(bad.status).toBe(400);
    const problem: Json = await bad.json();
    expect(problem.errors.map((e: { field: string }) => e.field).sort()).toEqual(['extra', 'shine']);
    const gone = await call('/admin/v1/widgets/gone/polish', { shine: 1 });
    expect(gone.status).toBe(404);
    expect(gone.headers.get('content-type')).toBe('application/problem+json');
    const doc: Json = await (await app.request(OPENAPI_PATH)).json();
    expect(doc.paths['/admin/v1/widgets/{id}/polish'].post).toBeDefined();
  });

  it('echoes a sane x-request-id, in the header and in problems, and replaces an unsafe one', async () => {
    const auth = { authorization: `Bearer ${operator}` };
    const mine = await app.request('/admin/v1/providers', {
      headers: { ...auth, 'x-request-id': 'trace-42.a' },
    });
    expect(mine.headers.get('x-request-id')).toBe('trace-42.a');
    const missing = await app.request('/admin/v1/plans/pln_nope', {
      headers: { ...auth, 'x-request-id': 'trace-43' },
    });
    expect(missing.headers.get('x-request-id')).toBe('trace-43');
    expect(((await missing.json()) as Json).requestId).toBe('trace-43');
    const unsafe = await app.request('/admin/v1/providers', {
      headers: { ...auth, 'x-request-id': 'a b<script>' },
    });
    expect(unsafe.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});
