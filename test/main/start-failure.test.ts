/**
 * A start that fails part-way closes what it had opened, in reverse order, and says why:
 * an operator whose port is taken gets a message naming the port and the setting, and a
 * second start on the same data directory works at once.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { startTollgate } from '../../src/main/index.js';
import { noDns } from '../helpers/outbound.js';
import { START_TIMEOUT_MS, serveUntilExit, startServe } from '../helpers/process.js';
import { privateRedisPort, startPrivateRedis } from '../helpers/redis.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-startfail-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A port held by someone else for the length of the test. */
async function takenPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => s.close(() => r())));
  return (s.address() as { port: number }).port;
}

/** A port nobody listens on right now. */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** True when nothing listens on `port` (we can open it ourselves). */
async function isFree(port: number): Promise<boolean> {
  const s: Server = createServer();
  return new Promise((resolve) => {
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A debug logger whose lines the test reads. */
function capturedLog() {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'debug' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
  return { log, lines };
}

describe('a start that fails part-way', () => {
  it(
    'through the CLI: a console port in use exits non-zero naming the port, closes everything, and a second start on the same data works',
    async () => {
      const dir = tempDir();
      const taken = await takenPort();
      const gatewayPort = await freePort();
      const db = join(dir, 'tollgate.db');
      const args = (consolePort: number) => [
        '--database-url',
        `sqlite:${db}`,
        '--data-dir',
        dir,
        '--gateway-host',
        '127.0.0.1',
        '--gateway-port',
        String(gatewayPort),
        '--console-host',
        '127.0.0.1',
        '--console-port',
        String(consolePort),
        '--admin-token',
        'tg_admin_start_failure_test_token_0123456789',
      ];

      const run = await serveUntilExit(args(taken));
      expect(run.code, run.output).toBe(1);
      expect(run.output).toContain(
        `tollgate: cannot start: console port 127.0.0.1:${taken} is already in use (consolePort, --console-port, TOLLGATE_CONSOLE_PORT)`,
      );
      // It ended by itself once the start was undone: no handle was left to force it.
      expect(run.output).not.toContain('still open after the failed start');
      expect(run.failedAt, run.output).not.toBeNull();
      expect(run.exitedAt - (run.failedAt ?? 0)).toBeLessThan(10_000);
      // The gateway had opened its port before the console failed: closed again.
      expect(await isFree(gatewayPort)).toBe(true);
      // SQLite removes the write-ahead log when the last connection closes cleanly.
      expect(existsSync(db)).toBe(true);
      expect(existsSync(`${db}-wal`)).toBe(false);

      // The same data directory, a free port: the second start works.
      const serve = await startServe(args(await freePort()));
      try {
        const health = await fetch(`${serve.consoleUrl}/healthz`);
        expect(health.status).toBe(200);
      } finally {
        expect(await serve.stop()).toBe(0);
      }
    },
    START_TIMEOUT_MS * 2 + 30_000,
  );

  it('in-process: a metrics port in use closes the listeners, then the rest in reverse order of opening', async () => {
    const dir = tempDir();
    const taken = await takenPort();
    const [gatewayPort, consolePort] = [await freePort(), await freePort()];
    const db = join(dir, 't.db');
    const { log, lines } = capturedLog();
    const config = loadConfig(
      {
        databaseUrl: `sqlite:${db}`,
        dataDir: dir,
        gatewayHost: '127.0.0.1',
        gatewayPort,
        consoleHost: '127.0.0.1',
        consolePort,
        metricsHost: '127.0.0.1',
        metricsPort: taken,
        billingScheduler: true,
      },
      {},
    );
    const timersBefore = activeTimers();

    await expect(startTollgate(config, { log, resolve: noDns })).rejects.toThrow(
      `metrics port 127.0.0.1:${taken} is already in use (metricsPort, --metrics-port, TOLLGATE_METRICS_PORT)`,
    );

    const failed = lines.find((l) => l.msg === 'start failed: closing what was opened');
    const opened = failed?.closing as string[];
    expect(opened).toEqual([
      'licence checks',
      'store',
      'limits',
      'change bus',
      'billing',
      'meter (last flush)',
      'snapshot reloads',
      'change-log polling',
      'gateway port',
      'webhook delivery',
      'marketplace jobs',
      'payment jobs',
      'billing scheduler',
      'console port',
    ]);
    const closed = lines.filter((l) => l.msg === 'closed').map((l) => l.resource);
    const listeners = ['console port', 'gateway port'];
    expect(closed.slice(0, 2).sort()).toEqual(listeners);
    expect(closed.slice(2)).toEqual(opened.filter((n) => !listeners.includes(n)).reverse());
    expect(lines.some((l) => l.msg === 'could not close' || l.site === 'main.close')).toBe(false);

    // What those names stand for is really gone: ports, the SQLite connection, the timers.
    expect(await isFree(gatewayPort)).toBe(true);
    expect(await isFree(consolePort)).toBe(true);
    expect(existsSync(`${db}-wal`)).toBe(false);
    expect(activeTimers()).toBeLessThanOrEqual(timersBefore);
  });

  it('in-process: a gateway port in use closes every Redis client the start had opened', async () => {
    const port = privateRedisPort();
    const redisServer = await startPrivateRedis(port);
    cleanups.push(() => void redisServer.kill('SIGKILL'));
    const probe = new Redis(port, '127.0.0.1');
    cleanups.push(() => void probe.disconnect());
    const clients = async () =>
      String(await probe.client('LIST'))
        .trim()
        .split('\n').length;
    expect(await clients()).toBe(1);

    const dir = tempDir();
    const taken = await takenPort();
    const { log, lines } = capturedLog();
    const config = loadConfig(
      {
        role: 'gateway',
        databaseUrl: `sqlite:${join(dir, 't.db')}`,
        dataDir: dir,
        redisUrl: `redis://127.0.0.1:${port}`,
        gatewayHost: '127.0.0.1',
        gatewayPort: taken,
      },
      {},
    );
    // How many clients the start had connected at most (so the count after is not trivially 1).
    let most = 1;
    let starting = true;
    const watch = (async () => {
      while (starting) {
        most = Math.max(most, await clients());
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    await expect(startTollgate(config, { log, resolve: noDns })).rejects.toThrow(
      `gateway port 127.0.0.1:${taken} is already in use`,
    );
    starting = false;
    await watch;
    expect(most).toBeGreaterThanOrEqual(3);
    const closed = lines.filter((l) => l.msg === 'closed').map((l) => l.resource);
    expect(closed).toEqual(
      expect.arrayContaining(['quota sync (redis)', 'change bus', 'limits', 'store', 'gateway port']),
    );
    // Limits, pub/sub (two connections) and the quota reconciler had connected; the server
    // sees each disconnect a moment later.
    const deadline = Date.now() + 10_000;
    while ((await clients()) > 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await clients()).toBe(1);
  });
});

function activeTimers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}
