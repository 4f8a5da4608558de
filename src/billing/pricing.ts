/**
 * Prices and charge models (pure: no I/O).
 *
 * A Price hangs off a plan: currency, a recurring fee per interval (billed in arrears with
 * the period's usage), a one-off setup fee (first invoice), trial days, and one charge per
 * metered dimension. Charge models, after Lago's and 3scale's:
 * - `per_unit`   billable × unitPrice
 * - `graduated`  each unit priced by the tier it falls in (+ a tier's flat fee once touched)
 * - `volume`     all units priced by the tier the total reaches (+ that tier's flat fee)
 * - `package`    packagePrice per started block of packageSize units
 * - `per_deployment` a flat fee per licensed deployment per period, prorated by the second
 *   over a quantity timeline (wholesale products feed the timeline).
 * `includedUnits` (a free allowance per period) is subtracted first; tiers and packages
 * count the remaining billable units. `minimum`/`maximum` clamp a charge's amount for a
 * whole period; a line covering only part of a period (plan change, final period) has them
 * prorated by the same share. Tier bounds `upTo` are inclusive (Stripe's convention): tiers
 * [{upTo:1000},{upTo:null}] price units 1…1000 in the first and 1001… in the second.
 *
 * Amounts returned here are exact; rounding happens once per invoice line (money.ts).
 */
import { z } from 'zod';
import { Decimal, dec, isCurrency, MINOR_UNITS, ZERO } from './money.js';
import { type Interval, prorate } from './periods.js';

const DECIMAL_RE = /^(0|[1-9]\d{0,14})(\.\d{1,12})?$/;
const decimalString = z
  .string()
  .regex(DECIMAL_RE, 'must be a non-negative decimal string such as "0.00035" (up to 12 decimals)');
const units = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const dimension = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'letters, digits and _ . : - only');

const common = {
  dimension,
  /** Shown on the invoice line; defaults to the dimension. */
  description: z.string().min(1).max(200).optional(),
  includedUnits: units.default(0),
  minimum: decimalString.optional(),
  maximum: decimalString.optional(),
};

export const tierSchema = z.strictObject({
  /** Inclusive upper bound of the tier in billable units; null = no bound (last tier). */
  upTo: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).nullable(),
  unitPrice: decimalString,
  flatFee: decimalString.optional(),
});

const perUnitSchema = z.strictObject({ model: z.literal('per_unit'), unitPrice: decimalString, ...common });
const graduatedSchema = z.strictObject({
  model: z.literal('graduated'),
  tiers: z.array(tierSchema).min(1).max(50),
  ...common,
});
const volumeSchema = z.strictObject({
  model: z.literal('volume'),
  tiers: z.array(tierSchema).min(1).max(50),
  ...common,
});
const packageSchema = z.strictObject({
  model: z.literal('package'),
  packageSize: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  packagePrice: decimalString,
  ...common,
});
const perDeploymentSchema = z.strictObject({
  model: z.literal('per_deployment'),
  /** Fee per deployment for a whole period. */
  fee: decimalString,
  ...common,
  dimension: dimension.default('deployments'),
});

export const chargeSchema = z.discriminatedUnion('model', [
  perUnitSchema,
  graduatedSchema,
  volumeSchema,
  packageSchema,
  perDeploymentSchema,
]);

export const priceSchema = z
  .strictObject({
    currency: z
      .string()
      .refine(isCurrency, 'must be an ISO 4217 code Tollgate knows, e.g. USD, EUR, GBP, JPY, KWD'),
    interval: z.enum(['month', 'year']).default('month'),
    /**
     * Where periods begin: `anniversary` at the subscription's start (and every month or year
     * after), `calendar` on the 1st of each month (1 January for yearly) in UTC, the first
     * period running from the start to the next 1st, its fee prorated.
     */
    billingTime: z.enum(['anniversary', 'calendar']).default('anniversary'),
    recurringFee: decimalString.default('0'),
    setupFee: decimalString.default('0'),
    trialDays: z.number().int().min(0).max(366).default(0),
    charges: z.array(chargeSchema).max(50).default([]),
    /**
     * Dimensions metered outside the plan's routes (usage sent to the admin API, imports):
     * charges may name them. Every other charged dimension must be one a route of the
     * plan's APIs meters, spelled the same (see setPrice).
     */
    declaredDimensions: z.array(dimension).max(50).optional(),
  })
  .superRefine((p, ctx) => {
    for (const [path, value] of amountsOf(p)) {
      const message = minorUnitIssue(value, p.currency);
      if (message) ctx.addIssue({ code: 'custom', path, message });
    }
    const seen = new Set<string>();
    p.charges.forEach((c, i) => {
      if (seen.has(c.dimension))
        ctx.addIssue({
          code: 'custom',
          path: ['charges', i, 'dimension'],
          message: `dimension ${c.dimension} is charged twice`,
        });
      seen.add(c.dimension);
      if (c.minimum !== undefined && c.maximum !== undefined && dec(c.minimum).gt(c.maximum))
        ctx.addIssue({ code: 'custom', path: ['charges', i, 'minimum'], message: 'exceeds maximum' });
      if (c.model === 'graduated' || c.model === 'volume') {
        c.tiers.forEach((t, j) => {
          const last = j === c.tiers.length - 1;
          if (last && t.upTo !== null)
            ctx.addIssue({
              code: 'custom',
              path: ['charges', i, 'tiers', j, 'upTo'],
              message: 'the last tier must be unbounded (null)',
            });
          if (!last && t.upTo === null)
            ctx.addIssue({
              code: 'custom',
              path: ['charges', i, 'tiers', j, 'upTo'],
              message: 'only the last tier may be unbounded',
            });
          const prev = j > 0 ? c.tiers[j - 1]!.upTo : 0;
          if (t.upTo !== null && prev !== null && t.upTo <= prev)
            ctx.addIssue({
              code: 'custom',
              path: ['charges', i, 'tiers', j, 'upTo'],
              message: 'tier bounds must increase',
            });
        });
      }
    });
  });

