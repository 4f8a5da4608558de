/**
 * Failure policy: the limit store (Redis) goes away mid-run. Plans that fail open
 * keep serving, plans that fail closed answer 503 — never a fake 429 — and when Redis
 * comes back the gateway recovers by itself. A private redis-server on its own port plays
 * the outage, so the machine's Redis (and other suites) are untouched.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, provision } from '../helpers/admin.js';
import { type ServeProcess, startServe } from '../helpers/process.js';
import { privateRedisPort, redisAvailable, startPrivateRedis } from '../helpers/redis.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

const TOKEN = `tga_outage_${'y'.repeat(32)}`;
const PORT = privateRedisPort();

const startRedis = () => startPrivateRedis(PORT);

const statuses = async (url: string, key: string, n: number) => {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await fetch(url, { headers: { 'x-api-key': key } });
    await r.arrayBuffer();
    out.push(r.status);
  }
  return out;
};

describe.runIf(await redisAvailable())('when Redis goes away', () => {
  let up: Upstream;
  let redis: ChildProcess;
  let tg: ServeProcess;
  let dir: string;

  beforeAll(async () => {
    up = await startUpstream((_req, res) => res.writeHead(200).end('ok'));
    redis = await startRedis();
    dir = mkdtempSync(join(tmpdir(), 'tollgate-outage-'));
    tg = await startServe(
      [
        '--database-url',
        `sqlite:${join(dir, 't.db')}`,
        '--data-dir',
        dir,
        '--redis-url',
        `redis://127.0.0.1:${PORT}`,
        '--gateway-port',
        '0',
        '--console-port',
        '0',
        '--gateway-host',
        '127.0.0.1',
        '--console-host',
        '127.0.0.1',
      ],
      { TOLLGATE_ADMIN_TOKEN: TOKEN },
    );
  }, 180_000);
  afterAll(async () => {
    await tg?.stop();
    redis?.kill('SIGKILL');
    await up?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('fails open or closed as each plan says, and recovers without a restart', async () => {
    const admin = adminClient(tg.consoleUrl!, TOKEN);
    const open = await provision(
      admin,
      up.url,
      { throttle: { rateLimit: 0.1, burstLimit: 2 }, failureMode: 'open' },
      '/open',
    );
    const closed = await provision(
      admin,
      up.url,
      { throttle: { rateLimit: 0.1, burstLimit: 2 }, failureMode: 'closed' },
      '/closed',
    );
    const gw = tg.gatewayUrl!;

    // Healthy: the throttle works through Redis.
    expect(await statuses(`${gw}/open/x`, open.key, 3)).toEqual([200, 200, 429]);

    redis.kill('SIGKILL');
    await once(redis, 'exit');
    const t0 = Date.now();
    expect(await statuses(`${gw}/open/x`, open.key, 4)).toEqual([200, 200, 200, 200]); // served, counted as outage
    expect(await statuses(`${gw}/closed/x`, closed.key, 2)).toEqual([503, 503]); // never a fake 429
    expect(Date.now() - t0).toBeLessThan(5_000); // outages answer fast
    const metrics = await (
      await fetch(`${tg.consoleUrl}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })
    ).text();
    expect(metrics).toMatch(/tollgate_limits_unavailable_total\{failure_mode="open"\} [1-9]/);
    expect(metrics).toMatch(/tollgate_limits_unavailable_total\{failure_mode="closed"\} [1-9]/);

    redis = await startRedis();
    // Redis restarted empty: the bucket is full again (burst 2; it refills one token per
    // 10 s, slow enough that a loaded machine cannot blur the sequence).
    const deadline = Date.now() + 10_000;
    let first = 503;
    while (Date.now() < deadline) {
      first = (await statuses(`${gw}/closed/x`, closed.key, 1))[0]!;
      if (first !== 503) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(first).toBe(200);
    expect(await statuses(`${gw}/closed/x`, closed.key, 2)).toEqual([200, 429]);
  }, 60_000);
});
