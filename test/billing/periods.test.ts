/** Periods, proration and period rating, hand-worked. */
import { describe, expect, it } from 'vitest';
import { dec } from '../../src/billing/money.js';
import {
  addMonths,
  endedPeriods,
  floorHour,
  HOUR_MS,
  nextPeriod,
  periodContaining,
  prorate,
  share,
} from '../../src/billing/periods.js';
import { type Price, priceSchema } from '../../src/billing/pricing.js';
import { creditUnused, segmentsOf } from '../../src/billing/proration.js';
import { type RatingSegment, ratePeriod } from '../../src/billing/rating.js';

const iso = (t: number) => new Date(t).toISOString();
const U = Date.UTC;
const DAY = 86_400_000;

describe('calendar periods (UTC, anchored at the start)', () => {
  it('clamps the 31st to the end of February and returns to the 31st', () => {
    const a = U(2025, 0, 31, 9, 30);
    expect([0, 1, 2, 3, 4].map((i) => iso(addMonths(a, i)))).toEqual([
      '2025-01-31T09:30:00.000Z',
      '2025-02-28T09:30:00.000Z', // 2025 is not a leap year
      '2025-03-31T09:30:00.000Z', // back to the 31st
      '2025-04-30T09:30:00.000Z',
      '2025-05-31T09:30:00.000Z',
    ]);
    expect(iso(addMonths(U(2024, 0, 31), 1))).toBe('2024-02-29T00:00:00.000Z'); // leap year
  });

  it('yearly periods from a leap day land on 28 Feb and return to 29 Feb in a leap year', () => {
    const a = U(2024, 1, 29);
    expect([1, 2, 3, 4].map((i) => iso(addMonths(a, 12 * i)).slice(0, 10))).toEqual([
      '2025-02-28',
      '2026-02-28',
      '2027-02-28',
      '2028-02-29',
    ]);
  });

  it('lists the ended periods and cuts the last one at a cancellation', () => {
    const a = U(2026, 0, 31);
    const ended = endedPeriods(a, 'month', U(2026, 3, 30), { cancelledAt: null });
    expect(ended.map((p) => [iso(p.start).slice(0, 10), iso(p.end).slice(0, 10)])).toEqual([
      ['2026-01-31', '2026-02-28'],
      ['2026-02-28', '2026-03-31'],
      ['2026-03-31', '2026-04-30'],
    ]);
    const cut = endedPeriods(a, 'month', U(2026, 11, 1), { cancelledAt: U(2026, 2, 10) });
    expect(cut).toHaveLength(2);
    expect(cut[1]).toMatchObject({ start: U(2026, 1, 28), end: U(2026, 2, 10), final: true });
    expect(cut[1]!.nominalEnd).toBe(U(2026, 2, 31));
  });

  it('finds the period containing an instant, also at clamped ends', () => {
    const a = U(2026, 0, 31);
    expect(periodContaining(a, 'month', U(2026, 1, 28)).index).toBe(1);
    expect(periodContaining(a, 'month', U(2026, 1, 28) - 1).index).toBe(0);
    expect(periodContaining(a, 'month', U(2026, 2, 31) - 1).index).toBe(1);
    expect(periodContaining(a, 'year', U(2030, 5, 1)).index).toBe(4);
  });

  it('a period after a cancellation is null', () => {
    expect(nextPeriod(U(2026, 0, 1), 'month', U(2026, 1, 1), U(2026, 1, 1))).toBeNull();
  });
});

