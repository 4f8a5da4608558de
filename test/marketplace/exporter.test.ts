/**
 * The metering exporter against a loopback marketplace that throttles, drops records into
 * UnprocessedRecords and goes down for an hour: no usage lost, none duplicated.
 */
import { MarketplaceMeteringClient } from '@aws-sdk/client-marketplace-metering';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createExporter, type ExportAlert } from '../../src/marketplace/exporter.js';
import { ManualClock, silentLogger } from '../../src/shared/index.js';
import type { Store } from '../../src/store/index.js';
import { testStores } from '../helpers/stores.js';
import { type FakeMarketplace, fakeMarketplace } from './fake-marketplace.js';
import { addUsage, seedExternalSubscription, seedProduct, seedProvider } from './fixtures.js';

const HOUR = 3600_000;
const MIN = 60_000;
const T0 = Date.UTC(2026, 10, 26, 0, 0);

for (const kind of await testStores()) {
  describe(`metering exporter on ${kind.name}`, () => {
    let store: Store;
    let fake: FakeMarketplace;
    let client: MarketplaceMeteringClient;
    let seed: Awaited<ReturnType<typeof seedProvider>>;
    let clock: ManualClock;
    let alerts: ExportAlert[];
    let sleeps: number[];
    let n = 0;

    const exporter = () =>
      createExporter({
        db: store.db,
        clock,
        log: silentLogger,
        metering: client,
        sleep: async (ms) => {
          sleeps.push(ms);
          clock.advance(ms);
        },
        onAlert: (a) => alerts.push(a),
      });
    const external = () => {
      n++;
      return { ProductCode: 'prod-abc', CustomerIdentifier: `cust-${kind.name}-${n}` };
    };
    const sent = (cust: string) =>
      [...fake.accepted.entries()]
        .filter(([k]) => k.startsWith(`${cust}|`))
        .map(([k, q]) => [k.split('|')[1], Number(k.split('|')[2]), q]);

    beforeAll(async () => {
      store = await kind.open();
      fake = await fakeMarketplace();
      seed = await seedProvider(store.db, T0);
    });
    beforeEach(async () => {
      // Each test starts with no live external subscriptions from the tests before it.
      await store.db.updateTable('subscriptions').set({ status: 'cancelled' }).execute();
      clock = new ManualClock(T0);
      alerts = [];
      sleeps = [];
      fake.throttleNext = 0;
      fake.dropFirstSight = false;
      await fake.up().catch(() => undefined);
      client?.destroy();
      client = new MarketplaceMeteringClient({
        endpoint: fake.url,
        region: 'us-east-1',
        maxAttempts: 1,
        credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      });
    });
    afterAll(async () => {
      client?.destroy();
      await fake?.close();
      await store?.close();
    });

    it('survives throttling, dropped records and an hour of downtime without losing or duplicating usage', async () => {
      const ext = external();
      const { subscriptionId } = await seedExternalSubscription(store.db, T0 + 10 * MIN, seed.planId, ext);
      const ex = exporter();
      const usage: Record<string, number> = { requests: 0, chars: 0 };
      const use = async (dim: string, hour: number, units: number) => {
        usage[dim]! += units;
        await addUsage(store.db, subscriptionId, dim, T0 + hour * HOUR, units);
      };
      await use('requests', 0, 5);
      await use('chars', 0, 120);

      // Hour 0 complete; the marketplace throttles twice.
      fake.throttleNext = 2;
      clock.set(T0 + HOUR + 3 * MIN);
      let r = await ex.runOnce();
      expect(r).toMatchObject({ planned: 2, sent: 2, pending: 0 });
      expect(sleeps).toEqual([1000, 2000]);

      // Hour 1 idle: zero records; every record is dropped once into UnprocessedRecords.
      fake.dropFirstSight = true;
      clock.set(T0 + 2 * HOUR + 3 * MIN);
      r = await ex.runOnce();
      expect(r).toMatchObject({ planned: 2, sent: 2, pending: 0 });

      // Hours 2–3: usage, but the marketplace is down for an hour (two runs fail).
      await use('requests', 2, 7);
      await fake.down();
      clock.set(T0 + 3 * HOUR + 3 * MIN);
      r = await ex.runOnce();
      expect(r).toMatchObject({ planned: 2, sent: 0, pending: 2 });
      await use('chars', 3, 40);
      clock.set(T0 + 4 * HOUR + 3 * MIN);
      r = await ex.runOnce();
      expect(r).toMatchObject({ planned: 2, sent: 0, pending: 4 });

      // Late usage for the frozen hour 2 is carried into the next record, not re-sent.
      await use('requests', 2, 3);
      await fake.up();
      clock.set(T0 + 5 * HOUR + 3 * MIN);
      r = await ex.runOnce();
      expect(r).toMatchObject({ planned: 2, sent: 6, pending: 0 });

      expect(fake.duplicates).toBe(0);
      expect(alerts).toEqual([]);
      const records = sent(ext.CustomerIdentifier);
      // One record per dimension per hour, hour-aligned, hours 0..4.
      expect(records).toHaveLength(10);
      for (const [, t] of records) expect((t as number) % HOUR).toBe(0);
      const totals = { requests: 0, chars: 0 } as Record<string, number>;
      for (const [dim, , q] of records) totals[dim as string]! += q as number;
      expect(totals).toEqual(usage);
      expect(records).toContainEqual(['requests', T0 + 4 * HOUR, 3]); // the carried late usage
      const ledger = await ex.ledger(subscriptionId);
      expect(new Set(ledger.map((l) => l.status))).toEqual(new Set(['sent']));

      // Running again sends nothing new.
      const calls = fake.calls;
      r = await ex.runOnce();
      expect(r.planned + r.sent).toBe(0);
      expect(fake.calls).toBe(calls);
    });

    it('batches ≤25 records a call and expires hours outside the 6-hour window with an alert', async () => {
      const subs = [];
      for (let i = 0; i < 3; i++) {
        const ext = external();
        const s = await seedExternalSubscription(store.db, T0, seed.planId, ext);
        await addUsage(store.db, s.subscriptionId, 'requests', T0, 11); // hour 0: will be too old
        await addUsage(store.db, s.subscriptionId, 'requests', T0 + 6 * HOUR, 2);
        await addUsage(store.db, s.subscriptionId, 'chars', T0 + 3 * HOUR, 9);
        subs.push({ ...s, ext });
      }
      // First run 8 h later: hours 0–7 are complete; 0–2 start more than 6 h − 5 min ago and
      // expire (alert only where usage is lost), hours 3–7 go out.
      clock.set(T0 + 8 * HOUR + 3 * MIN);
      const r = await exporter().runOnce();
      expect(r.planned).toBe(3 * 8 * 2);
      expect(r.sent).toBe(3 * 5 * 2);
      expect(fake.maxBatch).toBeLessThanOrEqual(25);
      expect(r.calls).toBe(2);
      expect(alerts.map((a) => [a.kind, a.hour, a.quantity])).toEqual([
        ['expired', T0, 11],
        ['expired', T0, 11],
        ['expired', T0, 11],
      ]);
      for (const s of subs) {
        expect(sent(s.ext.CustomerIdentifier)).toContainEqual(['requests', T0 + 6 * HOUR, 2]);
        expect(sent(s.ext.CustomerIdentifier)).toContainEqual(['chars', T0 + 3 * HOUR, 9]);
        expect(sent(s.ext.CustomerIdentifier)).toHaveLength(10);
        const expired = (await exporter().ledger(s.subscriptionId)).filter((l) => l.status === 'expired');
        expect(expired.map((l) => Number(l.hour))).toEqual([
          T0,
          T0,
          T0 + HOUR,
          T0 + HOUR,
          T0 + 2 * HOUR,
          T0 + 2 * HOUR,
        ]);
      }
    });

    it('flushNow sends the partial hour of an ending subscription at once; later usage goes into the next hour', async () => {
      const ext = external();
      const { subscriptionId } = await seedExternalSubscription(store.db, T0, seed.planId, ext);
      let flushed = 0;
      const ex = createExporter({
        db: store.db,
        clock,
        log: silentLogger,
        metering: client,
        flushUsage: async () => {
          flushed++;
        },
      });
      await addUsage(store.db, subscriptionId, 'requests', T0, 4);
      clock.set(T0 + 20 * MIN);
      // While the subscription is live, the partial hour stays open (its later calls still count).
      expect(await ex.flushNow(subscriptionId)).toMatchObject({ sent: 0 });
      await store.db
        .updateTable('subscriptions')
        .set({ status: 'cancel_pending' })
        .where('id', '=', subscriptionId)
        .execute();
      const r = await ex.flushNow(subscriptionId);
      expect(flushed).toBe(2);
      expect(r).toMatchObject({ sent: 2, pending: 0 });
      expect(sent(ext.CustomerIdentifier)).toContainEqual(['requests', T0, 4]);
      await addUsage(store.db, subscriptionId, 'requests', T0, 1);
      clock.set(T0 + 2 * HOUR + 3 * MIN);
      await ex.runOnce();
      expect(sent(ext.CustomerIdentifier)).toContainEqual(['requests', T0, 4]);
      expect(sent(ext.CustomerIdentifier)).toContainEqual(['requests', T0 + HOUR, 1]);
      expect(fake.duplicates).toBe(0);
    });

    it('exports the last hours of a subscription whose final export failed at unsubscribe', async () => {
      const ext = external();
      const { subscriptionId } = await seedExternalSubscription(store.db, T0, seed.planId, ext);
      await addUsage(store.db, subscriptionId, 'requests', T0, 3);
      await addUsage(store.db, subscriptionId, 'requests', T0 + HOUR, 2);
      clock.set(T0 + HOUR + 30 * MIN);
      // unsubscribe-success arrives while the meter cannot flush: the final export fails…
      const failing = createExporter({
        db: store.db,
        clock,
        log: silentLogger,
        metering: client,
        flushUsage: async () => {
          throw new Error('store unreachable');
        },
      });
      await expect(failing.flushNow(subscriptionId)).rejects.toThrow('store unreachable');
      // …and the subscription ends anyway; the meter's late flush still lands in its last hour.
      await store.db
        .updateTable('subscriptions')
        .set({ status: 'cancelled', cancelled_at: clock.now() })
        .where('id', '=', subscriptionId)
        .execute();
      await addUsage(store.db, subscriptionId, 'requests', T0 + HOUR, 1);
      clock.set(T0 + 2 * HOUR + 3 * MIN);
      await exporter().runOnce();
      expect(sent(ext.CustomerIdentifier).filter(([d]) => d === 'requests')).toEqual([
        ['requests', T0, 3],
        ['requests', T0 + HOUR, 3],
      ]);
      // Once the hour it ended in is exported, the subscription is planned no more.
      clock.set(T0 + 5 * HOUR);
      expect(await exporter().runOnce()).toMatchObject({ planned: 0 });
      const hours = (await exporter().ledger(subscriptionId)).map((l) => Number(l.hour));
      expect([...new Set(hours)]).toEqual([T0, T0 + HOUR]);
    });

    it('marks records the marketplace refuses outright as failed, with an alert each', async () => {
      const ext = external();
      const { subscriptionId } = await seedExternalSubscription(store.db, T0, seed.planId, ext);
      clock.set(T0 + HOUR + 3 * MIN);
      // A marketplace that refuses the product outright: every record fails, with an alert.
      const refusing = {
        send: async () => {
          throw Object.assign(new Error('bad product'), {
            name: 'InvalidProductCodeException',
            $metadata: { httpStatusCode: 400 },
          });
        },
      };
      const r = await createExporter({
        db: store.db,
        clock,
        log: silentLogger,
        metering: refusing,
        onAlert: (a) => alerts.push(a),
      }).runOnce();
      expect(r.failed).toBe(2);
      const ledger = await exporter().ledger(subscriptionId);
      expect(ledger.map((l) => l.status)).toEqual(['failed', 'failed']);
      expect(alerts.map((a) => a.kind)).toEqual(['failed', 'failed']);
    });

    it('sends only the dimensions the marketplace product lists', async () => {
      // The plan grants a second API (dimension `pages`) that the product sold under this
      // external code does not list: its usage is not the marketplace's to bill.
      const p = await seedProvider(store.db, T0);
      const extraApi = `api_pages_${kind.name}`;
      await store.db
        .insertInto('apis')
        .values({
          id: extraApi,
          provider_id: p.providerId,
          name: 'pages',
          upstream_url: 'http://127.0.0.1:9',
          path_prefix: `/pages-${kind.name}`,
          host: null,
          strip_prefix: 1,
          ratelimit_headers: 1,
          timeout_ms: 30000,
          openapi: null,
          created_at: T0,
          updated_at: T0,
        })
        .execute();
      await store.db
        .insertInto('routes')
        .values({
          id: `rte_pages_${kind.name}`,
          api_id: extraApi,
          method: '*',
          path: '/p',
          dimension: 'pages',
          units: 1,
          public: 0,
          throttle_rate: null,
          throttle_burst: null,
          position: 0,
        })
        .execute();
      await store.db
        .updateTable('plans')
        .set({ api_ids: JSON.stringify([p.apiId, extraApi]) })
        .where('id', '=', p.planId)
        .execute();
      const code = `prod-dims-${kind.name}`;
      await seedProduct(store.db, T0, p, { externalProductCode: code });
      const cust = `cust-dims-${kind.name}`;
      const { subscriptionId } = await seedExternalSubscription(store.db, T0 + 10 * MIN, p.planId, {
        ProductCode: code,
        CustomerIdentifier: cust,
      });
      await addUsage(store.db, subscriptionId, 'requests', T0, 4);
      await addUsage(store.db, subscriptionId, 'pages', T0, 9);
      clock.set(T0 + HOUR + 3 * MIN);
      const r = await exporter().runOnce();
      expect(r).toMatchObject({ planned: 2, sent: 2, pending: 0 });
      expect(sent(cust).sort()).toEqual([
        ['chars', T0, 0],
        ['requests', T0, 4],
      ]);
      expect(alerts).toEqual([]);
    });
  });
}
