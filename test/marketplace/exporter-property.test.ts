/**
 * Property: whatever the marketplace does (throttling, dropping records into
 * UnprocessedRecords, outages) and however late usage reaches the store, every unit of
 * usage is either accepted by the marketplace exactly once or recorded as expired with an
 * alert — never lost silently, never sent twice with different quantities. SQLite.
 */
import { MarketplaceMeteringClient } from '@aws-sdk/client-marketplace-metering';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExporter } from '../../src/marketplace/exporter.js';
import { ManualClock, silentLogger } from '../../src/shared/index.js';
import type { Store } from '../../src/store/index.js';
import { sqliteStore } from '../helpers/stores.js';
import { type FakeMarketplace, fakeMarketplace } from './fake-marketplace.js';
import { addUsage, seedExternalSubscription, seedProvider } from './fixtures.js';

const HOUR = 3600_000;
const MIN = 60_000;
const T0 = Date.UTC(2026, 10, 20, 0, 0);
const STEPS = 11;

describe('exporter property: no usage lost, none duplicated', () => {
  let store: Store;
  let fake: FakeMarketplace;
  let client: MarketplaceMeteringClient;
  let planId: string;
  let run = 0;

  beforeAll(async () => {
    store = await sqliteStore.open();
    fake = await fakeMarketplace();
    planId = (await seedProvider(store.db, T0)).planId;
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

  it('holds under random faults and late usage', async () => {
    const usageArb = fc.array(
      fc.record({
        hour: fc.integer({ min: 0, max: 7 }),
        dim: fc.constantFrom('requests', 'chars'),
        units: fc.integer({ min: 0, max: 50 }),
        late: fc.integer({ min: 0, max: 2 }),
      }),
      { maxLength: 25 },
    );
    const stepArb = fc.array(
      fc.record({ throttle: fc.integer({ min: 0, max: 3 }), drop: fc.boolean(), down: fc.boolean() }),
      { minLength: STEPS, maxLength: STEPS },
    );
    await fc.assert(
      fc.asyncProperty(usageArb, stepArb, async (usage, steps) => {
        run++;
        await store.db.updateTable('subscriptions').set({ status: 'cancelled' }).execute();
        const customer = `prop-${run}`;
        const { subscriptionId } = await seedExternalSubscription(store.db, T0, planId, {
          ProductCode: 'prod-abc',
          CustomerIdentifier: customer,
        });
        const clock = new ManualClock(T0);
        const exporter = createExporter({
          db: store.db,
          clock,
          log: silentLogger,
          metering: client,
          sleep: async (ms) => clock.advance(ms),
        });
        let total = 0;
        for (let t = 1; t <= STEPS + 2; t++) {
          for (const u of usage) {
            if (u.hour + 1 + u.late === t) {
              await addUsage(store.db, subscriptionId, u.dim, T0 + u.hour * HOUR, u.units);
              total += u.units;
            }
          }
          const s = steps[t - 1] ?? { throttle: 0, drop: false, down: false };
          fake.throttleNext = s.throttle;
          fake.dropFirstSight = s.drop;
          if (s.down) await fake.down();
          else await fake.up();
          clock.set(T0 + t * HOUR + 3 * MIN);
          await exporter.runOnce();
        }
        // The marketplace recovers: drain what is still pending.
        await fake.up();
        fake.throttleNext = 0;
        fake.dropFirstSight = false;
        for (let i = 0; i < 3; i++) await exporter.runOnce();

        const ledger = await exporter.ledger(subscriptionId);
        expect(ledger.every((l) => l.status === 'sent' || l.status === 'expired')).toBe(true);
        let accepted = 0;
        for (const [k, q] of fake.accepted) if (k.startsWith(`${customer}|`)) accepted += q;
        const expired = ledger
          .filter((l) => l.status === 'expired')
          .reduce((a, l) => a + Number(l.quantity), 0);
        expect(accepted + expired).toBe(total);
        const sentRows = ledger.filter((l) => l.status === 'sent');
        for (const l of sentRows) {
          expect(fake.accepted.get(`${customer}|${l.dimension}|${Number(l.hour)}`)).toBe(Number(l.quantity));
        }
        expect(fake.duplicates).toBe(0);
      }),
      { numRuns: 15 },
    );
  }, 60_000);
});
