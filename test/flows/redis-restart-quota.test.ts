/**
 * Quotas as durable as the usage they count: Redis (a private redis-server on its own port)
 * is killed mid-day and restarted empty under a running `tollgate serve`. No subscriber may
 * get more than its quota over the day — not the fail-closed one (503s during the outage,
 * counters gone afterwards) and not the fail-open one (calls served during the outage are
 * counted). Runs on SQLite + Redis and PostgreSQL + Redis.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, provision } from '../helpers/admin.js';
import { startServe } from '../helpers/process.js';
import { privateRedisPort, redisAvailable, startPrivateRedis } from '../helpers/redis.js';
import { PG_URL, postgresAvailable } from '../helpers/stores.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

const TOKEN = `tga_restart_${'z'.repeat(32)}`;
const QUOTA = 20;

const call = async (url: string, key: string): Promise<number> => {
  const r = await fetch(url, { headers: { 'x-api-key': key } });
  await r.arrayBuffer();
  return r.status;
};

/** `n` calls from 4 concurrent clients; the statuses. */
async function burst(url: string, key: string, n: number): Promise<number[]> {
  const out: number[] = [];
  let left = n;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (left-- > 0) out.push(await call(url, key));
    }),
  );
  return out;
}

const ok = (s: number[]) => s.filter((x) => x === 200).length;

const withRedis = await redisAvailable();
const withPg = withRedis && (await postgresAvailable());

describe.runIf(withRedis)('Redis restarted empty mid-day', () => {
  let up: Upstream;
  const cleanup: Array<() => Promise<void> | void> = [];
  beforeAll(async () => {
    up = await startUpstream((_req, res) => res.writeHead(200).end('ok'));
  });
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c();
    await up?.close();
  });

  async function scenario(databaseUrl: string, dir: string): Promise<void> {
    const port = privateRedisPort();
    let redis: ChildProcess = await startPrivateRedis(port);
    cleanup.push(() => void redis.kill('SIGKILL'));
    const tg = await startServe(
      [
        ...['--database-url', databaseUrl, '--data-dir', dir, '--redis-url', `redis://127.0.0.1:${port}`],
        ...['--gateway-port', '0', '--console-port', '0', '--gateway-host', '127.0.0.1'],
        ...['--console-host', '127.0.0.1', '--flush-interval-ms', '200'],
      ],
      { TOLLGATE_ADMIN_TOKEN: TOKEN },
    );
    cleanup.push(async () => void (await tg.stop()));
    const admin = adminClient(tg.consoleUrl!, TOKEN);
    const quota = { limit: QUOTA, period: 'DAY' };
    const closed = await provision(admin, up.url, { quota, failureMode: 'closed' }, '/closed');
    const open = await provision(admin, up.url, { quota, failureMode: 'open' }, '/open');
    const closedUrl = `${tg.gatewayUrl}/closed/x`;
    const openUrl = `${tg.gatewayUrl}/open/x`;
    const served = { closed: 0, open: 0 };

    // Morning: 12 of 20 spent on each (the new plans reach the gateway first).
    const until = Date.now() + 10_000;
    while ((await call(closedUrl, closed.key)) === 403 && Date.now() < until);
    served.closed = 1 + ok(await burst(closedUrl, closed.key, 11));
    served.open = ok(await burst(openUrl, open.key, 12));
    expect(served).toEqual({ closed: 12, open: 12 });

    // Redis dies: closed answers 503, open serves (and must count what it served).
    redis.kill('SIGKILL');
    await once(redis, 'exit');
    const during = { closed: await burst(closedUrl, closed.key, 3), open: await burst(openUrl, open.key, 3) };
    expect(during.closed).toEqual([503, 503, 503]);
    expect(during.open).toEqual([200, 200, 200]);
    served.open += 3;

    // Back, empty. Until the gateway has reseeded, calls are refused as during the outage.
    redis = await startPrivateRedis(port);
    const back = Date.now() + 20_000;
    let first = 503;
    while (first === 503 && Date.now() < back) {
      first = await call(closedUrl, closed.key);
      if (first === 503) await new Promise((r) => setTimeout(r, 50));
    }
    expect(first).toBe(200);
    served.closed += 1;

    // Afternoon: everyone tries for far more than is left.
    served.closed += ok(await burst(closedUrl, closed.key, 30));
    served.open += ok(await burst(openUrl, open.key, 30));
    expect(served).toEqual({ closed: QUOTA, open: QUOTA });
  }

  it('SQLite + Redis: no subscriber gets more than its quota', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-restart-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    await scenario(`sqlite:${join(dir, 't.db')}`, dir);
  }, 300_000);

  it.runIf(withPg)(
    'PostgreSQL + Redis: no subscriber gets more than its quota',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tollgate-restart-pg-'));
      cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
      const schema = `t_restart_${Date.now().toString(36)}`;
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`CREATE SCHEMA ${schema}`);
      await c.end();
      cleanup.push(async () => {
        const d = new pg.Client({ connectionString: PG_URL });
        await d.connect();
        await d.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await d.end();
      });
      await scenario(`${PG_URL}?schema=${schema}`, dir);
    },
    300_000,
  );
});
