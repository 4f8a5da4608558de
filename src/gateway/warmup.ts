/**
 * A synthetic warm-up of the request path before the gateway takes traffic (`gatewayWarmup`
 * calls; issue #18 "warm fast"). A fresh Node process runs its first thousands of requests
 * in V8's interpreter and baseline code, allocating into a young generation that has yet to
 * grow: bench/warmup.sh measured its first seconds of load well below its steady rate. Here the
 * same code — node:http's parser and writer, the pipeline steps, undici's pool, the relay,
 * the limits and the metrics' per-request counting — runs that many calls first, so the
 * optimizing compiler has seen it hot before the first real caller arrives.
 *
 * Nothing real is touched: a throw-away Gateway over a made-up snapshot (one API, plan and
 * key), its own MemoryLimits, no metering, an observer into a throw-away registry, and an
 * upstream of its own on a loopback port that only its own outbound policy allows. Calls go
 * over real loopback sockets, keep-alive, `concurrency` at a time, and stop at `calls` or
 * after `budgetMs`, whichever comes first. Functions are shared between Gateway instances
 * (prototype methods, module functions and node's own), so their compiled code carries over.
 */
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hashKey } from '../keys/index.js';
import { MemoryLimits } from '../limits/index.js';
import { offMeter } from '../metering/index.js';
import { type Clock, type Logger, OutboundPolicy } from '../shared/index.js';
import type { GatewayObserver } from './hooks.js';
import type { UpstreamOptions } from './proxy.js';
import { Gateway } from './server.js';
import { compileApis, compilePlan, keyEntry, type Snapshot } from './snapshot.js';
import type { SnapshotHolder } from './snapshot-holder.js';

export interface WarmUpOptions {
  calls: number;
  concurrency?: number;
  budgetMs?: number;
  clock: Clock;
  log: Logger;
  upstream: UpstreamOptions;
  /** Where the warm-up's own counts go (a registry nobody scrapes). */
  observer: GatewayObserver;
  dropResponseHeaders?: readonly string[];
}

const KEY = 'k_warmup_0000000000000000000000';

/** Runs the warm-up; answers how many calls it made and how long it took. */
export async function warmUp(o: WarmUpOptions): Promise<{ calls: number; ms: number }> {
  const t0 = performance.now();
  if (o.calls <= 0) return { calls: 0, ms: 0 };
  const body = '{"ok":true}';
  const upstream = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const upPort = (upstream.address() as AddressInfo).port;
  const now = o.clock.now();
  const limits = new MemoryLimits();
  const gw = new Gateway({
    snapshots: { current: snapshotFor(`http://127.0.0.1:${upPort}`, now) } as SnapshotHolder,
    limits,
    meter: offMeter(),
    clock: o.clock,
    log: o.log,
    upstream: o.upstream,
    outbound: new OutboundPolicy({ allow: [`127.0.0.1:${upPort}`] }),
    observer: o.observer,
    ...(o.dropResponseHeaders ? { dropResponseHeaders: o.dropResponseHeaders } : {}),
  });
  const agent = new Agent({ keepAlive: true, maxSockets: o.concurrency ?? 16 });
  let made = 0;
  try {
    const port = await gw.listen(0, '127.0.0.1');
    const until = t0 + (o.budgetMs ?? 10_000);
    const one = () =>
      new Promise<void>((resolve, reject) => {
        const req = request(
          { host: '127.0.0.1', port, path: '/warm/ping', agent, headers: { 'x-api-key': KEY } },
          (res) => {
            res.resume();
            res.on('end', resolve);
          },
        );
        req.on('error', reject);
        req.end();
      });
    const loop = async () => {
      while (made < o.calls && performance.now() < until) {
        made++;
        await one();
      }
    };
    await Promise.all(Array.from({ length: o.concurrency ?? 16 }, loop));
  } finally {
    agent.destroy();
    await gw.close(0);
    await new Promise<void>((resolve) => upstream.close(() => resolve()));
    await limits.close();
  }
  return { calls: made, ms: Math.round(performance.now() - t0) };
}

/** One API (prefix /warm), one plan (a throttle and a daily quota neither ever reached), one key. */
function snapshotFor(upstreamUrl: string, now: number): Snapshot {
  const apis = compileApis(
    [
      {
        id: 'api_warmup',
        provider_id: 'prv_warmup',
        name: 'warm-up',
        upstream_url: upstreamUrl,
        path_prefix: '/warm',
        host: null,
        strip_prefix: 1,
        timeout_ms: 30_000,
        openapi: null,
        cors: null,
        ratelimit_headers: 0,
        created_at: now,
        updated_at: now,
      },
    ],
    [],
  );
  const plan = compilePlan(
    {
      id: 'pln_warmup',
      provider_id: 'prv_warmup',
      name: 'warm-up',
      description: '',
      api_ids: '["api_warmup"]',
      throttle_rate: 1e9,
      throttle_burst: 1e9,
      quota_limit: 1e12,
      quota_period: 'DAY',
      quota_offset: 0,
      quota_time_zone: 'UTC',
      route_throttles: '{}',
      over_quota: 'block',
      billable: 'lt500',
      failure_mode: 'open',
      created_at: now,
      updated_at: now,
    },
    now,
  );
  const entry = keyEntry(
    {
      key_id: 'key_warmup',
      subscription_id: 'sub_warmup',
      consumer_id: 'con_warmup',
      plan_id: 'pln_warmup',
      hash: hashKey(KEY),
      enabled: 1,
      expires_at: null,
      status: 'active',
      started_at: now - 1000,
    },
    plan,
    0,
  );
  return {
    builtAt: now,
    version: 0,
    apis,
    keys: new Map([[hashKey(KEY), entry]]),
    hashes: new Map([['key_warmup', hashKey(KEY)]]),
    adjustments: new Map(),
    plans: new Map([[plan.id, plan]]),
  };
}
