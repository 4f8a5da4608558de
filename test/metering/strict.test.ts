import { spawnSync } from 'node:child_process';
import {
  appendFileSync,
  cpSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMeter, type Meter, type MeterOptions, type UsageEvent } from '../../src/metering/index.js';
import { formatEntry, parseEntry } from '../../src/metering/log.js';
import { ManualClock, silentLogger } from '../../src/shared/index.js';
import type { Store } from '../../src/store/index.js';
import { usageRows } from './fixtures/seed.js';
import { meteringStores } from './fixtures/stores.js';

const T0 = Date.UTC(2026, 10, 26, 10, 0, 0);
const ev = (keyId: string, units = 1): UsageEvent => ({
  subscriptionId: 'sub_1',
  keyId,
  apiId: 'api_1',
  routeId: 'rte_1',
  dimension: 'requests',
  units,
  status: 200,
  bytes: 0,
  latencyMs: 1,
  at: T0,
  billable: true,
});
const logs = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.log'))
    .sort();
const neverCommit = { beforeCommit: () => Promise.reject(new Error('crash before COMMIT')) };

describe('strict log lines', () => {
  it('round-trips and rejects torn or altered lines', () => {
    const line = formatEntry(42, 'sub_1', 'key "1"', 'api_1', 'requests', T0, 3);
    expect(line.endsWith('\n')).toBe(true);
    expect(parseEntry(line.slice(0, -1))).toEqual({
      seq: 42,
      subscriptionId: 'sub_1',
      keyId: 'key "1"',
      apiId: 'api_1',
      dimension: 'requests',
      hour: T0,
      units: 3,
      requests: 1,
    });
    for (let cut = 1; cut < line.length - 1; cut++) expect(parseEntry(line.slice(0, cut))).toBeNull();
    expect(parseEntry(line.slice(0, -1).replace('"sub_1"', '"sub_2"'))).toBeNull();
  });
});

