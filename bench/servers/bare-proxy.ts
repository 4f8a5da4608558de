/**
 * The reference: the smallest honest API proxy on Node — node:http, an undici Pool relayed
 * with `dispatch`, a key looked up in a Map, an in-memory token bucket. What the gateway is
 * measured against: everything the gateway adds (auth, throttle, quota, metering) should
 * cost about 10 % of this proxy's throughput. Usage: bare-proxy.ts <upstreamPort>.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';

const origin = `http://127.0.0.1:${process.argv[2]}`;
const pool = new Pool(origin, { connections: 128 });
const keys = new Map([
  ['bench-key-0123456789abcdef', { tokens: 1e9, last: Date.now(), rate: 1e9, burst: 1e9 }],
]);

const server = createServer((req, res) => {
  const k = keys.get(req.headers['x-api-key'] as string);
  if (!k) {
    res.writeHead(403).end('{"message":"Forbidden"}');
    return;
  }
  const now = Date.now();
  k.tokens = Math.min(k.burst, k.tokens + ((now - k.last) / 1000) * k.rate);
  k.last = now;
  if (k.tokens < 1) {
    res.writeHead(429).end('{"message":"Too Many Requests"}');
    return;
  }
  k.tokens -= 1;
  pool.dispatch(
    { path: req.url ?? '/', method: 'GET', headers: { 'x-forwarded-for': req.socket.remoteAddress ?? '' } },
    {
      onRequestStart() {},
      onResponseStart(_c, status, headers) {
        const h = { ...headers };
        delete h.connection;
        delete h['keep-alive'];
        delete h['transfer-encoding'];
        res.writeHead(status, h);
      },
      onResponseData(_c, chunk) {
        res.write(chunk);
      },
      onResponseEnd() {
        res.end();
      },
      onResponseError() {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      },
    },
  );
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => console.log(String((server.address() as AddressInfo).port)));
