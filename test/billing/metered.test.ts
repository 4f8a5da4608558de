/**
 * End-to-end-ish, on SQLite and PostgreSQL: usage rows written straight into the usage
 * table (as metering writes them), a billing run, and the invoices' usage quantities must
 * equal the rows' sums for each period's usage window, unit for unit (fast-check picks the
 * anchor, the rows, a plan change and a cancellation).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBilling } from '../../src/billing/index.js';
import { formatAmount, sum } from '../../src/billing/money.js';
import { ManualClock, silentLogger } from '../../src/shared/index.js';
import type { Store } from '../../src/store/index.js';
import { testStores } from '../helpers/stores.js';
import * as fx from './fixtures.js';

const H = 3_600_000;
const DAY = 24 * H;

for (const kind of await testStores()) {
  describe(`metered usage → invoices on ${kind.name}`, () => {
    let store: Store;
    beforeAll(async () => {
      store = await kind.open();
      await fx.provider(store);
      await fx.plan(store, 'pln_a');
      await fx.plan(store, 'pln_b');
      await fx.consumer(store, 'con_p');
      const setup = createBilling({ store, clock: new ManualClock(0), log: silentLogger });
      await setup.setPrice(
        'pln_a',
        {
          currency: 'USD',
          recurringFee: '10',
          charges: [{ model: 'per_unit', dimension: 'requests', unitPrice: '0.001' }],
        },
        'test',
      );
      await setup.setPrice(
        'pln_b',
        {
          currency: 'USD',
          charges: [{ model: 'package', dimension: 'requests', packageSize: 100, packagePrice: '1' }],
        },
        'test',
      );
    });
    afterAll(async () => {
      await store.close();
    });

    let n = 0;
    it('invoice quantities equal the metered rows, unit for unit', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: Date.UTC(2024, 0, 1), max: Date.UTC(2024, 11, 31) }),
          fc.array(
            fc.record({
              hourOffset: fc.integer({ min: 0, max: 100 * 24 }),
              key: fc.constantFrom('key_1', 'key_2'),
              dimension: fc.constantFrom('requests', 'chars'),
              units: fc.integer({ min: 1, max: 1_000_000 }),
            }),
            { minLength: 1, maxLength: 60 },
          ),
          fc.option(fc.integer({ min: 60, max: 90 * 24 * 60 }), { nil: null }),
          fc.option(fc.integer({ min: 60, max: 100 * 24 * 60 }), { nil: null }),
          async (anchor, rows, changeMin, cancelMin) => {
            const id = `sub_p${n++}`;
            const cancelledAt = cancelMin === null ? null : anchor + cancelMin * 60_000;
            await fx.subscription(store, {
              id,
              consumerId: 'con_p',
              planId: 'pln_a',
              startedAt: anchor,
              cancelledAt,
            });
            const clock = new ManualClock(anchor + 110 * DAY);
            const billing = createBilling({ store, clock, log: silentLogger });
            if (changeMin !== null)
              await billing.recordPlanChange({
                subscriptionId: id,
                toPlanId: 'pln_b',
                at: anchor + changeMin * 60_000,
              });
            const firstHour = Math.floor(anchor / H) * H;
            const merged = new Map<string, fx.UsageRow>();
            for (const r of rows) {
              const hour = firstHour + r.hourOffset * H;
              const k = `${r.key}|${r.dimension}|${hour}`;
              const prev = merged.get(k);
              if (prev) prev.units += r.units;
              else
                merged.set(k, {
                  subscription_id: id,
                  key_id: r.key,
                  api_id: 'api_1',
                  dimension: r.dimension,
                  hour,
                  units: r.units,
                  requests: 1,
                });
            }
            await fx.usage(store, [...merged.values()]);
            const run = await billing.run({ subscriptionId: id });
            expect(run.failed).toEqual([]);
            for (const invId of run.invoiceIds) {
              const inv = await billing.getInvoice(invId);
              const billed: Record<string, number> = {};
              const metered: Record<string, number> = {};
              for (const l of inv.lines) {
                if (l.kind !== 'usage') continue;
                billed[l.dimension!] = (billed[l.dimension!] ?? 0) + Number(l.quantity);
                const from = Date.parse(l.usageFrom!);
                const to = Date.parse(l.usageTo!);
                // each line's window, summed independently from the rows
                for (const r of merged.values())
                  if (r.dimension === l.dimension && r.hour >= from && r.hour < to)
                    metered[r.dimension] = (metered[r.dimension] ?? 0) + r.units;
              }
              for (const d of Object.keys(billed)) if (billed[d] === 0 && !(d in metered)) delete billed[d];
              expect(billed).toEqual(metered);
              expect(inv.total).toBe(formatAmount(sum(inv.lines.map((l) => l.amount)), 'USD'));
            }
            // every row up to the last invoiced window is on some invoice
            const all = await Promise.all(run.invoiceIds.map((i) => billing.getInvoice(i)));
            const lastTo = Math.max(
              firstHour,
              ...all.flatMap((i) => i.lines.filter((l) => l.usageTo).map((l) => Date.parse(l.usageTo!))),
            );
            const onInvoices = all
              .flatMap((i) => i.lines)
              .filter((l) => l.kind === 'usage')
              .reduce((s, l) => s + Number(l.quantity), 0);
            const rowsBefore = [...merged.values()]
              .filter((r) => r.hour < lastTo)
              .reduce((s, r) => s + r.units, 0);
            expect(onInvoices).toBe(rowsBefore);
          },
        ),
        { numRuns: 12 },
      );
    }, 60_000);
  });
}
