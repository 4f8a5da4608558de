/**
 * Price descriptions and sample costs for product pages and the plan editor.
 *
 * Samples are counted in what the price charges: calls when the dimension counts requests,
 * otherwise the dimension's own unit ("1k characters", never "1k calls" when one unit is a
 * character). A sample is marked "over quota" only when it is counted in calls and exceeds
 * what a blocking quota can ever allow in one billing period of the price: a 10,000/day quota
 * allows up to 320,000 calls in a month (a period anchored mid-day touches 32 days), so
 * 100k calls a month is within it and 10M is not.
 */

import {
  formatMoney,
  type Interval,
  type Price,
  priceText,
  scaledPrice,
  unitName,
} from '../billing/index.js';
import { enforcedQuota, type PlanView } from '../catalog/index.js';
import type { BillingPort } from './deps.js';

export const SAMPLE_SIZES: Array<[string, number]> = [
  ['1k', 1_000],
  ['100k', 100_000],
  ['10M', 10_000_000],
];

/** Dimensions that count calls (one unit a call by default). */
const CALL_DIMENSIONS = new Set(['requests', 'calls']);

export interface Sample {
  /** "1k calls", "100k characters". */
  label: string;
  /** Units of the dimension. */
  units: number;
  /** Calls, when the sample is counted in calls; else null (the quota counts calls). */
  calls: number | null;
}

/** The sample columns for a dimension metered at `unitsPerCall` units a call. */
export function samples(dimension: string, unitsPerCall = 1): Sample[] {
  const inCalls = CALL_DIMENSIONS.has(dimension);
  return SAMPLE_SIZES.map(([k, n]) =>
    inCalls
      ? { label: `${k} calls`, units: n * unitsPerCall, calls: n }
      : { label: `${k} ${unitName(dimension)}`, units: n, calls: null },
  );
}

/** The most quota windows one billing period can touch (periods may start mid-day). */
const WINDOWS: Record<string, Record<Interval, number>> = {
  DAY: { month: 32, year: 367 },
  WEEK: { month: 6, year: 54 },
  MONTH: { month: 2, year: 13 },
};

/** The most calls a quota allows in one billing period of `interval`. */
export function quotaPerPeriod(quota: { limit: number; period: string }, interval: Interval): number {
  return quota.limit * (WINDOWS[quota.period]?.[interval] ?? 1);
}

/** True when a blocking quota can never serve the sample within one billing period. */
export function overQuota(
  sample: Sample,
  plan: Pick<PlanView, 'quota' | 'overQuota'>,
  interval: Interval,
): boolean {
  const quota = enforcedQuota(plan.quota);
  if (!quota || plan.overQuota !== 'block' || sample.calls === null) return false;
  return sample.calls > quotaPerPeriod(quota, interval);
}

/** One line per charge, e.g. "characters: USD 0.02 per 1,000 characters, first 1,000 free". */
export function chargeLines(price: Price): string[] {
  const cur = price.currency;
  return price.charges.map((ch) => {
    const unit = unitName(ch.dimension);
    const free = ch.includedUnits ? `, first ${ch.includedUnits.toLocaleString('en-US')} free` : '';
    const at = (p: string) => priceText({ ...scaledPrice(p, cur), unit }, cur);
    let what: string;
    if (ch.model === 'per_unit') what = at(ch.unitPrice);
    else if (ch.model === 'package')
      what = `${cur} ${ch.packagePrice} per ${ch.packageSize.toLocaleString('en-US')} ${unit} (started packages)`;
    else if (ch.model === 'graduated' || ch.model === 'volume')
      what = `${ch.model === 'graduated' ? 'graduated tiers' : 'volume tiers'}: ${ch.tiers
        .map(
          (t) => `${t.upTo === null ? 'then' : `up to ${t.upTo.toLocaleString('en-US')}`} ${at(t.unitPrice)}`,
        )
        .join(', ')}`;
    else what = `${cur} ${ch.fee} per deployment per ${price.interval}`;
    return `${ch.description ?? ch.dimension}: ${what}${free}`;
  });
}

export function feeLine(price: Price): string {
  const parts = [`${formatMoney(price.recurringFee, price.currency)} per ${price.interval}`];
  if (price.setupFee !== '0') parts.push(`${formatMoney(price.setupFee, price.currency)} setup`);
  if (price.trialDays) parts.push(`${price.trialDays}-day free trial`);
  return parts.join(' · ');
}

/** What each sample would cost per period on the plan's current price (null cells when unpriced or failing). */
export async function sampleCosts(
  billing: BillingPort | undefined,
  planId: string,
  dimension: string,
  columns: Sample[],
): Promise<Array<string | null>> {
  if (!billing) return columns.map(() => null);
  return Promise.all(
    columns.map(async (s) => {
      try {
        const p = await billing.preview(planId, { [dimension]: s.units });
        return formatMoney(p.total, p.currency);
      } catch {
        return null;
      }
    }),
  );
}
