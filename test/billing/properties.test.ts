/** Property tests (fast-check) over the pure billing logic. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dec, formatAmount, sum } from '../../src/billing/money.js';
import { endedPeriods, HOUR_MS } from '../../src/billing/periods.js';
import {
  applyLimits,
  type Charge,
  priceSchema,
  rateUsage,
  type UsageCharge,
} from '../../src/billing/pricing.js';
import { segmentsOf } from '../../src/billing/proration.js';
import { ratePeriod } from '../../src/billing/rating.js';

const price4 = fc.integer({ min: 0, max: 100_000 }).map((n) => dec(n).div(10_000).toFixed()); // 0 … 10.0000
/** Fees, minimums and maximums are charged as they stand: whole amounts fit every currency. */
const amount2 = fc.integer({ min: 0, max: 10 }).map(String); // 0 … 10
const currency = fc.constantFrom('USD', 'JPY', 'KWD', 'EUR');

const tiers = fc
  .uniqueArray(fc.integer({ min: 1, max: 50_000 }), { minLength: 0, maxLength: 4 })
  .chain((bounds) => {
    const sorted = [...bounds].sort((a, b) => a - b);
    return fc.tuple(
      ...[...sorted, null].map((upTo) =>
        fc.record({
          upTo: fc.constant(upTo),
          unitPrice: price4,
          flatFee: fc.option(amount2, { nil: undefined }),
        }),
      ),
    );
  });

const limits = fc.record({
  includedUnits: fc.integer({ min: 0, max: 5000 }),
  minimum: fc.option(amount2, { nil: undefined }),
  maximum: fc.option(
    amount2.map((p) => dec(p).plus(10).toFixed()),
    { nil: undefined },
  ),
});

/** Models whose amount is monotone in usage by construction. */
const monotoneCharge = fc.oneof(
  fc.record({ model: fc.constant('per_unit' as const), unitPrice: price4 }),
  fc.record({ model: fc.constant('graduated' as const), tiers }),
  fc.record({
    model: fc.constant('package' as const),
    packageSize: fc.integer({ min: 1, max: 5000 }),
    packagePrice: amount2,
  }),
);

function parseCharge(c: object, l: object, cur = 'USD'): UsageCharge {
  return priceSchema.parse({ currency: cur, charges: [{ dimension: 'd', ...c, ...l }] })
    .charges[0] as UsageCharge;
}

const lineAmount = (c: UsageCharge, q: number, cur: string) =>
  formatAmount(applyLimits(c as Charge, rateUsage(c, q).amount), cur);

