/**
 * Scale-out: three gateway processes and one console on the machine's PostgreSQL and
 * Redis. Limits hold to the request across nodes, and an admin change reaches every
 * gateway within a second. Then two gateways whose Redis is killed: changes still arrive,
 * through the change log they poll while pub/sub is down.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdminClient, adminClient, provision } from '../helpers/admin.js';
import { type ServeProcess, startServe } from '../helpers/process.js';
import { privateRedisPort, redisAvailable, startPrivateRedis } from '../helpers/redis.js';
import { PG_URL, postgresAvailable, REDIS_URL } from '../helpers/stores.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

const TOKEN = `tga_scaleout_${'x'.repeat(32)}`;
const ready = (await postgresAvailable()) && (await redisAvailable());

describe.runIf(ready)('three gateways on PostgreSQL + Redis', () => {
  let up: Upstream;
  let schema: string;
  let consoleProc: ServeProcess;
  const gateways: ServeProcess[] = [];
  let admin: AdminClient;

  beforeAll(async () => {
    up = await startUpstream((_req, res) => res.writeHead(200).end('ok'));
    schema = `t_scale_${Date.now().toString(36)}`;
    const c = await startCluster(schema, REDIS_URL, 3);
    consoleProc = c.console;
    gateways.push(...c.gateways);
    admin = c.admin;
  }, 300_000);

  /**
   * Polls each gateway until it serves `key` (the change fan-out has reached it) and returns
   * how many calls were admitted on the way: they spend quota and tokens like any other.
   */
  function servedEverywhere(path: string, key: string): Promise<number> {
    return servedBy(gateways, path, key);
  }

  afterAll(async () => {
    await Promise.all([...gateways, consoleProc].filter(Boolean).map((p) => p.stop()));
    await up?.close();
    await dropSchema(schema);
  });

  it('admits exactly N against a quota of N, spread over three gateways', async () => {
    const N = 40;
    const { key } = await provision(admin, up.url, { quota: { limit: N, period: 'DAY' } }, '/q');
    const probes = await servedEverywhere('/q/x', key);
    let i = probes;
    const results: number[] = [];
    await Promise.all(
      Array.from({ length: 12 }, async () => {
        while (i < 3 * N) {
          const g = gateways[i++ % 3]!;
          const r = await fetch(`${g.gatewayUrl}/q/x`, { headers: { 'x-api-key': key } });
          const body = await r.text();
          results.push(r.status);
          if (r.status === 429) expect(body).toBe('{"message":"Limit Exceeded"}');
        }
      }),
    );
    expect(probes + results.filter((s) => s === 200).length).toBe(N);
    expect(results.filter((s) => s === 429).length).toBe(results.length - (N - probes));
  }, 60_000);

  it('holds a throttle of R/s to at most R·t + burst (+5 %) over 10 s across the three', async () => {
    const R = 20;
    const BURST = 5;
    const { key } = await provision(admin, up.url, { throttle: { rateLimit: R, burstLimit: BURST } }, '/t');
    await servedEverywhere('/t/x', key);
    // The probes took tokens: measure from a full bucket again.
    await new Promise((r) => setTimeout(r, (1_000 * BURST) / R + 50));
    let admitted = 0;
    let sent = 0;
    let i = 0;
    const start = Date.now();
    const end = start + 10_000;
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        while (Date.now() < end) {
          const g = gateways[i++ % 3]!;
          const r = await fetch(`${g.gatewayUrl}/t/x`, { headers: { 'x-api-key': key } });
          await r.arrayBuffer();
          sent++;
          if (r.status === 200) admitted++;
        }
      }),
    );
    const t = (Date.now() - start) / 1000;
    const expected = R * t + BURST;
    expect(admitted).toBeLessThanOrEqual(expected * 1.05);
    // The floor depends on how fast a loaded machine lets the callers ask: only a throttle
    // refusing far more than it should fails it.
    expect(admitted).toBeGreaterThanOrEqual(0.5 * Math.min(expected, sent));
  }, 60_000);

  it('a new key, a disabled key and a plan change reach all three within a second', async () => {
    const { key, keyId, subscriptionId, planId } = await provision(admin, up.url, {}, '/c');
    await servedEverywhere('/c/x', key);
    const fresh = await admin.post<{ value: string }>('/keys', { subscriptionId, name: 'second' });
    let t0 = Date.now();
    for (const ms of await lagUntil(gateways, '/c/x', fresh.value, 200, t0)) expect(ms).toBeLessThan(1_000);
    await admin.post(`/keys/${keyId}/disable`);
    t0 = Date.now();
    for (const ms of await lagUntil(gateways, '/c/x', key, 403, t0)) expect(ms).toBeLessThan(1_000);
    await admin.patch(`/plans/${planId}`, { apiIds: [] });
    t0 = Date.now();
    for (const ms of await lagUntil(gateways, '/c/x', fresh.value, 403, t0)) expect(ms).toBeLessThan(1_000);
  }, 60_000);
});

