/**
 * SSRF refusals through the real capture path (real Chromium, real sockets). The loopback
 * site is allow-listed as `127.0.0.1` only (a name resolving to it, such as `localhost`, is
 * allowed with it); every other loopback address (`127.0.0.2`, `[::1]`, in numeric spellings)
 * must be refused — at the door, on a redirect, and for sub-resources — and
 * the site's request log proves nothing got through. Only loopback addresses are ever named
 * here: private, metadata and embedded-IPv6 addresses are judged by the classifier's own
 * tests (test/shared/outbound.test.ts), never sent to the capture API.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningApi, startCaptureApi } from '../../src/apis/index.js';
import { type Site, startSite } from './fixture.js';
import { readJson } from './json.js';

let api: RunningApi;
let site: Site;

beforeAll(async () => {
  site = await startSite();
  api = await startCaptureApi({ outboundAllow: ['127.0.0.1'], poolSize: 1, queueLimit: 4 });
});

afterAll(async () => {
  await api?.close();
  await site?.close();
});

const capture = (url: string): Promise<Response> =>
  fetch(`${api.url}/capture?${new URLSearchParams({ url, width: '200', height: '200', timeout: '8000' })}`);

async function refused(url: string): Promise<string> {
  const res = await capture(url);
  const problem = await readJson(res);
  expect(res.status, JSON.stringify(problem)).toBe(403);
  expect(problem.code).toBe('URL_FORBIDDEN');
  expect(problem.errors[0].field).toBe('url');
  expect(res.headers.get('x-tollgate-units')).toBe('0');
  return problem.detail as string;
}

const elsewhere = () => site.hits.filter((h) => !h.host.startsWith('127.0.0.1'));

describe('capture: SSRF refusals', () => {
  it('refuses every loopback address but the allowed one, in any spelling', async () => {
    expect(await refused(`http://127.0.0.2:${site.port}/block`)).toContain('127.0.0.2');
    await refused(`http://[::1]:${site.port}/block`);
    await refused(`http://0x7f.0.0.2:${site.port}/block`);
    await refused(`http://2130706434:${site.port}/block`);
    expect(elsewhere()).toEqual([]);
  });

  it('refuses a redirect from the allowed host to a refused one', async () => {
    const to = `http://127.0.0.2:${site.port}/block`;
    expect(await refused(`${site.origin}/redirect?to=${encodeURIComponent(to)}`)).toContain('127.0.0.2');
    expect(site.hits.filter((h) => h.path === '/redirect').length).toBe(1);
    expect(elsewhere()).toEqual([]);
  });

  it('blocks every refused request the page itself makes, redirects included, and still captures', async () => {
    const before = site.hits.length;
    const res = await capture(`${site.origin}/with-refused-subresources`);
    expect(res.status).toBe(200);
    // [::1] image, 127.0.0.2 image, redirect-to-127.0.0.2 image, fetch to 0x7f.0.0.2
    expect(Number(res.headers.get('x-capture-blocked'))).toBe(4);
    const paths = site.hits.slice(before).map((h) => h.path);
    expect(paths).toContain('/redirect');
    expect(paths).not.toContain('/pixel');
    expect(elsewhere()).toEqual([]);
  });
});
