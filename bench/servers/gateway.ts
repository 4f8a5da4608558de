/**
 * The full Tollgate gateway for benchmarks: real SQLite store, snapshot, in-memory or Redis
 * limits, auth + throttle + quota + proxy, and metering off|batched|strict.
 * Usage: gateway.ts <upstreamPort> <metering> <limits: memory|redis>. Prints its port.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Gateway, SnapshotHolder } from '../../src/gateway/index.js';
import { fromValue } from '../../src/keys/index.js';
import { MemoryLimits, RedisLimits } from '../../src/limits/index.js';
import { createMeter, type Durability } from '../../src/metering/index.js';
import { OutboundPolicy, silentLogger, systemClock } from '../../src/shared/index.js';
import { openStore } from '../../src/store/index.js';
import { seedApi, seedPlan, seedProvider, seedSubscription } from '../../test/helpers/seed.js';

const [upstreamPort, metering = 'off', limitsKind = 'memory'] = process.argv.slice(2);
const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-'));
const store = await openStore(`sqlite:${join(dir, 'bench.db')}`);
const prv = await seedProvider(store);
const { apiId } = await seedApi(store, prv, `http://127.0.0.1:${upstreamPort}`, {
  routes: [{ path: '/{proxy+}' }],
});
const plan = await seedPlan(store, prv, [apiId], {
  throttle: { rate: 1e9, burst: 1e9 },
  quota: { limit: 1e12, period: 'MONTH' },
});
const { subscriptionId } = await seedSubscription(store, plan);
const k = fromValue('bench-key-0123456789abcdef');
await store.db
  .insertInto('api_keys')
  .values({
    id: 'key_bench',
    subscription_id: subscriptionId,
    name: 'bench',
    prefix: k.prefix,
    hash: k.hash,
    enabled: 1,
    expires_at: null,
    replaced_by: null,
    created_at: 0,
    updated_at: 0,
  })
  .execute();

const limits =
  limitsKind === 'redis'
    ? new RedisLimits({
        redis: new Redis(process.env.TOLLGATE_BENCH_REDIS ?? 'redis://127.0.0.1:6379'),
        prefix: `bench:${process.pid}:`,
      })
    : new MemoryLimits();
const meter = await createMeter({
  store,
  clock: systemClock,
  log: silentLogger,
  durability: metering as Durability,
  dataDir: dir,
  node: 'bench',
});
const snapshots = await SnapshotHolder.create(store, () => Date.now(), silentLogger);
const gateway = new Gateway({
  snapshots,
  limits,
  meter,
  clock: systemClock,
  log: silentLogger,
  outbound: new OutboundPolicy({ allow: ['127.0.0.1'] }),
  upstream: { connectTimeoutMs: 5000, headersTimeoutMs: 30000, bodyTimeoutMs: 30000, connections: 128 },
});
const port = await gateway.listen(0, '127.0.0.1');
console.log(String(port));
process.on('SIGTERM', async () => {
  await gateway.close(1000);
  await meter.close();
  process.exit(0);
});
