/**
 * Hand-worked charge cases. Each row's comment is the arithmetic a person would do; the
 * expected amount is the line amount after the one rounding to the currency's minor unit.
 */
import { describe, expect, it } from 'vitest';
import { dec, formatAmount, formatMoney, minorUnits, roundMoney } from '../../src/billing/money.js';
import {
  applyLimits,
  type Charge,
  priceSchema,
  rateUsage,
  type UsageCharge,
} from '../../src/billing/pricing.js';

function charge(c: Record<string, unknown>, currency = 'USD'): UsageCharge {
  const p = priceSchema.parse({ currency, charges: [{ dimension: 'requests', ...c }] });
  return p.charges[0] as UsageCharge;
}

/** The invoice-line amount: rate, clamp to min/max, round once. */
function line(c: UsageCharge, qty: number, currency = 'USD'): string {
  return formatAmount(applyLimits(c as Charge, rateUsage(c, qty).amount), currency);
}

// graduated: 1–1000 at 0.01, 1001–10000 at 0.005, above at 0.002
const graduated = charge({
  model: 'graduated',
  tiers: [
    { upTo: 1000, unitPrice: '0.01' },
    { upTo: 10000, unitPrice: '0.005' },
    { upTo: null, unitPrice: '0.002' },
  ],
});
// volume: the tier the total reaches prices every unit
const volume = charge({
  model: 'volume',
  tiers: [
    { upTo: 1000, unitPrice: '0.01' },
    { upTo: 10000, unitPrice: '0.005' },
    { upTo: null, unitPrice: '0.002' },
  ],
});

