/** Price descriptions and sample costs for product pages and the plan editor. */
import { formatMoney, type Price } from '../billing/index.js';
import type { BillingPort } from './deps.js';

export const SAMPLE_CALLS: Array<[string, number]> = [
  ['1k calls', 1_000],
  ['100k calls', 100_000],
  ['10M calls', 10_000_000],
];

const MODEL: Record<string, string> = {
  per_unit: 'per unit',
  graduated: 'graduated tiers',
  volume: 'volume tiers',
  package: 'per package',
  per_deployment: 'per deployment',
};

/** One line per charge, e.g. "requests: USD 0.0004 per unit, first 1,000 free". */
export function chargeLines(price: Price): string[] {
  return price.charges.map((ch) => {
    const free = ch.includedUnits ? `, first ${ch.includedUnits.toLocaleString('en-US')} free` : '';
    let what = MODEL[ch.model] ?? ch.model;
    if (ch.model === 'per_unit') what = `${price.currency} ${ch.unitPrice} per unit`;
    else if (ch.model === 'package')
      what = `${price.currency} ${ch.packagePrice} per ${ch.packageSize.toLocaleString('en-US')} units`;
    else if (ch.model === 'graduated' || ch.model === 'volume')
      what = `${MODEL[ch.model]}: ${ch.tiers
        .map(
          (t) =>
            `${t.upTo === null ? 'then' : `up to ${t.upTo.toLocaleString('en-US')}`} ${price.currency} ${t.unitPrice}`,
        )
        .join(', ')}`;
    else if (ch.model === 'per_deployment') what = `${price.currency} ${ch.fee} per deployment`;
    return `${ch.description ?? ch.dimension}: ${what}${free}`;
  });
}

export function feeLine(price: Price): string {
  const parts = [`${formatMoney(price.recurringFee, price.currency)} per ${price.interval}`];
  if (price.setupFee !== '0') parts.push(`${formatMoney(price.setupFee, price.currency)} setup`);
  if (price.trialDays) parts.push(`${price.trialDays}-day free trial`);
  return parts.join(' · ');
}

/** What N calls would cost per period on the plan's current price (null cells when unpriced or failing). */
export async function sampleCosts(
  billing: BillingPort | undefined,
  planId: string,
  dimension: string,
  unitsPerCall: number,
): Promise<Array<string | null>> {
  if (!billing) return SAMPLE_CALLS.map(() => null);
  return Promise.all(
    SAMPLE_CALLS.map(async ([, n]) => {
      try {
        const p = await billing.preview(planId, { [dimension]: n * unitsPerCall });
        return formatMoney(p.total, p.currency);
      } catch {
        return null;
      }
    }),
  );
}
