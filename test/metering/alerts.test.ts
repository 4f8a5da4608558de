import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createMeter,
  createUsageAlerts,
  type UsageAlert,
  type UsageEvent,
} from '../../src/metering/index.js';
import { ManualClock, silentLogger } from '../../src/shared/index.js';
import type { Store } from '../../src/store/index.js';
import { seedPlan, seedSubscription } from './fixtures/seed.js';
import { meteringStores } from './fixtures/stores.js';

const Z = (s: string) => Date.parse(s);
const ev = (at: number): UsageEvent => ({
  subscriptionId: 'sub_q',
  keyId: 'key_q',
  apiId: 'api_1',
  routeId: 'rte_1',
  dimension: 'requests',
  units: 1,
  status: 200,
  bytes: 0,
  latencyMs: 1,
  at,
  billable: true,
});

for (const kind of await meteringStores()) {
  describe(`usage alerts on ${kind.name}`, () => {
    let store: Store;
    let dir: string;
    beforeAll(async () => {
      store = await kind.open();
      dir = mkdtempSync(join(tmpdir(), 'tollgate-alerts-'));
      await seedPlan(store, { id: 'pln_q', quotaLimit: 10, quotaPeriod: 'DAY' });
      await seedSubscription(store, { id: 'sub_q', planId: 'pln_q', keys: ['key_q'] });
    });
    afterAll(async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('alerts once per threshold per window, from flushed usage, and not again after a restart', async () => {
      const clock = new ManualClock(Z('2026-11-26T09:00:00Z'));
      const sent: UsageAlert[] = [];
      const make = () =>
        createUsageAlerts({ store, clock, log: silentLogger, notify: (a) => void sent.push(a) });
      let alerts = make();
      let pending: Promise<void> = Promise.resolve();
      const meter = await createMeter({
        store,
        clock,
        log: silentLogger,
        durability: 'batched',
        dataDir: dir,
        node: 'alerts',
        flushIntervalMs: 3_600_000,
        onFlushed: (rows) => {
          pending = alerts.onFlushed(rows);
        },
      });
      const calls = async (n: number) => {
        for (let i = 0; i < n; i++) meter.record(ev(clock.now()));
        await meter.flush();
        await pending;
      };
      await calls(4);
      expect(sent).toEqual([]);
      await calls(1); // 5/10
      expect(sent.map((a) => [a.kind, a.threshold, a.used, a.limit])).toEqual([['quota', 50, 5, 10]]);
      expect(sent[0]!.window).toEqual({ start: Z('2026-11-26T00:00:00Z'), end: Z('2026-11-27T00:00:00Z') });
      await calls(1);
      expect(sent).toHaveLength(1);

      alerts = make(); // a restart: what was sent lives in the store
      await calls(5); // 11/10: crosses 80 and 100 in one flush
      expect(sent.map((a) => a.threshold)).toEqual([50, 80, 100]);
      await calls(3);
      expect(sent).toHaveLength(3);

      clock.set(Z('2026-11-27T08:00:00Z')); // a new window
      await calls(5);
      expect(sent.map((a) => [a.threshold, a.window.start])).toEqual([
        [50, Z('2026-11-26T00:00:00Z')],
        [80, Z('2026-11-26T00:00:00Z')],
        [100, Z('2026-11-26T00:00:00Z')],
        [50, Z('2026-11-27T00:00:00Z')],
      ]);
      await meter.close();
      const rows = await store.db.selectFrom('usage_alerts').selectAll().execute();
      expect(rows).toHaveLength(4);
    });

    it('retries an alert whose delivery failed, and alerts on spend thresholds with decimals', async () => {
      const clock = new ManualClock(Z('2026-11-26T09:00:00Z'));
      let failures = 1;
      const sent: UsageAlert[] = [];
      const alerts = createUsageAlerts({
        store,
        clock,
        log: silentLogger,
        thresholds: [50, 100],
        notify: (a) => {
          if (a.kind === 'spend' && failures-- > 0) throw new Error('webhook down');
          sent.push(a);
        },
        spendOf: async () => ({
          spent: '5.005',
          limit: '10.00',
          currency: 'USD',
          window: { start: Z('2026-11-01T00:00:00Z'), end: Z('2026-12-01T00:00:00Z') },
        }),
      });
      expect(await alerts.check('sub_q')).toEqual([]); // quota alerts already sent; spend delivery failed
      const again = await alerts.check('sub_q');
      expect(again).toEqual([
        {
          kind: 'spend',
          subscriptionId: 'sub_q',
          threshold: 50,
          used: '5.005',
          limit: '10.00',
          currency: 'USD',
          window: { start: Z('2026-11-01T00:00:00Z'), end: Z('2026-12-01T00:00:00Z') },
        },
      ]);
      expect(await alerts.check('sub_q')).toEqual([]);
    });
  });
}
