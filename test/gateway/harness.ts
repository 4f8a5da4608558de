/** A gateway on a real socket over a real SQLite file, with a manual clock and in-memory limits. */
import { Gateway, type GatewayObserver, type ServingGuard, SnapshotHolder } from '../../src/gateway/index.js';
import { MemoryLimits } from '../../src/limits/index.js';
import { type Meter, offMeter } from '../../src/metering/index.js';
import { ManualClock, silentLogger } from '../../src/shared/index.js';
import type { Store } from '../../src/store/index.js';
import { testOutbound } from '../helpers/outbound.js';
import { sqliteStore } from '../helpers/stores.js';

export interface Harness {
  store: Store;
  clock: ManualClock;
  gateway: Gateway;
  snapshots: SnapshotHolder;
  url: string;
  call(path: string, init?: RequestInit & { key?: string }): Promise<Response>;
  close(): Promise<void>;
}

export async function startHarness(
  opts: {
    store?: Store;
    meter?: Meter;
    headersTimeoutMs?: number;
    observer?: GatewayObserver;
    guard?: ServingGuard;
  } = {},
): Promise<Harness> {
  const store = opts.store ?? (await sqliteStore.open());
  const clock = new ManualClock(Date.UTC(2026, 10, 26, 12, 0, 0));
  const snapshots = await SnapshotHolder.create(store, () => clock.now(), silentLogger);
  const gateway = new Gateway({
    snapshots,
    limits: new MemoryLimits(),
    meter: opts.meter ?? offMeter(),
    ...(opts.observer ? { observer: opts.observer } : {}),
    ...(opts.guard ? { guard: opts.guard } : {}),
    clock,
    log: silentLogger,
    // The test's own upstreams listen on loopback: allowed explicitly.
    outbound: testOutbound(),
    upstream: {
      connectTimeoutMs: 2_000,
      headersTimeoutMs: opts.headersTimeoutMs ?? 5_000,
      bodyTimeoutMs: 10_000,
      connections: 16,
    },
  });
  const port = await gateway.listen(0, '127.0.0.1');
  const url = `http://127.0.0.1:${port}`;
  return {
    store,
    clock,
    gateway,
    snapshots,
    url,
    call: (path, init = {}) => {
      const headers = new Headers(init.headers);
      if (init.key) headers.set('x-api-key', init.key);
      return fetch(url + path, { ...init, headers });
    },
    close: async () => {
      await gateway.close(1000);
      snapshots.stop();
      if (!opts.store) await store.close();
    },
  };
}
