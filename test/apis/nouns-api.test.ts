/** The proper-noun API over a real socket: JSON and plain text, metering header, refusals. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningApi, startNounsApi } from '../../src/apis/index.js';
import { readJson } from './json.js';

let api: RunningApi;

beforeAll(async () => {
  api = await startNounsApi({ maxChars: 500 });
});

afterAll(async () => {
  await api?.close();
});

const json = (path: string, body: unknown) =>
  fetch(`${api.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

const plain = (path: string, body: string) =>
  fetch(`${api.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain; charset=utf-8' },
    body,
  });

const TEXT = '🎉 Angela Merkel flew from Berlin to Paris to meet Emmanuel Macron at the United Nations.';

describe('nouns API', () => {
  it('returns proper nouns with offsets and meters characters (code points)', async () => {
    const res = await json('/nouns', { text: TEXT });
    expect(res.status).toBe(200);
    const body = await readJson(res);
    expect(body.characters).toBe([...TEXT].length);
    expect(res.headers.get('x-tollgate-units')).toBe(String([...TEXT].length));
    const byName = Object.fromEntries(body.nouns.map((n: { normalized: string }) => [n.normalized, n]));
    expect(byName['angela merkel']).toMatchObject({
      type: 'person',
      count: 1,
      offsets: [{ start: 3, end: 16 }],
    });
    expect(byName.berlin.type).toBe('place');
    for (const n of body.nouns) for (const o of n.offsets) expect(TEXT.slice(o.start, o.end)).toBe(n.text);
  });

  it('accepts text/plain with a types filter in the query', async () => {
    const res = await fetch(`${api.url}/nouns?types=place`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: TEXT,
    });
    const body = await readJson(res);
    expect(body.nouns.map((n: { normalized: string }) => n.normalized).sort()).toEqual(['berlin', 'paris']);
  });

  it('searches for names in JSON and plain text', async () => {
    const res = await json('/nouns/search', { text: TEXT, names: ['angela merkel', 'Olaf Scholz'] });
    expect(res.headers.get('x-tollgate-units')).toBe(String([...TEXT].length));
    const { results } = await readJson(res);
    expect(results).toEqual([
      { name: 'angela merkel', found: true, count: 1, offsets: [{ start: 3, end: 16, type: 'person' }] },
      { name: 'Olaf Scholz', found: false, count: 0, offsets: [] },
    ]);
    const q = new URLSearchParams([
      ['name', 'Paris'],
      ['name', 'Macron'],
    ]);
    const viaPlain = await readJson(
      await fetch(`${api.url}/nouns/search?${q}`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: TEXT,
      }),
    );
    expect(viaPlain.results.map((r: { found: boolean }) => r.found)).toEqual([true, true]);
  });

  it.each([
    ['/nouns', {}, 'text'],
    ['/nouns', { text: 42 }, 'text'],
    ['/nouns', { text: '   ' }, 'text'],
    ['/nouns', { text: 'Hi Bob', types: ['animal'] }, 'types[0]'],
    ['/nouns', { text: 'Hi Bob', types: [] }, 'types'],
    ['/nouns', { text: 'Hi Bob', lang: 'fr' }, 'lang'],
    ['/nouns/search', { text: 'Hi Bob' }, 'names'],
    ['/nouns/search', { text: 'Hi Bob', names: ['Bob', '...'] }, 'names[1]'],
    ['/nouns/search', { text: 'Hi Bob', names: 'Bob' }, 'names'],
  ])('POST %s %j → 400 naming %s', async (path, body, field) => {
    const res = await json(path, body);
    expect(res.status).toBe(400);
    expect(res.headers.get('x-tollgate-units')).toBe('0');
    expect((await readJson(res)).errors[0].field).toBe(field);
  });

  it('refuses text over the cap (counted in characters, not bytes), bad JSON and other media types', async () => {
    const ok = await plain('/nouns', '😀'.repeat(500));
    expect(ok.status).toBe(200);
    const tooLong = await plain('/nouns', '😀'.repeat(501));
    expect(tooLong.status).toBe(413);
    expect((await readJson(tooLong)).errors[0].field).toBe('text');
    const bad = await fetch(`${api.url}/nouns`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"text":',
    });
    expect(bad.status).toBe(400);
    expect((await readJson(bad)).code).toBe('BAD_JSON');
    const form = await fetch(`${api.url}/nouns`, {
      method: 'POST',
      body: new URLSearchParams({ text: 'x' }),
    });
    expect(form.status).toBe(415);
    expect((await plain('/nouns?colour=red', 'Bob')).status).toBe(400);
  });

  it('serves health and its OpenAPI document', async () => {
    expect(await readJson(await fetch(`${api.url}/health`))).toEqual({ status: 'ok', maxChars: 500 });
    const doc = await readJson(await fetch(`${api.url}/openapi.json`));
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(['/nouns', '/nouns/search', '/health', '/openapi.json']);
    expect((await fetch(`${api.url}/nouns`)).status).toBe(405);
  });
});
