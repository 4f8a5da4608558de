/**
 * The capture API against real Chromium and a real loopback site (allow-listed by IP; the
 * name `localhost` is deliberately not). One browser for the whole file: pool of 1, queue
 * of 1, so saturation is easy to reach and every capture is bounded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningApi, startCaptureApi } from '../../src/apis/index.js';
import { type Site, startSite } from './fixture.js';
import { readJson } from './json.js';
import { decodePng, jpegSize } from './png.js';

let api: RunningApi;
let site: Site;

beforeAll(async () => {
  site = await startSite();
  api = await startCaptureApi({
    outboundAllow: ['127.0.0.1'],
    poolSize: 1,
    queueLimit: 1,
    maxPageBytes: 100_000,
    maxOutputBytes: 300_000,
    // Generous: queueing counts against it, and the queue tests below wait on slow pages.
    deadlineMs: 30_000,
  });
});

afterAll(async () => {
  await api?.close();
  await site?.close();
});

function get(params: Record<string, string | number | boolean>): Promise<Response> {
  const q = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)]));
  return fetch(`${api.url}/capture?${q}`);
}

function post(body: unknown): Promise<Response> {
  return fetch(`${api.url}/capture`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function png(res: Response) {
  expect(res.status, await res.clone().text()).toBe(200);
  expect(res.headers.get('content-type')).toBe('image/png');
  return decodePng(Buffer.from(await res.arrayBuffer()));
}

const RED = [255, 0, 0, 255];
const BLUE = [0, 0, 255, 255];
const WHITE = [255, 255, 255, 255];

describe('capture: images', () => {
  it('captures a PNG of the viewport with the colour blocks where the page put them', async () => {
    const res = await get({ url: `${site.origin}/block`, width: 400, height: 300 });
    expect(res.headers.get('x-tollgate-units')).toBe('1');
    expect(res.headers.get('x-capture-status')).toBe('200');
    const img = await png(res);
    expect([img.width, img.height]).toEqual([400, 300]);
    expect(img.pixel(70, 55)).toEqual(RED);
    expect(img.pixel(21, 31)).toEqual(RED);
    expect(img.pixel(119, 79)).toEqual(RED);
    expect(img.pixel(120, 80)).toEqual(WHITE);
    expect(img.pixel(230, 180)).toEqual(BLUE);
    expect(img.pixel(350, 280)).toEqual(WHITE);
  });

  it('scales by the device scale factor', async () => {
    const img = await png(
      await get({ url: `${site.origin}/block`, width: 400, height: 300, deviceScaleFactor: 2 }),
    );
    expect([img.width, img.height]).toEqual([800, 600]);
    expect(img.pixel(140, 110)).toEqual(RED);
    expect(img.pixel(460, 360)).toEqual(BLUE);
  });

  it('clips to a region (JSON body) and writes JPEG', async () => {
    const clip = { x: 20, y: 30, width: 100, height: 50 };
    const red = await png(await post({ url: `${site.origin}/block`, width: 400, height: 300, clip }));
    expect([red.width, red.height]).toEqual([100, 50]);
    expect(red.pixel(0, 0)).toEqual(RED);
    expect(red.pixel(99, 49)).toEqual(RED);

    const res = await post({ url: `${site.origin}/block`, format: 'jpeg', quality: 90, clip });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    expect(jpegSize(Buffer.from(await res.arrayBuffer()))).toEqual({ width: 100, height: 50 });
  });

  it('renders dark mode with prefers-color-scheme: dark', async () => {
    const img = await png(
      await get({ url: `${site.origin}/block`, width: 400, height: 300, darkMode: true }),
    );
    expect(img.pixel(350, 280)).toEqual([0, 0, 0, 255]);
    expect(img.pixel(70, 55)).toEqual(RED);
  });

  it('captures the full page height, not just the viewport', async () => {
    const viewport = await png(await get({ url: `${site.origin}/tall`, width: 300, height: 400 }));
    expect(viewport.height).toBe(400);
    const full = await png(
      await get({ url: `${site.origin}/tall`, width: 300, height: 400, fullPage: true }),
    );
    expect([full.width, full.height]).toEqual([300, 3000]);
    expect(full.pixel(150, 500)).toEqual([0, 255, 0, 255]);
    expect(full.pixel(150, 2900)).toEqual([255, 0, 255, 255]);
  });

  it('waits for a selector that appears after load', async () => {
    const img = await png(
      await get({ url: `${site.origin}/selector`, width: 300, height: 300, waitForSelector: '#ready' }),
    );
    expect(img.pixel(50, 50)).toEqual([0, 255, 0, 255]);
  });

  it('waits for network idle and an extra delay', async () => {
    const started = Date.now();
    const img = await png(
      await get({
        url: `${site.origin}/selector`,
        width: 300,
        height: 300,
        waitUntil: 'networkidle',
        delay: 400,
      }),
    );
    expect(img.pixel(50, 50)).toEqual([0, 255, 0, 255]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
  });

  it('follows a redirect within allowed hosts and reports the final URL', async () => {
    const res = await get({ url: `${site.origin}/redirect?to=/block`, width: 400, height: 300 });
    expect(res.headers.get('x-capture-url')).toBe(`${site.origin}/block`);
    expect((await png(res)).pixel(70, 55)).toEqual(RED);
  });

  it('reuses contexts without leaking cookies or storage from one capture to the next', async () => {
    for (let i = 0; i < 2; i++) {
      const img = await png(await get({ url: `${site.origin}/state`, width: 200, height: 200 }));
      expect(img.pixel(100, 100)).toEqual([0, 255, 0, 255]);
    }
  });

  it('writes a PDF', async () => {
    const res = await get({ url: `${site.origin}/block`, format: 'pdf' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/pdf');
    const body = Buffer.from(await res.arrayBuffer());
    expect(body.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(body.length).toBeGreaterThan(500);
  });
});

describe('capture: limits', () => {
  it('gives up at the timeout with 504 and bills nothing', async () => {
    const started = Date.now();
    const res = await get({ url: `${site.origin}/hang`, timeout: 1500 });
    expect(res.status).toBe(504);
    expect(res.headers.get('x-tollgate-units')).toBe('0');
    expect((await readJson(res)).code).toBe('CAPTURE_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(6000);
  });

  it('times out waiting for a selector that never appears', async () => {
    const res = await get({ url: `${site.origin}/block`, waitForSelector: '#never', timeout: 1200 });
    expect(res.status).toBe(504);
  });

  it('refuses a page larger than the page-size cap', async () => {
    const res = await get({ url: `${site.origin}/big` });
    expect(res.status).toBe(422);
    expect((await readJson(res)).code).toBe('PAGE_TOO_LARGE');
  });

  it('refuses output larger than the output cap', async () => {
    const res = await get({ url: `${site.origin}/noise`, width: 400, height: 300 });
    expect(res.status).toBe(422);
    expect((await readJson(res)).code).toBe('OUTPUT_TOO_LARGE');
  });

  it('answers 503 with Retry-After when the pool and its queue are full', async () => {
    // pool 1 + queue 1: the third concurrent capture has nowhere to go.
    const slow = () => get({ url: `${site.origin}/slow?ms=1200`, width: 200, height: 200 });
    const first = slow();
    await new Promise((r) => setTimeout(r, 150));
    const second = slow();
    await new Promise((r) => setTimeout(r, 150));
    const third = await slow();
    expect(third.status).toBe(503);
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await readJson(third)).code).toBe('BUSY');
    const [a, b] = await Promise.all([first, second]);
    expect([a.status, b.status]).toEqual([200, 200]);
    // Capacity is back.
    expect((await get({ url: `${site.origin}/block`, width: 200, height: 200 })).status).toBe(200);
  });
});

describe('capture: queueing', () => {
  it('a queued capture waits at most its own timeout for a slot, then answers 503', async () => {
    const busy = get({ url: `${site.origin}/slow?ms=2500`, width: 200, height: 200 });
    await new Promise((r) => setTimeout(r, 200));
    const started = Date.now();
    const queued = await get({ url: `${site.origin}/block`, width: 200, height: 200, timeout: 1000 });
    expect(queued.status).toBe(503);
    expect(queued.headers.get('retry-after')).toBe('1');
    expect(Date.now() - started).toBeLessThan(2000);
    expect((await busy).status).toBe(200);
  });
});

describe('capture: input validation', () => {
  it.each([
    [{}, 'url'],
    [{ url: 'not a url' }, 'url'],
    [{ url: 'file:///etc/passwd' }, 'url'],
    [{ url: 'ftp://example.com/' }, 'url'],
    [{ url: 'http://example.com/', width: 50 }, 'width'],
    [{ url: 'http://example.com/', height: 'tall' }, 'height'],
    [{ url: 'http://example.com/', deviceScaleFactor: 9 }, 'deviceScaleFactor'],
    [{ url: 'http://example.com/', format: 'gif' }, 'format'],
    [{ url: 'http://example.com/', waitUntil: 'never' }, 'waitUntil'],
    [{ url: 'http://example.com/', timeout: 999_999 }, 'timeout'],
    [{ url: 'http://example.com/', delay: -1 }, 'delay'],
    [{ url: 'http://example.com/', quality: 50 }, 'quality'],
    [{ url: 'http://example.com/', format: 'pdf', clip: { x: 0, y: 0, width: 10, height: 10 } }, 'clip'],
    [{ url: 'http://example.com/', clip: { x: 0, y: 0, width: 0, height: 10 } }, 'clip.width'],
    [{ url: 'http://example.com/', fullPage: 'yes' }, 'fullPage'],
    [{ url: 'http://example.com/', colour: 'red' }, 'colour'],
  ])('refuses %j naming the field %s', async (body, field) => {
    const res = await post(body);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const problem = await readJson(res);
    expect(problem.errors[0].field).toBe(field);
    expect(problem.detail).toContain(field);
  });

  it('refuses a query-string clip that is not four numbers, and a non-JSON POST', async () => {
    const res = await get({ url: 'http://example.com/', clip: '1,2,3' });
    expect(res.status).toBe(400);
    expect((await readJson(res)).errors[0].field).toBe('clip');
    const plain = await fetch(`${api.url}/capture`, { method: 'POST', body: 'url=x' });
    expect(plain.status).toBe(415);
  });

  it('serves health and its OpenAPI document', async () => {
    const health = await readJson(await fetch(`${api.url}/health`));
    expect(health).toMatchObject({ status: 'ok', browser: true, pool: { size: 1, queueLimit: 1 } });
    const doc = await readJson(await fetch(`${api.url}/openapi.json`));
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(['/capture', '/health', '/openapi.json']);
    expect((await fetch(`${api.url}/nope`)).status).toBe(404);
    expect((await fetch(`${api.url}/capture`, { method: 'DELETE' })).status).toBe(405);
  });
});
