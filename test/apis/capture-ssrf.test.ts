/**
 * SSRF refusals through the real capture path (real Chromium, real sockets). The loopback
 * site is allow-listed as `127.0.0.1` only; every other route to it (`localhost`, `[::1]`,
 * numeric tricks) and every private or metadata address must be refused — at the door, on
 * a redirect, and for sub-resources — and the site's request log proves nothing got through.
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

const viaLocalhost = () => site.hits.filter((h) => !h.host.startsWith('127.0.0.1'));

describe('capture: SSRF refusals', () => {
  it('refuses private and metadata addresses', async () => {
    expect(await refused('http://10.0.0.1/')).toContain('10.0.0.1 is private');
    expect(await refused('http://169.254.169.254/latest/meta-data/')).toContain('link-local');
    expect(await refused('http://192.168.1.1:8080/')).toContain('private');
    expect(await refused('http://100.100.100.200/')).toContain('CGNAT');
    expect(await refused('http://0.0.0.0/')).toContain('unspecified');
    expect(await refused('http://[fd00:ec2::254]/')).toContain('unique-local');
  });

  it('refuses a hostname that resolves to loopback unless that host is allow-listed', async () => {
    const detail = await refused(`http://localhost:${site.port}/block`);
    expect(detail).toMatch(/localhost resolves to (127\.0\.0\.1|::1)/);
    await refused(`http://[::1]:${site.port}/block`);
    await refused(`http://[::ffff:127.0.0.1]:${site.port}/block`);
    await refused(`http://0x7f.0.0.2:${site.port}/block`);
    await refused(`http://2130706434:${site.port}/block`);
    expect(viaLocalhost()).toEqual([]);
  });

  it('refuses a redirect from an allowed host to a private address', async () => {
    expect(await refused(`${site.origin}/redirect?to=${encodeURIComponent('http://10.0.0.1/')}`)).toContain(
      '10.0.0.1',
    );
    const to = `http://localhost:${site.port}/block`;
    expect(await refused(`${site.origin}/redirect?to=${encodeURIComponent(to)}`)).toContain('localhost');
    expect(site.hits.filter((h) => h.path === '/redirect').length).toBe(2);
    expect(viaLocalhost()).toEqual([]);
  });

  it('blocks every refused request the page itself makes, redirects included, and still captures', async () => {
    const before = site.hits.length;
    const res = await capture(`${site.origin}/with-refused-subresources`);
    expect(res.status).toBe(200);
    // metadata image, localhost image, redirect-to-localhost image, fetch to 10.0.0.1
    expect(Number(res.headers.get('x-capture-blocked'))).toBe(4);
    const paths = site.hits.slice(before).map((h) => h.path);
    expect(paths).toContain('/redirect');
    expect(paths).not.toContain('/pixel');
    expect(viaLocalhost()).toEqual([]);
  });
});
