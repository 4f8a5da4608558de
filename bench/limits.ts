/**
 * Limits benchmark: admits/s of the in-process backend vs Redis (the machine's, loopback),
 * each a bounded run. A realistic admit: one subscription throttle + a DAY quota, keys spread
 * over 10,000 subscriptions. For Redis, "CPU µs/admit" is this process's CPU per admit — what
 * a gateway node pays (Redis itself runs on another core) — beside wall-clock throughput.
 *
 *   node --import tsx bench/limits.ts          (TOLLGATE_REDIS_URL to point elsewhere)
 */
import { pathToFileURL } from 'node:url';
import {
  type AdmitRequest,
  type LimitsBackend,
  MemoryLimits,
  quotaWindow,
  RedisLimits,
} from '../src/limits/index.js';

const SUBSCRIPTIONS = 10_000;

function requests(now: number): AdmitRequest[] {
  const w = quotaWindow('DAY', 'UTC', now);
  return Array.from({ length: SUBSCRIPTIONS }, (_, i) => ({
    throttles: [{ key: `c:sub_${i}`, rate: 1e6, burst: 1e6 }],
    quota: { key: `q:sub_${i}`, limit: 1e9, windowStart: w.start, windowEnd: w.end, mode: 'block' as const },
  }));
}

interface Run {
  name: string;
  inFlight: number;
  admits: number;
  seconds: number;
  cpuUs: number;
  refused: number;
}

function runMemory(seconds: number): Run {
  const m = new MemoryLimits();
  const reqs = requests(Date.now());
  let admits = 0;
  let refused = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  while (performance.now() < until) {
    for (let i = 0; i < 1000; i++) {
      const now = Date.now();
      const d = m.admit(reqs[admits % SUBSCRIPTIONS]!, now);
      if (!d.ok) refused++;
      admits++;
    }
  }
  const cpu = process.cpuUsage(cpu0);
  return {
    name: 'memory',
    inFlight: 1,
    admits,
    seconds: (performance.now() - t0) / 1000,
    cpuUs: cpu.user + cpu.system,
    refused,
  };
}

async function runAsync(name: string, b: LimitsBackend, inFlight: number, seconds: number): Promise<Run> {
  const reqs = requests(Date.now());
  let admits = 0;
  let refused = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  const worker = async () => {
    while (performance.now() < until) {
      const d = await b.admit(reqs[admits++ % SUBSCRIPTIONS]!, Date.now());
      if (!d.ok) refused++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const cpu = process.cpuUsage(cpu0);
  return {
    name,
    inFlight,
    admits,
    seconds: (performance.now() - t0) / 1000,
    cpuUs: cpu.user + cpu.system,
    refused,
  };
}

function windowCost(): string {
  const now = Date.now();
  const n = 1_000_000;
  quotaWindow('MONTH', 'Europe/Berlin', now);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) quotaWindow('MONTH', 'Europe/Berlin', now + (i & 1023));
  return (((performance.now() - t0) * 1000) / n).toFixed(3);
}

export async function benchLimits(opts: { seconds?: number; redisUrl?: string } = {}): Promise<string> {
  const seconds = opts.seconds ?? 2;
  const url = opts.redisUrl ?? process.env.TOLLGATE_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const runs: Run[] = [runMemory(seconds)];
  const prefix = `tgbench:${Date.now().toString(36)}:`;
  const redis = RedisLimits.connect(url, { prefix });
  let note = '';
  try {
    await redis.ready(2000);
    runs.push(await runAsync('redis', redis, 1, seconds));
    runs.push(await runAsync('redis', redis, 64, seconds));
  } catch (e) {
    note = `\nRedis at ${url} unavailable: ${String(e)}\n`;
  } finally {
    await cleanup(url, prefix);
    await redis.close();
  }
  const mem = runs[0]!;
  const rate = (r: Run) => r.admits / r.seconds;
  const lines = [
    '## Limits: in-process vs Redis',
    '',
    `${seconds} s per run; each admit = 1 token bucket + 1 DAY quota over ${SUBSCRIPTIONS.toLocaleString('en')} subscriptions; Redis with server time, loopback.`,
    '',
    '| backend | in flight | admits/s | wall µs/admit | CPU µs/admit (this process) | memory ÷ this |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...runs.map(
      (r) =>
        `| ${r.name} | ${r.inFlight} | ${Math.round(rate(r)).toLocaleString('en')} | ${((r.seconds * 1e6) / r.admits).toFixed(2)} | ${(r.cpuUs / r.admits).toFixed(2)} | ${(rate(mem) / rate(r)).toFixed(1)}× |`,
    ),
    '',
    `quotaWindow (cached, Europe/Berlin MONTH): ${windowCost()} µs/call.`,
    note,
  ];
  return lines.join('\n');
}

async function cleanup(url: string, prefix: string): Promise<void> {
  const { Redis } = await import('ioredis');
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  r.on('error', () => {});
  try {
    await r.connect();
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await r.unlink(...keys);
    } while (cursor !== '0');
  } catch {
    // nothing to clean when Redis is not there
  } finally {
    r.disconnect();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(await benchLimits());
}
