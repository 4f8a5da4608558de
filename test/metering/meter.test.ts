import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMeter, type FlushedRow, type Meter, type UsageEvent } from '../../src/metering/index.js';
import { faultCounts, ManualClock, silentLogger } from '../../src/shared/index.js';
import type { Store } from '../../src/store/index.js';
import { usageRows } from './fixtures/seed.js';
import { meteringStores } from './fixtures/stores.js';

const H = 3_600_000;
const T0 = Date.UTC(2026, 10, 26, 10, 0, 0);

function event(over: Partial<UsageEvent>): UsageEvent {
  return {
    subscriptionId: 'sub_1',
    keyId: 'key_1',
    apiId: 'api_1',
    routeId: 'rte_1',
    dimension: 'requests',
    units: 1,
    status: 200,
    bytes: 10,
    latencyMs: 3,
    at: T0,
    billable: true,
    ...over,
  };
}

/** A mix of keys, routes, dimensions and statuses either side of 11:00 UTC. */
function requestMix(clock: ManualClock): UsageEvent[] {
  const out: UsageEvent[] = [];
  const plan: Array<[number, Partial<UsageEvent>]> = [
    [5, { keyId: 'key_1' }],
    [3, { keyId: 'key_2', dimension: 'captures', units: 2, routeId: 'rte_2' }],
    [4, { subscriptionId: 'sub_2', keyId: 'key_3', apiId: 'api_2', dimension: 'chars', units: 1000 }],
    [2, { keyId: 'key_1', status: 502, billable: false }],
    [1, { keyId: 'key_1', status: 404 }],
  ];
  // 59 min 59.999 s into the 10:00 hour, then exactly 11:00, then 11:30.
  for (const at of [T0 + H - 1, T0 + H, T0 + H + 30 * 60_000]) {
    clock.set(at);
    for (const [n, over] of plan) for (let i = 0; i < n; i++) out.push(event({ ...over, at: clock.now() }));
  }
  return out;
}

/** The expected aggregates, computed independently of the meter. */
function expected(events: UsageEvent[]) {
  const m = new Map<
    string,
    {
      subscription_id: string;
      key_id: string;
      api_id: string;
      dimension: string;
      hour: number;
      units: number;
      requests: number;
    }
  >();
  for (const e of events) {
    if (!e.billable) continue;
    const hour = Math.floor(e.at / H) * H;
    const k = [e.subscriptionId, e.keyId, e.apiId, e.dimension, hour].join('|');
    const r = m.get(k) ?? {
      subscription_id: e.subscriptionId,
      key_id: e.keyId,
      api_id: e.apiId,
      dimension: e.dimension,
      hour,
      units: 0,
      requests: 0,
    };
    r.units += e.units;
    r.requests += 1;
    m.set(k, r);
  }
  return [...m.values()].sort((a, b) =>
    [a.subscription_id, a.key_id, a.api_id, a.dimension, String(a.hour).padStart(16)].join('|') <
    [b.subscription_id, b.key_id, b.api_id, b.dimension, String(b.hour).padStart(16)].join('|')
      ? -1
      : 1,
  );
}