describe('properties', () => {
  it("a line's amount never decreases when usage grows (per_unit, graduated, package)", () => {
    fc.assert(
      fc.property(
        monotoneCharge,
        limits,
        currency,
        fc.integer({ min: 0, max: 200_000 }),
        fc.integer({ min: 0, max: 200_000 }),
        (c, l, cur, q, extra) => {
          const ch = parseCharge(c, l, cur);
          expect(dec(lineAmount(ch, q + extra, cur)).gte(lineAmount(ch, q, cur))).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('volume: the amount never decreases while usage stays inside one tier', () => {
    // Across a tier bound volume pricing may drop (all units repriced cheaper): that is
    // what volume pricing means (Stripe, Lago), so the property is stated per tier.
    fc.assert(
      fc.property(
        tiers,
        limits,
        fc.integer({ min: 0, max: 60_000 }),
        fc.integer({ min: 0, max: 60_000 }),
        (t, l, a, b) => {
          const ch = parseCharge({ model: 'volume', tiers: t }, l);
          const [q1, q2] = a <= b ? [a, b] : [b, a];
          const tierOf = (q: number) => {
            const billable = Math.max(0, q - l.includedUnits);
            return billable === 0 ? -1 : t.findIndex((x) => x.upTo === null || billable <= x.upTo);
          };
          fc.pre(tierOf(q1) === tierOf(q2));
          expect(dec(lineAmount(ch, q2, 'USD')).gte(lineAmount(ch, q1, 'USD'))).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  // A random subscription: anchor, up to 3 plan changes, hourly usage rows over ~5 months.
  const scenario = fc.record({
    anchor: fc.integer({ min: Date.UTC(2023, 0, 1), max: Date.UTC(2025, 0, 1) }),
    changes: fc.array(fc.integer({ min: 1, max: 140 * 24 * 60 }), { maxLength: 3 }),
    rows: fc.array(
      fc.record({
        hourOffset: fc.integer({ min: -2, max: 150 * 24 }),
        dimension: fc.constantFrom('requests', 'chars', 'free'),
        units: fc.integer({ min: 0, max: 10_000 }),
      }),
      { maxLength: 200 },
    ),
    cur: currency,
    cancelAfterMinutes: fc.option(fc.integer({ min: 1, max: 150 * 24 * 60 }), { nil: null }),
  });

  it('invoice usage quantities equal metered usage, unit for unit; subtotal = Σ lines', () => {
    const plans = ['A', 'B'];
    fc.assert(
      fc.property(scenario, ({ anchor, changes, rows, cur, cancelAfterMinutes }) => {
        const price = priceSchema.parse({
          currency: cur,
          recurringFee: '10',
          charges: [
            { model: 'per_unit', dimension: 'requests', unitPrice: '0.0003', includedUnits: 100 },
            {
              model: 'graduated',
              dimension: 'chars',
              tiers: [
                { upTo: 5000, unitPrice: '0.001' },
                { upTo: null, unitPrice: '0.0005' },
              ],
            },
          ],
        });
        const firstHour = Math.floor(anchor / HOUR_MS) * HOUR_MS;
        const usage = rows.map((r) => ({ ...r, hour: firstHour + r.hourOffset * HOUR_MS }));
        const cancelledAt = cancelAfterMinutes === null ? null : anchor + cancelAfterMinutes * 60_000;
        const until = anchor + 150 * 24 * HOUR_MS;
        const planChanges = changes
          .sort((a, b) => a - b)
          .map((m, i) => ({
            at: anchor + m * 60_000,
            fromPlanId: plans[i % 2]!,
            toPlanId: plans[(i + 1) % 2]!,
          }));
        const billed: Record<string, number> = {};
        let lastUsageTo = firstHour;
        for (const period of endedPeriods(anchor, 'month', until, { cancelledAt })) {
          const before = planChanges.filter((c) => c.at <= period.start).at(-1);
          const segs = segmentsOf(period, before ? before.toPlanId : 'A', planChanges);
          const rated = ratePeriod({
            period,
            anchor,
            currency: cur,
            trialEndsAt: null,
            segments: segs.map((s) => {
              const u: Record<string, number> = {};
              for (const r of usage)
                if (r.hour >= s.usageFrom && r.hour < s.usageTo)
                  u[r.dimension] = (u[r.dimension] ?? 0) + r.units;
              return { ...s, price, priceId: null, planName: s.planId, usage: u };
            }),
          });
          expect(rated.subtotal).toBe(formatAmount(sum(rated.lines.map((l) => l.amount)), cur));
          for (const l of rated.lines)
            if (l.kind === 'usage') billed[l.dimension!] = (billed[l.dimension!] ?? 0) + Number(l.quantity);
          lastUsageTo = segs.at(-1)!.usageTo;
        }
        const metered: Record<string, number> = {};
        for (const r of usage)
          if (r.hour >= firstHour && r.hour < lastUsageTo && r.units > 0)
            metered[r.dimension] = (metered[r.dimension] ?? 0) + r.units;
        for (const k of Object.keys(billed)) if (billed[k] === 0) delete billed[k];
        expect(billed).toEqual(metered);
      }),
      { numRuns: 200 },
    );
  });
});