/**
 * The figures of a price that are charged as they stand — fees, package prices, tier flat
 * fees, minimums and maximums — with their field paths. Unit prices are not among them: they
 * are multiplied by a quantity and may be finer than the currency's minor unit (0.00002 USD
 * a character); the line's amount is what rounds.
 */
function amountsOf(p: {
  recurringFee: string;
  setupFee: string;
  charges: z.output<typeof chargeSchema>[];
}): Array<[PropertyKey[], string]> {
  const out: Array<[PropertyKey[], string]> = [
    [['recurringFee'], p.recurringFee],
    [['setupFee'], p.setupFee],
  ];
  p.charges.forEach((c, i) => {
    const at = (...rest: PropertyKey[]) => ['charges', i, ...rest];
    if (c.minimum !== undefined) out.push([at('minimum'), c.minimum]);
    if (c.maximum !== undefined) out.push([at('maximum'), c.maximum]);
    if (c.model === 'package') out.push([at('packagePrice'), c.packagePrice]);
    if (c.model === 'per_deployment') out.push([at('fee'), c.fee]);
    if (c.model === 'graduated' || c.model === 'volume')
      c.tiers.forEach((t, j) => {
        if (t.flatFee !== undefined) out.push([at('tiers', j, 'flatFee'), t.flatFee]);
      });
  });
  return out;
}

/** Why an amount cannot be charged in a currency (finer than its minor unit), or null. */
export function minorUnitIssue(value: string, currency: string): string | null {
  const minor = MINOR_UNITS[currency];
  // malformed figures and unknown currencies have issues of their own
  if (minor === undefined || !DECIMAL_RE.test(value) || dec(value).decimalPlaces() <= minor) return null;
  return minor === 0
    ? `${currency} has no smaller unit: ${value} cannot be charged, use a whole amount`
    : `${currency} amounts have at most ${minor} decimals: ${value} cannot be charged (only unit prices may be finer)`;
}

export type PriceInput = z.input<typeof priceSchema>;
export type Price = z.output<typeof priceSchema>;
export type Charge = z.output<typeof chargeSchema>;
export type UsageCharge = Exclude<Charge, { model: 'per_deployment' }>;
export type DeploymentCharge = Extract<Charge, { model: 'per_deployment' }>;
export type Tier = z.output<typeof tierSchema>;
export type { Interval };

export interface TierPart {
  tier: number;
  /** First and last billable unit priced in this tier (1-based, inclusive). */
  from: number;
  to: number;
  units: number;
  unitPrice: string;
  flatFee: string;
  amount: string;
}

export interface Rated {
  quantity: Decimal;
  billable: Decimal;
  /** Exact amount before minimum/maximum. */
  amount: Decimal;
  /** A single unit price when the model has one (per_unit, volume); else null. */
  unitPrice: Decimal | null;
  tiers?: TierPart[];
  packages?: number;
}

/** Billable units: the quantity less the included allowance, never negative. */
export function billableUnits(quantity: Decimal, included: number): Decimal {
  const b = quantity.minus(included);
  return b.isNegative() ? ZERO : b;
}