const cases: Array<[string, UsageCharge, number, string, string?]> = [
  // per_unit 0.00035 USD: 10,000 × 0.00035 = 3.5 → 3.50
  ['per_unit', charge({ model: 'per_unit', unitPrice: '0.00035' }), 10_000, '3.50'],
  // per_unit: 1 × 0.00035 = 0.00035 → 0.00 (rounds down, below half a cent)
  ['per_unit tiny', charge({ model: 'per_unit', unitPrice: '0.00035' }), 1, '0.00'],
  // per_unit half-up: 25 × 0.0002 = 0.005 → 0.01 (exactly half a cent rounds up)
  ['per_unit half', charge({ model: 'per_unit', unitPrice: '0.0002' }), 25, '0.01'],
  // graduated one under the bound: 999 × 0.01 = 9.99
  ['graduated 999', graduated, 999, '9.99'],
  // graduated exactly at the bound: 1000 × 0.01 = 10.00
  ['graduated 1000', graduated, 1000, '10.00'],
  // graduated one over: 1000 × 0.01 + 1 × 0.005 = 10.005 → 10.01 (half-up)
  ['graduated 1001', graduated, 1001, '10.01'],
  // graduated at second bound: 10 + 9000 × 0.005 = 10 + 45 = 55.00
  ['graduated 10000', graduated, 10_000, '55.00'],
  // graduated one over second: 55 + 1 × 0.002 = 55.002 → 55.00
  ['graduated 10001', graduated, 10_001, '55.00'],
  // volume one under: 999 × 0.01 = 9.99
  ['volume 999', volume, 999, '9.99'],
  // volume at: 1000 × 0.01 = 10.00
  ['volume 1000', volume, 1000, '10.00'],
  // volume one over: all 1001 × 0.005 = 5.005 → 5.01 (cheaper than 1000: that is volume pricing)
  ['volume 1001', volume, 1001, '5.01'],
  // volume 10001: 10001 × 0.002 = 20.002 → 20.00
  ['volume 10001', volume, 10_001, '20.00'],
  // volume zero usage: 0
  ['volume 0', volume, 0, '0.00'],
  // included larger than usage: 500 used, 1000 free → 0 billable → 0.00
  ['included > usage', charge({ model: 'per_unit', unitPrice: '0.01', includedUnits: 1000 }), 500, '0.00'],
  // included: 1500 used − 1000 free = 500 × 0.01 = 5.00
  ['included < usage', charge({ model: 'per_unit', unitPrice: '0.01', includedUnits: 1000 }), 1500, '5.00'],
  // graduated after allowance: 1100 − 100 = 1000 billable → exactly tier 1 → 10.00
  [
    'graduated + included',
    charge({
      model: 'graduated',
      includedUnits: 100,
      tiers: [
        { upTo: 1000, unitPrice: '0.01' },
        { upTo: null, unitPrice: '0.005' },
      ],
    }),
    1100,
    '10.00',
  ],
  // graduated flat fee per tier touched: 1 unit → 0.01 + 5 (tier 1 flat) = 5.01
  [
    'graduated flat fee',
    charge({
      model: 'graduated',
      tiers: [
        { upTo: 10, unitPrice: '0.01', flatFee: '5' },
        { upTo: null, unitPrice: '0.01', flatFee: '7' },
      ],
    }),
    1,
    '5.01',
  ],
  // package 2 USD per started 1000: 1 unit → 1 block → 2.00
  ['package 1', charge({ model: 'package', packageSize: 1000, packagePrice: '2' }), 1, '2.00'],
  // package: 1000 units → exactly 1 block → 2.00
  ['package 1000', charge({ model: 'package', packageSize: 1000, packagePrice: '2' }), 1000, '2.00'],
  // package: 1001 units → 2 started blocks → 4.00
  ['package 1001', charge({ model: 'package', packageSize: 1000, packagePrice: '2' }), 1001, '4.00'],
  // package: 0 units → 0 blocks → 0.00
  ['package 0', charge({ model: 'package', packageSize: 1000, packagePrice: '2' }), 0, '0.00'],
  // package with allowance: 2500 − 1000 free = 1500 → 2 blocks → 4.00
  [
    'package + included',
    charge({ model: 'package', packageSize: 1000, packagePrice: '2', includedUnits: 1000 }),
    2500,
    '4.00',
  ],
  // minimum: 10 × 0.01 = 0.10 < minimum 5 → 5.00
  ['minimum', charge({ model: 'per_unit', unitPrice: '0.01', minimum: '5' }), 10, '5.00'],
  // minimum with no usage still applies (a commitment): 5.00
  ['minimum, no usage', charge({ model: 'per_unit', unitPrice: '0.01', minimum: '5' }), 0, '5.00'],
  // maximum: 100,000 × 0.01 = 1000 > cap 250 → 250.00
  ['maximum', charge({ model: 'per_unit', unitPrice: '0.01', maximum: '250' }), 100_000, '250.00'],
  // between min and max: 1000 × 0.01 = 10 ∈ [5, 250] → 10.00
  [
    'within min/max',
    charge({ model: 'per_unit', unitPrice: '0.01', minimum: '5', maximum: '250' }),
    1000,
    '10.00',
  ],
  // JPY (0 decimals): 3 × 0.5 = 1.5 → 2 (half-up)
  ['JPY half', charge({ model: 'per_unit', unitPrice: '0.5' }, 'JPY'), 3, '2', 'JPY'],
  // JPY: 1234 × 0.3 = 370.2 → 370
  ['JPY', charge({ model: 'per_unit', unitPrice: '0.3' }, 'JPY'), 1234, '370', 'JPY'],
  // KWD (3 decimals): 7 × 0.00035 = 0.00245 → 0.002
  ['KWD down', charge({ model: 'per_unit', unitPrice: '0.00035' }, 'KWD'), 7, '0.002', 'KWD'],
  // KWD: 10 × 0.00035 = 0.0035 → 0.004 (half-up)
  ['KWD half', charge({ model: 'per_unit', unitPrice: '0.00035' }, 'KWD'), 10, '0.004', 'KWD'],
  // USD on the same price: 10 × 0.00035 = 0.0035 → 0.00
  ['USD same', charge({ model: 'per_unit', unitPrice: '0.00035' }), 10, '0.00'],
];