for (const kind of await meteringStores()) {
  describe(`meter (batched) on ${kind.name}`, () => {
    let store: Store;
    let dir: string;
    const meters: Meter[] = [];
    beforeAll(async () => {
      store = await kind.open();
      dir = mkdtempSync(join(tmpdir(), 'tollgate-meter-'));
    });
    afterEach(async () => {
      for (const m of meters.splice(0)) await m.close().catch(() => {});
      await store.db.deleteFrom('usage').execute();
      await store.db.deleteFrom('rejections').execute();
      await store.db.deleteFrom('usage_batches').execute();
    });
    afterAll(async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });

    async function meter(extra: Partial<Parameters<typeof createMeter>[0]> = {}) {
      const m = await createMeter({
        store,
        clock: extra.clock ?? new ManualClock(T0),
        log: silentLogger,
        durability: 'batched',
        dataDir: dir,
        node: 'n1',
        flushIntervalMs: 3_600_000,
        ...extra,
      });
      meters.push(m);
      return m;
    }

    it('aggregates a known request mix across an hour boundary exactly', async () => {
      const clock = new ManualClock(T0);
      const flushed: FlushedRow[][] = [];
      const m = await meter({ clock, onFlushed: (rows) => void flushed.push(rows) });
      const events = requestMix(clock);
      for (const e of events.slice(0, 20)) expect(m.record(e)).toBeUndefined();
      await m.flush();
      for (const e of events.slice(20)) m.record(e);
      expect(m.metrics.unflushedEvents).toBe(events.slice(20).filter((e) => e.billable).length);
      await m.flush();
      expect(m.metrics.unflushedEvents).toBe(0);

      const rows = await usageRows(store);
      expect(rows).toEqual(expected(events));
      // Spot checks by hand: key_1 in the 10:00 hour saw 5 + 1 (404) billable, 2 (502) not.
      expect(rows.find((r) => r.key_id === 'key_1' && r.hour === T0)).toMatchObject({
        units: 6,
        requests: 6,
      });
      expect(rows.find((r) => r.key_id === 'key_1' && r.hour === T0 + H)).toMatchObject({
        units: 12,
        requests: 12,
      });
      expect(rows.find((r) => r.key_id === 'key_3' && r.hour === T0 + H)).toMatchObject({
        units: 8000,
        requests: 8,
      });
      expect(rows.find((r) => r.dimension === 'captures' && r.hour === T0)).toMatchObject({
        units: 6,
        requests: 3,
      });

      const batches = await store.db.selectFrom('usage_batches').selectAll().orderBy('batch_id').execute();
      expect(batches).toHaveLength(2);
      expect(batches.map((b) => b.batch_id)).toEqual([
        expect.stringMatching(/^n1:\d+:1$/),
        expect.stringMatching(/^n1:\d+:2$/),
      ]);
      expect(batches.reduce((s, b) => s + Number(b.events), 0)).toBe(events.filter((e) => e.billable).length);

      // onFlushed sums over keys and APIs per subscription, dimension and hour.
      const all = flushed.flat();
      const s1req = all.filter((r) => r.subscriptionId === 'sub_1' && r.dimension === 'requests');
      expect(s1req.reduce((s, r) => s + r.requests, 0)).toBe(18);
    });

    it('counts rejections separately and never bills them', async () => {
      const m = await meter();
      for (const code of ['FORBIDDEN', 'FORBIDDEN', 'THROTTLED', 'QUOTA_EXCEEDED'] as const) {
        m.recordRejection({
          apiId: 'api_1',
          routeId: 'rte_1',
          subscriptionId: null,
          keyId: null,
          code,
          at: T0 + 5,
        });
      }
      m.recordRejection({
        apiId: null,
        routeId: null,
        subscriptionId: null,
        keyId: null,
        code: 'NO_ROUTE',
        at: T0 + H,
      });
      await m.flush();
      expect(await usageRows(store)).toEqual([]);
      const rej = await store.db
        .selectFrom('rejections')
        .selectAll()
        .orderBy('hour')
        .orderBy('code')
        .execute();
      expect(rej.map((r) => [r.code, Number(r.count), Number(r.hour), r.api_id, r.key_id])).toEqual([
        ['FORBIDDEN', 2, T0, 'api_1', ''],
        ['QUOTA_EXCEEDED', 1, T0, 'api_1', ''],
        ['THROTTLED', 1, T0, 'api_1', ''],
        ['NO_ROUTE', 1, T0 + H, '', ''],
      ]);
    });

    it('retries a flush whose COMMIT succeeded but reported an error without counting it twice', async () => {
      let failAfterCommit = true;
      const m = await meter({
        faults: {
          afterCommit: () => {
            if (failAfterCommit) {
              failAfterCommit = false;
              throw new Error('connection reset after COMMIT');
            }
          },
        },
      });
      for (let i = 0; i < 7; i++) m.record(event({ units: 3 }));
      await expect(m.flush()).rejects.toThrow('connection reset');
      expect(m.metrics.flushFailures).toBe(1);
      expect(m.metrics.unflushedEvents).toBe(7);
      // Events recorded meanwhile must not join the batch that may have committed.
      for (let i = 0; i < 2; i++) m.record(event({ units: 3 }));
      await m.flush();
      expect(m.metrics.unflushedEvents).toBe(0);
      const rows = await usageRows(store);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ units: 27, requests: 9 });
      const batches = await store.db.selectFrom('usage_batches').selectAll().orderBy('batch_id').execute();
      expect(batches.map((b) => [b.batch_id.split(':')[2], Number(b.events)])).toEqual([
        ['1', 7],
        ['2', 2],
      ]);
    });

    it('keeps a batch whose transaction failed and writes it on the next flush', async () => {
      let fail = 2;
      const m = await meter({
        faults: {
          beforeCommit: () => {
            if (fail-- > 0) throw new Error('database went away');
          },
        },
      });
      for (let i = 0; i < 4; i++) m.record(event({ keyId: `key_${i % 2}` }));
      await expect(m.flush()).rejects.toThrow('went away');
      await expect(m.flush()).rejects.toThrow('went away');
      expect(await usageRows(store)).toEqual([]);
      await m.flush();
      expect((await usageRows(store)).map((r) => [r.key_id, r.requests])).toEqual([
        ['key_0', 2],
        ['key_1', 2],
      ]);
      expect(await store.db.selectFrom('usage_batches').select('batch_id').execute()).toHaveLength(1);
    });

    it('reports a timed flush that fails (logged with its site, counted in tollgate_faults_total) and writes the batch on the retry', async () => {
      const lines: Array<Record<string, unknown>> = [];
      const log = pino({ level: 'error' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
      const before = faultCounts().get('metering.flush') ?? 0;
      let fail = 1;
      const m = await meter({
        log,
        flushIntervalMs: 20,
        faults: {
          beforeCommit: () => {
            if (fail-- > 0) throw new Error('database went away');
          },
        },
      });
      m.record(event({ units: 5 }));
      for (let i = 0; i < 500 && (await usageRows(store)).length === 0; i++)
        await new Promise((r) => setTimeout(r, 10));
      expect(faultCounts().get('metering.flush')).toBe(before + 1);
      const reported = lines.find((l) => l.site === 'metering.flush');
      expect(reported).toMatchObject({ msg: 'metering: flush failed; will retry', unflushed: 1 });
      expect(reported?.err).toMatchObject({ message: 'database went away' });
      expect((await usageRows(store)).map((r) => Number(r.units))).toEqual([5]);
    });

    it('reports an onFlushed listener that fails instead of dropping its error', async () => {
      const before = faultCounts().get('metering.on_flushed') ?? 0;
      const m = await meter({
        onFlushed: async () => {
          throw new Error('alerts store down');
        },
      });
      m.record(event({}));
      await m.flush();
      for (let i = 0; i < 100 && (faultCounts().get('metering.on_flushed') ?? 0) === before; i++)
        await new Promise((r) => setTimeout(r, 10));
      expect(faultCounts().get('metering.on_flushed')).toBe(before + 1);
    });

    it('flushes on its timer and on close, and a second meter on the node gets a new epoch', async () => {
      const m = await meter({ flushIntervalMs: 20 });
      m.record(event({}));
      for (let i = 0; i < 100 && (await usageRows(store)).length === 0; i++)
        await new Promise((r) => setTimeout(r, 10));
      expect((await usageRows(store))[0]).toMatchObject({ requests: 1 });
      const m2 = await meter();
      m2.record(event({}));
      await m2.close();
      expect((await usageRows(store))[0]).toMatchObject({ requests: 2 });
      const ids = (await store.db.selectFrom('usage_batches').select('batch_id').execute()).map(
        (b) => b.batch_id,
      );
      expect(new Set(ids.map((id) => id.split(':')[1])).size).toBe(2);
      expect(() => m2.record(event({}))).toThrow(/after close/);
    });

    it("'off' records nothing and touches no table", async () => {
      const m = await meter({ durability: 'off' });
      expect(m.record(event({}))).toBeUndefined();
      await m.flush();
      await m.close();
      expect(await usageRows(store)).toEqual([]);
    });

    it('refuses bad options and bad units', async () => {
      await expect(meter({ node: 'bad node/..' })).rejects.toThrow(/metering.node/);
      await expect(meter({ flushIntervalMs: 0 })).rejects.toThrow(/flushIntervalMs/);
      await expect(meter({ durability: 'sometimes' as 'off' })).rejects.toThrow(/durability/);
      const m = await meter();
      expect(() => m.record(event({ units: 1.5 }))).toThrow(/units/);
      expect(() => m.record(event({ units: -1 }))).toThrow(/units/);
      expect(() => m.record(event({ at: Number.NaN }))).toThrow(/at must be/);
      expect(() =>
        m.recordRejection({
          apiId: null,
          routeId: null,
          subscriptionId: null,
          keyId: null,
          code: 'NO_ROUTE',
          at: -1,
        }),
      ).toThrow(/at must be/);
      expect(m.metrics.unflushedEvents).toBe(0);
    });
  });
}