describe('proration by the second', () => {
  it('February 2025 (28 days): 14 days used of a 28-day period = 1/2', () => {
    expect(share(U(2025, 1, 1), U(2025, 1, 15), U(2025, 1, 1), U(2025, 2, 1)).toFixed()).toBe('0.5');
  });

  it('across a leap day: 15 of 29 days of Feb 2024 at 29.00 = 15.00', () => {
    // period 2024-01-31 → 2024-02-29 has 29 days; used 2024-01-31 → 2024-02-15 = 15 days
    // 29.00 × 15 / 29 = 15.00
    const a = prorate(dec('29.00'), U(2024, 0, 31), U(2024, 1, 15), U(2024, 0, 31), U(2024, 1, 29));
    expect(a.toFixed(2)).toBe('15.00');
  });

  it('counts whole seconds: milliseconds do not change the share', () => {
    // 1 of 2 seconds: [0, 999] and [1000, 1999] ms → seconds 0 and 1
    expect(share(1000, 1999, 1, 2001).toFixed()).toBe('0');
    expect(share(999, 1000, 0, 2000).toFixed()).toBe('0.5');
  });

  it('in-advance credit for the unused share', () => {
    // 30.00 paid for a 30-day period, plan ends after 10 days → credit 20.00
    const c = creditUnused(dec('30'), U(2026, 3, 11), { start: U(2026, 3, 1), end: U(2026, 4, 1) });
    expect(c.toFixed(2)).toBe('-20.00');
  });
});

const price = (p: Record<string, unknown>): Price => priceSchema.parse({ currency: 'USD', ...p });

function seg(
  s: ReturnType<typeof segmentsOf>[number],
  p: Price,
  usage: Record<string, number>,
  name = s.planId,
): RatingSegment {
  return { ...s, price: p, priceId: `prc_${name}`, planName: name, usage };
}

