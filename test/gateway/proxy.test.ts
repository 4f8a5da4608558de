import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedApi, seedKey, seedPlan, seedProvider, seedSubscription } from '../helpers/seed.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { type Harness, startHarness } from './harness.js';

const BIG = 24 * 1024 * 1024;

describe('gateway: the streaming proxy', () => {
  let h: Harness;
  let up: Upstream;
  let key: string;
  let deadKey: string;
  let slowKey: string;
  let publicApiPath: string;

  beforeAll(async () => {
    up = await startUpstream((req, res, body) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname.endsWith('/big')) {
        // Streamed in 64 KiB chunks with chunked encoding (no content-length).
        res.writeHead(200, {
          'content-type': 'application/octet-stream',
          connection: 'x-secret-hop',
          'x-secret-hop': '1',
        });
        let sent = 0;
        const chunk = Buffer.alloc(64 * 1024, 7);
        const pump = () => {
          while (sent < BIG) {
            sent += chunk.length;
            if (!res.write(chunk)) return res.once('drain', pump);
          }
          res.end();
        };
        pump();
        return;
      }
      if (url.pathname.endsWith('/slow')) {
        setTimeout(() => res.end('late'), 3_000).unref();
        return;
      }
      res.writeHead(201, {
        'content-type': 'application/json',
        'set-cookie': ['a=1', 'b=2'],
        'x-custom': 'kept',
      });
      res.end(
        JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body: body.toString() }),
      );
    });
    h = await startHarness({ headersTimeoutMs: 5_000 });
    const prv = await seedProvider(h.store);
    const { apiId } = await seedApi(h.store, prv, `${up.url}/base`, {
      pathPrefix: '/svc',
      routes: [{ path: '/{proxy+}' }, { method: 'GET', path: '/public/{id}', public: true }],
    });
    const dead = await seedApi(h.store, prv, 'http://127.0.0.1:1', { pathPrefix: '/dead' });
    const slow = await seedApi(h.store, prv, up.url, { pathPrefix: '/slowapi', timeoutMs: 500 });
    const plan = await seedPlan(h.store, prv, [apiId, dead.apiId, slow.apiId], {});
    const { subscriptionId } = await seedSubscription(h.store, plan);
    key = (await seedKey(h.store, subscriptionId)).value;
    deadKey = key;
    slowKey = key;
    publicApiPath = '/svc/public/42';
    await h.snapshots.refresh();
  });
  afterAll(async () => {
    await h.close();
    await up.close();
  });

  it('forwards method, path, query and body; returns status and headers intact', async () => {
    const res = await h.call('/svc/things/1?x=1&y=%20', {
      method: 'POST',
      key,
      body: JSON.stringify({ hello: 'world' }),
      headers: { 'content-type': 'application/json', 'x-client': 'c1' },
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-custom')).toBe('kept');
    expect(res.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const seen = (await res.json()) as {
      method: string;
      url: string;
      headers: Record<string, string>;
      body: string;
    };
    expect(seen.method).toBe('POST');
    expect(seen.url).toBe('/base/things/1?x=1&y=%20');
    expect(seen.body).toBe('{"hello":"world"}');
    expect(seen.headers['x-client']).toBe('c1');
    expect(seen.headers['x-api-key']).toBeUndefined();
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen.headers['x-forwarded-proto']).toBe('http');
    expect(seen.headers['x-forwarded-host']).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(seen.headers['x-request-id']).toBe(res.headers.get('x-request-id'));
    expect(seen.headers['x-tollgate-subscription']).toMatch(/^sub_/);
  });

  it('drops hop-by-hop headers and never trusts a caller-sent x-tollgate header', async () => {
    const seen = await new Promise<Record<string, string>>((resolve, reject) => {
      const u = new URL(`${h.url}/svc/hop`);
      const req = request(
        {
          host: u.hostname,
          port: u.port,
          path: u.pathname,
          method: 'GET',
          headers: {
            'x-api-key': key,
            connection: 'keep-alive, x-drop-me',
            'x-drop-me': 'secret',
            te: 'trailers',
            'proxy-authorization': 'Basic Zm9vOmJhcg==',
            'x-tollgate-subscription': 'sub_forged',
          },
        },
        (res) => {
          let data = '';
          res.on('data', (c) => {
            data += c;
          });
          res.on('end', () => resolve((JSON.parse(data) as { headers: Record<string, string> }).headers));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(seen['x-drop-me']).toBeUndefined();
    expect(seen.te).toBeUndefined();
    expect(seen['proxy-authorization']).toBeUndefined();
    expect(seen['x-tollgate-subscription']).not.toBe('sub_forged');
  });

  it('streams a large body without buffering it whole, byte for byte', async () => {
    const res = await h.call('/svc/big', { key });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-secret-hop')).toBeNull();
    const hash = createHash('sha256');
    let n = 0;
    let chunks = 0;
    for await (const c of res.body as unknown as AsyncIterable<Uint8Array>) {
      hash.update(c);
      n += c.length;
      chunks++;
    }
    expect(n).toBe(BIG);
    expect(chunks).toBeGreaterThan(10);
    expect(hash.digest('hex')).toBe(createHash('sha256').update(Buffer.alloc(BIG, 7)).digest('hex'));
  });

  it('refuses dot segments that would climb out of the API base path', async () => {
    // node:http sends the path as written (fetch would normalise it away first).
    const raw = (path: string) =>
      new Promise<number>((resolve, reject) => {
        const u = new URL(h.url);
        const req = request(
          { host: u.hostname, port: u.port, path, headers: { 'x-api-key': key } },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end();
      });
    for (const path of [
      '/svc/../x',
      '/svc/%2e%2e/x',
      '/svc/%2E%2E/x',
      '/svc/a/..%2f..%2fx',
      '/svc/./x',
      '/svc/a/%2e/x',
    ]) {
      const before = up.requests.length;
      expect(await raw(path), path).toBe(400);
      expect(up.requests.length).toBe(before);
    }
    expect(await raw('/svc/a.b/..c/x')).toBe(201); // dots inside a segment are fine
  });

  it('serves a public route without a key', async () => {
    const res = await h.call(publicApiPath);
    expect(res.status).toBe(201);
  });

  it('answers 502 when the upstream is down', async () => {
    const res = await h.call('/dead/x', { key: deadKey });
    expect(res.status).toBe(502);
    expect(await res.json()).toEqual({ message: 'Bad Gateway' });
  });

  it('answers 504 when the upstream is slower than the API timeout', async () => {
    const t = Date.now();
    const res = await h.call('/slowapi/slow', { key: slowKey });
    expect(res.status).toBe(504);
    expect(Date.now() - t).toBeLessThan(2_500);
  });
});