/** Rates a usage quantity for a whole period with one charge (no minimum/maximum yet). */
export function rateUsage(charge: UsageCharge, quantityIn: Decimal | number | string): Rated {
  const quantity = dec(quantityIn);
  const billable = billableUnits(quantity, charge.includedUnits);
  switch (charge.model) {
    case 'per_unit': {
      const unitPrice = dec(charge.unitPrice);
      return { quantity, billable, amount: billable.times(unitPrice), unitPrice };
    }
    case 'package': {
      const packages = billable.div(charge.packageSize).ceil().toNumber();
      return {
        quantity,
        billable,
        amount: dec(charge.packagePrice).times(packages),
        unitPrice: null,
        packages,
      };
    }
    case 'graduated':
      return rateGraduated(charge.tiers, quantity, billable);
    case 'volume':
      return rateVolume(charge.tiers, quantity, billable);
  }
}

function rateGraduated(tiers: Tier[], quantity: Decimal, billable: Decimal): Rated {
  const parts: TierPart[] = [];
  let amount = ZERO;
  let lower = 0; // units already priced by lower tiers
  for (let i = 0; i < tiers.length && billable.gt(lower); i++) {
    const t = tiers[i]!;
    const upper = t.upTo === null ? billable : Decimal.min(billable, t.upTo);
    const n = upper.minus(lower);
    const flat = dec(t.flatFee ?? 0);
    const a = n.times(t.unitPrice).plus(flat);
    amount = amount.plus(a);
    parts.push({
      tier: i + 1,
      from: lower + 1,
      to: upper.toNumber(),
      units: n.toNumber(),
      unitPrice: t.unitPrice,
      flatFee: flat.toFixed(),
      amount: a.toFixed(),
    });
    lower = upper.toNumber();
  }
  return { quantity, billable, amount, unitPrice: null, tiers: parts };
}

function rateVolume(tiers: Tier[], quantity: Decimal, billable: Decimal): Rated {
  if (billable.isZero()) return { quantity, billable, amount: ZERO, unitPrice: null, tiers: [] };
  const i = tiers.findIndex((t) => t.upTo === null || billable.lte(t.upTo));
  const t = tiers[i]!;
  const flat = dec(t.flatFee ?? 0);
  const amount = billable.times(t.unitPrice).plus(flat);
  return {
    quantity,
    billable,
    amount,
    unitPrice: dec(t.unitPrice),
    tiers: [
      {
        tier: i + 1,
        from: 1,
        to: billable.toNumber(),
        units: billable.toNumber(),
        unitPrice: t.unitPrice,
        flatFee: flat.toFixed(),
        amount: amount.toFixed(),
      },
    ],
  };
}

/**
 * Clamps a charge's amount to its minimum/maximum, both prorated by `portion` (1 for a
 * whole period). A minimum applies even with no usage: it is a commitment.
 */
export function applyLimits(charge: Charge, amount: Decimal, portion: Decimal = dec(1)): Decimal {
  let a = amount;
  if (charge.minimum !== undefined) a = Decimal.max(a, dec(charge.minimum).times(portion));
  if (charge.maximum !== undefined) a = Decimal.min(a, dec(charge.maximum).times(portion));
  return a;
}

/** One stretch of time during which `quantity` deployments were licensed. */
export interface DeploymentSpan {
  from: number;
  to: number;
  quantity: number;
}

export interface RatedDeployments {
  /** Deployment-periods: Σ billable deployments × share of the period. */
  quantity: Decimal;
  amount: Decimal;
  spans: Array<DeploymentSpan & { billable: number; share: string; amount: string }>;
}

/**
 * Rates a per-deployment charge over a timeline, clipped to [from, to) inside the period
 * [periodStart, periodEnd): each span costs fee × (quantity − included) × its share of the
 * period, by the second.
 */
export function rateDeployments(
  charge: DeploymentCharge,
  timeline: DeploymentSpan[],
  window: { from: number; to: number },
  period: { start: number; end: number },
): RatedDeployments {
  const fee = dec(charge.fee);
  let quantity = ZERO;
  let amount = ZERO;
  const spans: RatedDeployments['spans'] = [];
  for (const s of [...timeline].sort((a, b) => a.from - b.from)) {
    const from = Math.max(s.from, window.from);
    const to = Math.min(s.to, window.to);
    if (to <= from) continue;
    const billable = Math.max(0, s.quantity - charge.includedUnits);
    const portion = prorate(dec(1), from, to, period.start, period.end);
    const a = prorate(fee.times(billable), from, to, period.start, period.end);
    quantity = quantity.plus(portion.times(billable));
    amount = amount.plus(a);
    spans.push({
      from,
      to,
      quantity: s.quantity,
      billable,
      share: portion.toSignificantDigits(12).toFixed(),
      amount: a.toFixed(),
    });
  }
  return { quantity, amount, spans };
}

/** The charge for a dimension, if the price has one. */
export function chargeFor(price: Price, dim: string): Charge | undefined {
  return price.charges.find((c) => c.dimension === dim);
}