describe.runIf(ready)('two gateways on PostgreSQL whose Redis is killed', () => {
  let up: Upstream;
  let schema: string;
  let redis: ChildProcess;
  let consoleProc: ServeProcess;
  const gateways: ServeProcess[] = [];
  let admin: AdminClient;

  beforeAll(async () => {
    up = await startUpstream((_req, res) => res.writeHead(200).end('ok'));
    const port = privateRedisPort();
    redis = await startPrivateRedis(port);
    schema = `t_pubsub_${Date.now().toString(36)}`;
    const c = await startCluster(schema, `redis://127.0.0.1:${port}`, 2);
    consoleProc = c.console;
    gateways.push(...c.gateways);
    admin = c.admin;
  }, 300_000);
  afterAll(async () => {
    await Promise.all([...gateways, consoleProc].filter(Boolean).map((p) => p.stop()));
    redis?.kill('SIGKILL');
    await up?.close();
    await dropSchema(schema);
  });

  it('still sees a new key, a disabled key and a plan change within the polling bound', async () => {
    // Limits live in the same Redis: the plan serves while it is gone.
    const { key, keyId, subscriptionId, planId } = await provision(
      admin,
      up.url,
      { failureMode: 'open' },
      '/p',
    );
    await servedBy(gateways, '/p/x', key);
    redis.kill('SIGKILL');
    await once(redis, 'exit');

    // The documented bound is about a second (one poll); a loaded machine gets slack.
    const BOUND = 2_500;
    const fresh = await admin.post<{ value: string }>('/keys', { subscriptionId, name: 'second' });
    let t0 = Date.now();
    for (const ms of await lagUntil(gateways, '/p/x', fresh.value, 200, t0)) expect(ms).toBeLessThan(BOUND);
    await admin.post(`/keys/${keyId}/disable`);
    t0 = Date.now();
    for (const ms of await lagUntil(gateways, '/p/x', key, 403, t0)) expect(ms).toBeLessThan(BOUND);
    await admin.patch(`/plans/${planId}`, { apiIds: [] });
    t0 = Date.now();
    for (const ms of await lagUntil(gateways, '/p/x', fresh.value, 403, t0)) expect(ms).toBeLessThan(BOUND);
  }, 60_000);
});

/** A console and `n` gateways on a fresh PostgreSQL schema and the given Redis. */
async function startCluster(
  schema: string,
  redisUrl: string,
  n: number,
): Promise<{ console: ServeProcess; gateways: ServeProcess[]; admin: AdminClient }> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  await c.query(`CREATE SCHEMA ${schema}`);
  await c.end();
  const db = `${PG_URL}?schema=${schema}`;
  const common = ['--database-url', db, '--redis-url', redisUrl, '--log-level', 'info'];
  const consoleProc = await startServe(
    [
      ...common,
      '--role',
      'console',
      '--console-port',
      '0',
      '--console-host',
      '127.0.0.1',
      '--node',
      'console',
    ],
    { TOLLGATE_ADMIN_TOKEN: TOKEN },
  );
  const gateways = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      startServe([
        ...common,
        '--role',
        'gateway',
        '--gateway-port',
        '0',
        '--gateway-host',
        '127.0.0.1',
        '--node',
        `gw-${i + 1}`,
      ]),
    ),
  );
  return { console: consoleProc, gateways, admin: adminClient(consoleProc.consoleUrl!, TOKEN) };
}

async function dropSchema(schema: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await c.end();
}

/**
 * Polls each gateway until it serves `key` (the change fan-out has reached it) and returns
 * how many calls were admitted on the way: they spend quota and tokens like any other.
 */
async function servedBy(gateways: ServeProcess[], path: string, key: string): Promise<number> {
  let admitted = 0;
  for (const g of gateways) {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const r = await fetch(`${g.gatewayUrl}${path}`, { headers: { 'x-api-key': key } });
      await r.arrayBuffer();
      if (r.status === 200) {
        admitted++;
        break;
      }
      if (Date.now() > deadline) throw new Error(`${g.gatewayUrl} never served the new key`);
      await new Promise((res) => setTimeout(res, 25));
    }
  }
  return admitted;
}

/** Per gateway, the milliseconds from `t0` (the write's answer) until `key` on `path` answers `status` (polled). */
function lagUntil(gateways: ServeProcess[], path: string, key: string, status: number, t0: number) {
  return Promise.all(
    gateways.map(async (g) => {
      while (Date.now() - t0 < 5_000) {
        const r = await fetch(`${g.gatewayUrl}${path}`, { headers: { 'x-api-key': key } });
        await r.arrayBuffer();
        if (r.status === status) return Date.now() - t0;
        await new Promise((res) => setTimeout(res, 25));
      }
      return Number.POSITIVE_INFINITY;
    }),
  );
}