for (const kind of await meteringStores()) {
  describe(`meter (strict) on ${kind.name}`, () => {
    let store: Store;
    let root: string;
    let n = 0;
    beforeAll(async () => {
      store = await kind.open();
      root = mkdtempSync(join(tmpdir(), 'tollgate-strict-'));
    });
    afterAll(async () => {
      await store.close();
      rmSync(root, { recursive: true, force: true });
    });

    /** A fresh node name and data dir per test, so tests share the store but not the log. */
    function fresh() {
      n++;
      return { node: `s${n}`, dataDir: join(root, `d${n}`) };
    }
    async function meter(o: Partial<MeterOptions> & { node: string; dataDir: string }): Promise<Meter> {
      return createMeter({
        store,
        clock: new ManualClock(T0),
        log: silentLogger,
        durability: 'strict',
        flushIntervalMs: 3_600_000,
        ...o,
      });
    }
    async function metered(keyPrefix: string): Promise<number> {
      return (await usageRows(store))
        .filter((r) => r.key_id.startsWith(keyPrefix))
        .reduce((s, r) => s + r.requests, 0);
    }

    it('resolves record() after a shared fsync: concurrent events are group-committed', async () => {
      const f = fresh();
      const m = await meter(f);
      const p = m.record(ev(`${f.node}k`));
      expect(p).toBeInstanceOf(Promise);
      expect(m.metrics.queueDepth).toBe(1);
      await p;
      expect(m.metrics.fsyncs).toBe(1);
      const all = Array.from({ length: 500 }, (_, i) => m.record(ev(`${f.node}k${i % 5}`)));
      expect(new Set(all).size).toBe(1); // one group, one promise
      await Promise.all(all);
      expect(m.metrics.fsyncs).toBe(2);
      expect(m.metrics.fsyncEvents).toBe(501);
      expect(m.metrics.queueDepth).toBe(0);
      const [file] = logs(f.dataDir);
      expect(readFileSync(join(f.dataDir, file!), 'utf8').split('\n')).toHaveLength(502);
      // Non-billable events need no durability.
      expect(m.record({ ...ev('x'), billable: false })).toBeUndefined();
      await m.close();
      expect(await metered(`${f.node}k`)).toBe(501);
      expect(logs(f.dataDir)).toEqual([]);
      expect(m.metrics.checkpoint).toBe(501);
    });

    it('replays what was acknowledged but never committed (crash before or during flush)', async () => {
      const f = fresh();
      const a = await meter({ ...f, faults: neverCommit });
      await Promise.all(Array.from({ length: 40 }, (_, i) => a.record(ev(`${f.node}k${i % 4}`, 2))));
      await expect(a.close()).rejects.toThrow('crash before COMMIT');
      expect(await metered(f.node)).toBe(0);
      expect(logs(f.dataDir)).toHaveLength(1);

      const b = await meter(f);
      expect(b.metrics.unflushedEvents).toBe(0); // replayed and flushed during start-up
      expect(b.metrics.checkpoint).toBe(40);
      expect(await metered(f.node)).toBe(40);
      expect((await usageRows(store)).find((r) => r.key_id === `${f.node}k0`)).toMatchObject({
        units: 20,
        requests: 10,
      });
      // New events continue the sequence after the replayed ones.
      await b.record(ev(`${f.node}k0`));
      await b.close();
      expect(b.metrics.checkpoint).toBe(41);
      expect(await metered(f.node)).toBe(41);
    });

    it('skips what a committed flush covered when the log survived (crash after COMMIT, before deletion)', async () => {
      const f = fresh();
      const a = await meter(f);
      await Promise.all(Array.from({ length: 25 }, () => a.record(ev(`${f.node}k`))));
      const snapshot = join(root, `${f.node}-snapshot`);
      cpSync(f.dataDir, snapshot, { recursive: true });
      await a.flush();
      await a.close();
      expect(await metered(f.node)).toBe(25);
      rmSync(f.dataDir, { recursive: true });
      cpSync(snapshot, f.dataDir, { recursive: true });
      expect(logs(f.dataDir)).toHaveLength(1);

      const b = await meter(f);
      expect(await metered(f.node)).toBe(25);
      expect(logs(f.dataDir)).toHaveLength(1); // only b's own, fresh segment
      await b.close();
      expect(logs(f.dataDir)).toEqual([]);
    });

    it('ignores a torn last line and a garbled tail, counting every complete line once', async () => {
      const f = fresh();
      const a = await meter({ ...f, faults: neverCommit });
      await Promise.all(Array.from({ length: 10 }, () => a.record(ev(`${f.node}k`))));
      await expect(a.close()).rejects.toThrow();
      const [file] = logs(f.dataDir);
      const path = join(f.dataDir, file!);
      // A later group that never finished: one line with a bad checksum, then half a line.
      const next = formatEntry(11, 'sub_1', `${f.node}k`, 'api_1', 'requests', T0, 1);
      appendFileSync(path, `0${next}`);
      appendFileSync(path, formatEntry(12, 'sub_1', `${f.node}k`, 'api_1', 'requests', T0, 1).slice(0, 30));

      const b = await meter(f);
      expect(await metered(f.node)).toBe(10);
      // The next sequence is past the highest valid entry, whatever the garbage held.
      await b.record(ev(`${f.node}k`));
      await b.close();
      expect(await metered(f.node)).toBe(11);
      expect(b.metrics.checkpoint).toBe(11);
      const c = await meter(f);
      expect(await metered(f.node)).toBe(11);
      await c.close();
    });

    it('rotates segments and deletes those the checkpoint covers', async () => {
      const f = fresh();
      const m = await meter({ ...f, maxSegmentBytes: 1024 });
      for (let round = 0; round < 6; round++) {
        await Promise.all(Array.from({ length: 20 }, () => m.record(ev(`${f.node}k`))));
      }
      expect(logs(f.dataDir).length).toBeGreaterThan(3);
      await m.flush();
      expect(logs(f.dataDir)).toHaveLength(1); // only the active segment is left
      await Promise.all(Array.from({ length: 20 }, () => m.record(ev(`${f.node}k`))));
      await m.close();
      expect(logs(f.dataDir)).toEqual([]);
      expect(await metered(f.node)).toBe(140);
    });

    it('continues the sequence from the store when the log directory is gone', async () => {
      const f = fresh();
      const a = await meter(f);
      await Promise.all(Array.from({ length: 5 }, () => a.record(ev(`${f.node}k`))));
      await a.close();
      rmSync(f.dataDir, { recursive: true, force: true });
      const b = await meter({ ...f, faults: neverCommit });
      await b.record(ev(`${f.node}k`));
      await expect(b.close()).rejects.toThrow();
      const c = await meter(f);
      expect(c.metrics.checkpoint).toBe(6);
      await c.close();
      expect(await metered(f.node)).toBe(6);
    });

    it("lets one live process own a node's log directory, and takes over a dead owner's lock", async () => {
      const f = fresh();
      const a = await meter(f);
      await expect(meter({ ...f, lockWaitMs: 150 })).rejects.toThrow(/held by live process/);
      // The refused start did not fence the owner: it still commits.
      await a.record(ev(`${f.node}k`));
      await a.flush();
      await a.close();
      expect(await metered(f.node)).toBe(1);
      const lock = join(f.dataDir, `usage-${f.node}.lock`);
      writeFileSync(lock, String(process.ppid)); // another live process
      await expect(meter({ ...f, lockWaitMs: 150 })).rejects.toThrow(/held by live process/);
      const dead = spawnSync(process.execPath, ['-e', 'process.pid']).pid!;
      writeFileSync(lock, String(dead));
      const b = await meter(f);
      await b.close();
      writeFileSync(lock, String(process.pid)); // left by a previous life of this pid (container restart)
      const c = await meter(f);
      await c.close();
      expect(readdirSync(f.dataDir)).toEqual([]);
    });

    it('fences a process whose node name was started again elsewhere', async () => {
      const f = fresh();
      const a = await meter(f);
      await a.record(ev(`${f.node}k`));
      const b = await meter({ ...f, dataDir: `${f.dataDir}-other` });
      await expect(a.flush()).rejects.toThrow(/started again elsewhere/);
      expect(await metered(f.node)).toBe(0);
      await b.close();
      await expect(a.close()).rejects.toThrow(/started again elsewhere/);
      expect(logs(f.dataDir)).toHaveLength(1); // the event stays on disk for an operator to recover
    });
  });
}
