/** The machine's real Redis for tests; same CI rule as PostgreSQL (see stores.ts). */
import { type ChildProcess, spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { IN_CI, REDIS_URL } from './stores.js';

let up: boolean | undefined;
export async function redisAvailable(): Promise<boolean> {
  if (up !== undefined) return up;
  const r = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2000 });
  try {
    await r.connect();
    await r.ping();
    up = true;
  } catch (e) {
    if (IN_CI) throw new Error(`Redis is required under CI but unreachable at ${REDIS_URL}: ${String(e)}`);
    console.warn(
      `[tollgate tests] Redis unreachable at ${REDIS_URL}: skipping its suites (allowed outside CI)`,
    );
    up = false;
  } finally {
    r.disconnect();
  }
  return up;
}

/** A fresh connection whose keys live under a unique prefix, so parallel suites never meet. */
export function testRedis(): { redis: Redis; prefix: string } {
  const prefix = `tgtest:${Date.now().toString(36)}:${Math.random().toString(36).slice(2, 8)}:`;
  return { redis: new Redis(REDIS_URL, { maxRetriesPerRequest: 1 }), prefix };
}

/** A random port for a private redis-server (tests that kill Redis never touch the machine's). */
export function privateRedisPort(): number {
  return 16_379 + Math.floor(Math.random() * 10_000);
}

/** A private, empty, non-persistent redis-server on `port`; resolves once it accepts connections. */
export async function startPrivateRedis(port: number): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('redis-server did not start in 30 s')), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('Ready to accept connections')) {
        clearTimeout(t);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`redis-server exited with ${code}`));
    });
  });
  return child;
}
