/**
 * Pricing tables read right (issue 19): samples are counted in the unit the price charges
 * (1k characters, never "1k calls" when a unit is a character); "over quota" only when a
 * blocking quota can never serve the sample in one billing period of the price (a
 * 10,000/day quota serves 100k calls a month); charge lines carry their scale ("USD 0.02 per
 * 1,000 characters", not "USD 0.00002").
 */
import { describe, expect, it } from 'vitest';
import { type PriceInput, priceSchema } from '../../src/billing/index.js';
import { chargeLines, overQuota, quotaPerPeriod, samples } from '../../src/portal/pricing.js';

const plan = (
  limit: number,
  period: 'DAY' | 'WEEK' | 'MONTH',
  overQuotaMode: 'block' | 'overage' = 'block',
) => ({
  quota: { limit, period, offset: 0, timeZone: 'UTC' },
  overQuota: overQuotaMode,
});

describe('pricing tables', () => {
  it('count samples in the unit the price charges', () => {
    expect(samples('characters').map((s) => [s.label, s.units, s.calls])).toEqual([
      ['1k characters', 1_000, null],
      ['100k characters', 100_000, null],
      ['10M characters', 10_000_000, null],
    ]);
    // Calls at 2 units a call: the label stays in calls, the units double.
    expect(samples('requests', 2).map((s) => [s.label, s.units, s.calls])).toEqual([
      ['1k calls', 2_000, 1_000],
      ['100k calls', 200_000, 100_000],
      ['10M calls', 20_000_000, 10_000_000],
    ]);
  });

  it("mark 'over quota' against the quota over the price's period", () => {
    const [k1, k100, m10] = samples('requests');
    // 10,000 a day on a monthly price: a month touches at most 32 daily windows.
    expect(quotaPerPeriod({ limit: 10_000, period: 'DAY' }, 'month')).toBe(320_000);
    expect([k1, k100, m10].map((s) => overQuota(s!, plan(10_000, 'DAY'), 'month'))).toEqual([
      false,
      false,
      true,
    ]);
    // 10,000 a month: 100k calls in a month can never be served.
    expect([k1, k100, m10].map((s) => overQuota(s!, plan(10_000, 'MONTH'), 'month'))).toEqual([
      false,
      true,
      true,
    ]);
    // Over a year, 10,000 a week serves 100k but not 10M.
    expect([k100, m10].map((s) => overQuota(s!, plan(10_000, 'WEEK'), 'year'))).toEqual([false, true]);
    // Overage bills past the quota, and a sample in characters is not a count of calls.
    expect(overQuota(m10!, plan(10, 'DAY', 'overage'), 'month')).toBe(false);
    expect(overQuota(samples('characters')[2]!, plan(10, 'DAY'), 'month')).toBe(false);
  });

  it('write charge lines with their scale', () => {
    const price = priceSchema.parse({
      currency: 'USD',
      charges: [
        { model: 'per_unit', dimension: 'characters', unitPrice: '0.00002', includedUnits: 1000 },
        { model: 'per_unit', dimension: 'requests', unitPrice: '0.001' },
      ],
    } satisfies PriceInput);
    expect(chargeLines(price)).toEqual([
      'characters: USD 0.02 per 1,000 characters, first 1,000 free',
      'requests: USD 1.00 per 1,000 requests',
    ]);
  });
});
