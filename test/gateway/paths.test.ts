/** Route templates and the path check the gateway applies before matching (src/gateway/paths.ts). */
import { describe, expect, it } from 'vitest';
import { compilePath, isSafePath, matchPath, specificity } from '../../src/gateway/paths.js';

describe('path templates', () => {
  it('matches literal and {param} segments one for one', () => {
    const t = compilePath('/orders/{id}');
    expect(matchPath(t, '/orders/42')).toBe(true);
    expect(matchPath(t, '/orders/42/')).toBe(true);
    expect(matchPath(t, '/orders')).toBe(false);
    expect(matchPath(t, '/orders/42/items')).toBe(false);
    expect(matchPath(t, '/order/42')).toBe(false);
    expect(matchPath(t, '/orders//')).toBe(false); // an empty segment is no id
  });

  it('a greedy {name+} takes one or more segments, and only last', () => {
    const t = compilePath('/files/{path+}');
    expect(matchPath(t, '/files/a')).toBe(true);
    expect(matchPath(t, '/files/a/b/c')).toBe(true);
    expect(matchPath(t, '/files')).toBe(false);
    expect(matchPath(t, '/files/')).toBe(false);
    expect(() => compilePath('/{rest+}/x')).toThrow(/greedy segment must be last/);
  });

  it('ranks more literals first, then more segments, greedy last', () => {
    const ranked = ['/{a+}', '/x/{id}', '/x/y', '/{a}/{b}', '/x/{id}/z']
      .map(compilePath)
      .sort((p, q) => specificity(q) - specificity(p))
      .map((t) => t.source);
    expect(ranked).toEqual(['/x/{id}/z', '/x/y', '/x/{id}', '/{a}/{b}', '/{a+}']);
  });
});

describe('isSafePath: what the gateway refuses before matching', () => {
  it('lets ordinary paths and their query strings through', () => {
    for (const url of [
      '/',
      '/svc/things/1',
      '/svc/a.b/..c/x',
      '/svc/.well-known/x',
      '/svc/...',
      '/svc/caf%C3%A9',
      '/svc/a%20b',
      '/svc/x?next=../..%5c;%c0%ae', // the query string is the upstream's business
      '/svc/x?',
    ]) {
      expect(isSafePath(url), url).toBe(true);
    }
  });

  it('refuses dot segments, plain and encoded, anywhere in the path', () => {
    for (const url of [
      '/svc/../x',
      '/svc/..',
      '/svc/..?q=1',
      '/svc/./x',
      '/svc/.',
      '/..',
      '/svc/%2e%2e/x',
      '/svc/%2E%2E/x',
      '/svc/.%2e/x',
      '/svc/%2e/x',
      '/svc/a/..%2f..%2fx',
    ]) {
      expect(isSafePath(url), url).toBe(false);
    }
  });

  it('refuses backslashes, plain and encoded', () => {
    for (const url of ['/svc/x%5c..%5cadmin', '/svc/x%5C..%5Cadmin', '/svc/x\\..\\admin', '/svc/a\\b']) {
      expect(isSafePath(url), url).toBe(false);
    }
  });

  it('refuses invalid and overlong UTF-8 escapes, and malformed ones', () => {
    for (const url of [
      '/svc/%c0%ae%c0%ae/x', // overlong '.'
      '/svc/%c0%af', // overlong '/'
      '/svc/%e0%80%ae', // three-byte overlong '.'
      '/svc/%ff',
      '/svc/%c3', // truncated sequence
      '/svc/%ed%a0%80', // a UTF-16 surrogate
      '/svc/%zz',
      '/svc/%2',
    ]) {
      expect(isSafePath(url), url).toBe(false);
    }
  });

  it('refuses ; path parameters, encoded separators and control characters', () => {
    for (const url of [
      '/svc/..;/admin',
      '/svc/x;jsessionid=1',
      '/svc/x%3b/y',
      '/svc/a%2fb',
      '/svc/a%00b',
      '/svc/a%0d%0ab',
      '/svc/a%7f',
    ]) {
      expect(isSafePath(url), url).toBe(false);
    }
  });

  it('refuses what is not an origin-form path or not printable ASCII', () => {
    for (const url of ['', '*', 'svc/x', 'http://evil.example/x', '/svc/a b', '/svc/\u00e9', '/svc/\u0000']) {
      expect(isSafePath(url), JSON.stringify(url)).toBe(false);
    }
  });
});