describe('rating a period', () => {
  const A = price({
    recurringFee: '30',
    setupFee: '10',
    charges: [{ model: 'per_unit', dimension: 'requests', unitPrice: '0.01', minimum: '3' }],
  });
  const B = price({
    recurringFee: '60',
    charges: [{ model: 'per_unit', dimension: 'requests', unitPrice: '0.005' }],
  });

  it('plan change mid-period: recurring by used share, usage split at the change hour', () => {
    // April 2026 has 30 days; change from A to B on 11 April 00:00 (10 days in)
    const start = U(2026, 3, 1);
    const [period] = endedPeriods(start, 'month', U(2026, 4, 1));
    const at = U(2026, 3, 11);
    const segs = segmentsOf(period!, 'A', [{ at, fromPlanId: 'A', toPlanId: 'B' }]);
    expect(segs.map((s) => [s.planId, s.usageFrom, s.usageTo])).toEqual([
      ['A', start, at],
      ['B', at, U(2026, 4, 1)],
    ]);
    const { lines, subtotal } = ratePeriod({
      period: period!,
      anchor: start,
      currency: 'USD',
      trialEndsAt: null,
      segments: [seg(segs[0]!, A, { requests: 100 }), seg(segs[1]!, B, { requests: 2000 })],
    });
    expect(lines.map((l) => [l.kind, l.planId, l.quantity, l.amount])).toEqual([
      ['setup', 'A', '1', '10.00'], // first period: A's setup fee
      ['recurring', 'A', '0.333333', '10.00'], // 30 × 10/30 = 10.00
      // 100 × 0.01 = 1.00 < minimum 3 × 10/30 = 1.00 → 1.00
      ['usage', 'A', '100', '1.00'],
      ['recurring', 'B', '0.666667', '40.00'], // 60 × 20/30 = 40.00
      ['usage', 'B', '2000', '10.00'], // 2000 × 0.005 = 10.00
    ]);
    expect(subtotal).toBe('71.00'); // 10 + 10 + 1 + 40 + 10
  });

  it('a change inside an hour: that hour goes to the new plan', () => {
    const start = U(2026, 3, 1);
    const [period] = endedPeriods(start, 'month', U(2026, 4, 1));
    const at = U(2026, 3, 11, 5, 20);
    const segs = segmentsOf(period!, 'A', [{ at, fromPlanId: 'A', toPlanId: 'B' }]);
    expect(segs[0]!.usageTo).toBe(U(2026, 3, 11, 5));
    expect(segs[1]!.usageFrom).toBe(U(2026, 3, 11, 5));
  });

  it('trial: no recurring fee for the trial part; usage still billed', () => {
    // 30-day April, 14-day trial ends 15 April 00:00 → 16 of 30 days charged: 30 × 16/30 = 16.00
    const start = U(2026, 3, 1);
    const [period] = endedPeriods(start, 'month', U(2026, 4, 1));
    const segs = segmentsOf(period!, 'B', []);
    const { lines } = ratePeriod({
      period: period!,
      anchor: start,
      currency: 'USD',
      trialEndsAt: start + 14 * DAY,
      segments: [seg(segs[0]!, price({ recurringFee: '30' }), { requests: 7 })],
    });
    expect(lines.map((l) => [l.kind, l.quantity, l.amount])).toEqual([
      ['recurring', '0.533333', '16.00'],
      ['usage', '7', '0.00'], // not charged on this plan: still shown, unit for unit
    ]);
  });

  it('cancelled mid-period across a leap day: the final partial period', () => {
    // anchor 2024-01-31; period 2 is 2024-02-29 → 2024-03-31 (31 days); cancelled 2024-03-10 12:30
    // used 2024-02-29 00:00 → 2024-03-10 12:30 = 10.5 days + 30 min = 10 d 12 h 30 m
    // = 909,000 s of 2,678,400 s; 31.00 × 909000 / 2678400 = 10.5204… → 10.52
    const anchor = U(2024, 0, 31);
    const cancel = U(2024, 2, 10, 12, 30);
    const periods = endedPeriods(anchor, 'month', U(2024, 11, 1), { cancelledAt: cancel });
    const last = periods.at(-1)!;
    expect(last).toMatchObject({ start: U(2024, 1, 29), end: cancel, final: true });
    const segs = segmentsOf(last, 'A', []);
    // the hour in which it was cancelled is billed: usage window ends at 13:00
    expect(segs[0]!.usageTo).toBe(U(2024, 2, 10, 13));
    const { lines } = ratePeriod({
      period: last,
      anchor,
      currency: 'USD',
      trialEndsAt: null,
      segments: [seg(segs[0]!, price({ recurringFee: '31' }), {})],
    });
    expect(lines[0]!.amount).toBe('10.52');
  });

  it('per-deployment: flat fee per deployment, prorated over the timeline', () => {
    // April (30 days), fee 300 per deployment per month, 1 included:
    // 1–11 Apr: 2 deployments → 1 billable × 10/30 × 300 = 100
    // 11–21 Apr: 4 deployments → 3 billable × 10/30 × 300 = 300
    // 21 Apr–1 May: 1 deployment → 0 billable = 0          total 400.00, 1.333333 deployment-months
    const start = U(2026, 3, 1);
    const [period] = endedPeriods(start, 'month', U(2026, 4, 1));
    const p = price({ charges: [{ model: 'per_deployment', fee: '300', includedUnits: 1 }] });
    const segs = segmentsOf(period!, 'W', []);
    const s = seg(segs[0]!, p, {});
    s.deployments = {
      deployments: [
        { from: start, to: start + 10 * DAY, quantity: 2 },
        { from: start + 10 * DAY, to: start + 20 * DAY, quantity: 4 },
        { from: start + 20 * DAY, to: U(2026, 5, 1), quantity: 1 },
      ],
    };
    const { lines } = ratePeriod({
      period: period!,
      anchor: start,
      currency: 'USD',
      trialEndsAt: null,
      segments: [s],
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      kind: 'deployment',
      quantity: '1.333333',
      unitPrice: '300',
      amount: '400.00',
    });
  });

  it('refuses to mix currencies on one invoice', () => {
    const start = U(2026, 3, 1);
    const [period] = endedPeriods(start, 'month', U(2026, 4, 1));
    const segs = segmentsOf(period!, 'A', []);
    expect(() =>
      ratePeriod({
        period: period!,
        anchor: start,
        currency: 'EUR',
        trialEndsAt: null,
        segments: [seg(segs[0]!, A, {})],
      }),
    ).toThrow(/priced in USD/);
  });

  it('usage windows tile the timeline: floorHour boundaries', () => {
    const start = U(2026, 0, 5, 10, 30);
    const ps = endedPeriods(start, 'month', U(2026, 6, 1));
    for (let i = 1; i < ps.length; i++) {
      const prev = segmentsOf(ps[i - 1]!, 'A', []);
      const cur = segmentsOf(ps[i]!, 'A', []);
      expect(cur[0]!.usageFrom).toBe(prev.at(-1)!.usageTo);
    }
    expect(segmentsOf(ps[0]!, 'A', [])[0]!.usageFrom).toBe(floorHour(start));
    expect(floorHour(start) % HOUR_MS).toBe(0);
  });
});
