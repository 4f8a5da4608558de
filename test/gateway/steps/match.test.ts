/** Steps before a route is known: the path check and the match (src/gateway/steps/match.ts). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTINUE, DENIED, Denial } from '../../../src/gateway/denial.js';
import { checkPath, type Match, route } from '../../../src/gateway/steps/match.js';
import { type StepFixture, stepFixture } from './fixture.js';

describe('steps: path check and route match', () => {
  let f: StepFixture;
  beforeAll(async () => {
    f = await stepFixture();
  });
  afterAll(async () => {
    await f.store.close();
  });

  const found = (host: string | undefined, method: string, url: string): Match => {
    const m = route(f.snapshot, host, method, url);
    if (m instanceof Denial) throw new Error(`${method} ${url}: ${m.status}`);
    return m;
  };

  it('checkPath: continues on a plain path, denies 400 BAD_PATH on a climbing one', () => {
    expect(checkPath('/shop/items/1?x=..')).toBe(CONTINUE);
    const d = checkPath('/shop/items/..;/admin');
    expect(d).toBe(DENIED.badPath);
    expect(d).toMatchObject({ status: 400, body: '{"message":"Bad Request"}', code: 'BAD_PATH' });
  });

  it('picks the most specific route, HEAD as GET, and builds the upstream path with base path and query', () => {
    const item = found(undefined, 'GET', '/shop/items/7?full=1');
    expect(item.api.id).toBe(f.apiId);
    expect(item.route.id).toBe(f.routes.item);
    expect(item.upstreamPath).toBe('/v1/items/7?full=1');
    expect(found(undefined, 'GET', '/shop/items/7/parts').route.id).toBe(f.routes.list);
    expect(found(undefined, 'HEAD', '/shop/items/7').route.id).toBe(f.routes.item);
  });

  it('tries host-bound APIs first, the port ignored and the host case-folded', () => {
    expect(found('API.example:8080', 'GET', '/shop/anything').api.id).toBe(f.hostApiId);
    expect(found('other.example', 'GET', '/shop/items/1').api.id).toBe(f.apiId);
  });

  it('an API without routes takes every method and path as one keyed, metered catch-all', () => {
    const m = found(undefined, 'DELETE', '/other/a/b');
    expect(m.api.id).toBe(f.otherApiId);
    expect(m.route).toMatchObject({
      id: `${f.otherApiId}:*`,
      public: false,
      units: 1,
      dimension: 'requests',
    });
    expect(found(undefined, 'GET', '/other').route).toBe(m.route); // one object per API
  });

  it('denies 404 NO_ROUTE for an unknown prefix, a method no route takes, or a neighbour prefix', () => {
    for (const [method, url] of [
      ['GET', '/nowhere'],
      ['POST', '/shop/items/1'],
      ['GET', '/shopping/items/1'],
      ['GET', '/shop'],
    ] as const) {
      expect(route(f.snapshot, undefined, method, url), `${method} ${url}`).toBe(DENIED.noRoute);
    }
    expect(DENIED.noRoute).toMatchObject({ status: 404, code: 'NO_ROUTE' });
  });
});
