/** The OpenAPI documents and the Tollgate route lists describe the same routes, and refs resolve. */
import { describe, expect, it } from 'vitest';
import {
  captureOpenApi,
  captureRoutes,
  nounsOpenApi,
  nounsRoutes,
  type TollgateRoute,
} from '../../src/apis/index.js';

function refs(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) for (const n of node) refs(n, out);
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else refs(v, out);
    }
  }
  return out;
}

function resolve(doc: object, ref: string): unknown {
  expect(ref.startsWith('#/')).toBe(true);
  return ref
    .slice(2)
    .split('/')
    .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], doc);
}

describe.each([
  ['capture', captureOpenApi, captureRoutes, 'captures'],
  ['nouns', nounsOpenApi, nounsRoutes, 'characters'],
] as const)('%s API description', (_name, doc, routes: readonly TollgateRoute[], dimension) => {
  it('is OpenAPI 3.1 and every $ref resolves', () => {
    expect(doc.openapi).toBe('3.1.0');
    for (const ref of refs(doc)) expect(resolve(doc, ref), ref).toBeDefined();
  });

  it('lists exactly the documented operations as routes, metering only the paid ones', () => {
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(routes.map((r) => `${r.method} ${r.path}`).sort()).toEqual(documented.sort());
    for (const r of routes) {
      if (r.public) expect(r.units).toBe(0);
      else expect(r).toMatchObject({ dimension, units: 1 });
    }
  });
});