describe('charge models, hand-worked', () => {
  it.each(cases)('%s', (_name, c, qty, expected, currency = 'USD') => {
    expect(line(c, qty, currency)).toBe(expected);
  });

  it('graduated detail shows each tier used', () => {
    const r = rateUsage(graduated, 10_001);
    expect(r.tiers).toEqual([
      { tier: 1, from: 1, to: 1000, units: 1000, unitPrice: '0.01', flatFee: '0', amount: '10' },
      { tier: 2, from: 1001, to: 10000, units: 9000, unitPrice: '0.005', flatFee: '0', amount: '45' },
      { tier: 3, from: 10001, to: 10001, units: 1, unitPrice: '0.002', flatFee: '0', amount: '0.002' },
    ]);
  });

  it('minimum and maximum are prorated by the share of the period', () => {
    const c = charge({ model: 'per_unit', unitPrice: '1', minimum: '30', maximum: '60' }) as Charge;
    // half a period: minimum 30 × 0.5 = 15; 3 units → 3 < 15 → 15
    expect(applyLimits(c, dec(3), dec('0.5')).toFixed()).toBe('15');
    // maximum 60 × 0.5 = 30; 100 units → 30
    expect(applyLimits(c, dec(100), dec('0.5')).toFixed()).toBe('30');
  });
});

describe('money', () => {
  it('knows the minor units of USD, EUR, GBP, JPY, KWD', () => {
    expect(['USD', 'EUR', 'GBP', 'JPY', 'KWD'].map(minorUnits)).toEqual([2, 2, 2, 0, 3]);
  });

  it('rounds half up, symmetric about zero', () => {
    expect(roundMoney(dec('0.125'), 'USD').toFixed()).toBe('0.13');
    expect(roundMoney(dec('-0.125'), 'USD').toFixed()).toBe('-0.13');
    expect(roundMoney(dec('0.124999'), 'USD').toFixed()).toBe('0.12');
    expect(roundMoney(dec('2.5'), 'JPY').toFixed()).toBe('3');
    expect(roundMoney(dec('0.0005'), 'KWD').toFixed()).toBe('0.001');
  });

  it('formats for documents', () => {
    expect(formatMoney('1234567.5', 'USD')).toBe('USD 1,234,567.50');
    expect(formatMoney('1200', 'JPY')).toBe('JPY 1,200');
    expect(formatMoney('-0.5', 'KWD')).toBe('KWD -0.500');
  });
});

describe('price validation', () => {
  it('names the bad field', () => {
    const r = priceSchema.safeParse({
      currency: 'XYZ',
      charges: [
        { model: 'per_unit', dimension: 'requests', unitPrice: '-1' },
        { model: 'per_unit', dimension: 'requests', unitPrice: '0.1', minimum: '5', maximum: '1' },
        {
          model: 'graduated',
          dimension: 'chars',
          tiers: [
            { upTo: 10, unitPrice: '1' },
            { upTo: 5, unitPrice: '1' },
          ],
        },
      ],
    });
    expect(r.success).toBe(false);
    const paths = r.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(
      expect.arrayContaining([
        'currency',
        'charges.0.unitPrice',
        'charges.1.dimension',
        'charges.1.minimum',
        'charges.2.tiers.1.upTo',
      ]),
    );
  });

  it('rejects a float-looking number where a decimal string is required', () => {
    expect(priceSchema.safeParse({ currency: 'USD', recurringFee: 9.99 }).success).toBe(false);
    expect(priceSchema.safeParse({ currency: 'USD', recurringFee: '9.99' }).success).toBe(true);
  });

  it('fills defaults', () => {
    expect(priceSchema.parse({ currency: 'EUR' })).toEqual({
      currency: 'EUR',
      interval: 'month',
      billingTime: 'anniversary',
      recurringFee: '0',
      setupFee: '0',
      trialDays: 0,
      charges: [],
    });
  });
});
