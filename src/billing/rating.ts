/**
 * Rating (pure): a period's segments + prices + metered usage → invoice lines.
 *
 * Every line is rounded exactly once (money.roundMoney); the subtotal is the sum of the
 * rounded lines. Every metered dimension of a segment gets a line — dimensions the price
 * does not charge appear at 0 — so the usage quantities on an invoice always equal the
 * metered usage of its period, unit for unit, and each usage line names the hours
 * [usageFrom, usageTo) it came from.
 */
import { type Decimal, dec, decText, formatAmount, sum, ZERO } from './money.js';
import { type Interval, type Period, periodContaining, prorate } from './periods.js';
import {
  applyLimits,
  type DeploymentSpan,
  type Price,
  rateDeployments,
  rateUsage,
  type UsageCharge,
} from './pricing.js';
import { recurringFor, type Segment } from './proration.js';

export type LineKind = 'recurring' | 'setup' | 'usage' | 'deployment';

export interface LineDraft {
  kind: LineKind;
  description: string;
  dimension: string | null;
  /** Decimal text: units for usage lines, share of the period for recurring ones. */
  quantity: string;
  unitPrice: string | null;
  /** Rounded to the currency's minor unit. */
  amount: string;
  usageFrom: number | null;
  usageTo: number | null;
  planId: string;
  priceId: string | null;
  detail: Record<string, unknown>;
}

export interface RatingSegment extends Segment {
  planName: string;
  price: Price;
  priceId: string | null;
  /** Metered units per dimension over [usageFrom, usageTo). */
  usage: Record<string, number>;
  /** Per-deployment timelines by dimension, when the price has such a charge. */
  deployments?: Record<string, DeploymentSpan[]>;
}

export interface PeriodRating {
  period: Period;
  anchor: number;
  currency: string;
  trialEndsAt: number | null;
  segments: RatingSegment[];
}

export function ratePeriod(input: PeriodRating): { lines: LineDraft[]; subtotal: string } {
  const { currency } = input;
  const lines: LineDraft[] = [];
  for (const seg of input.segments) {
    if (seg.price.currency !== currency)
      throw new Error(`plan ${seg.planId} is priced in ${seg.price.currency}, the invoice in ${currency}`);
    const nominal = nominalFor(input, seg.price.interval, seg.from);
    const base = { planId: seg.planId, priceId: seg.priceId };
    const fullPeriod = seg.from === nominal.start && seg.to === nominal.end;
    const portion = prorate(dec(1), seg.from, seg.to, nominal.start, nominal.end);

    if (seg.planStarts && dec(seg.price.setupFee).gt(0)) {
      lines.push({
        ...base,
        kind: 'setup',
        description: `${seg.planName}: setup fee`,
        dimension: null,
        quantity: '1',
        unitPrice: seg.price.setupFee,
        amount: formatAmount(dec(seg.price.setupFee), currency),
        usageFrom: null,
        usageTo: null,
        detail: {},
      });
    }

    const fee = dec(seg.price.recurringFee);
    if (fee.gt(0)) {
      const r = recurringFor(fee, seg.from, seg.to, nominal, input.trialEndsAt);
      const prorated = !fullPeriod || r.chargedFrom !== seg.from;
      const trial = r.chargedFrom !== seg.from ? ', after trial' : '';
      lines.push({
        ...base,
        kind: 'recurring',
        description:
          `${seg.planName}: ${seg.price.interval}ly fee` +
          (prorated ? ` (${day(r.chargedFrom)} to ${day(seg.to)}, prorated${trial})` : ''),
        dimension: null,
        quantity: decText(r.share.toDecimalPlaces(6)),
        unitPrice: seg.price.recurringFee,
        amount: formatAmount(r.amount, currency),
        usageFrom: null,
        usageTo: null,
        detail: {
          from: r.chargedFrom,
          to: seg.to,
          nominalStart: nominal.start,
          nominalEnd: nominal.end,
          share: r.share.toSignificantDigits(12).toFixed(),
        },
      });
    }

    const charged = new Set<string>();
    for (const c of seg.price.charges) {
      charged.add(c.dimension);
      if (c.model === 'per_deployment') {
        const timeline = seg.deployments?.[c.dimension] ?? [];
        const r = rateDeployments(c, timeline, { from: seg.from, to: seg.to }, nominal);
        const amount = applyLimits(c, r.amount, portion);
        lines.push({
          ...base,
          kind: 'deployment',
          description: c.description ?? 'Licensed deployments',
          dimension: c.dimension,
          quantity: decText(r.quantity.toDecimalPlaces(6)),
          unitPrice: c.fee,
          amount: formatAmount(amount, currency),
          usageFrom: null,
          usageTo: null,
          detail: { spans: r.spans, includedUnits: c.includedUnits, exact: r.amount.toFixed() },
        });
        continue;
      }
      lines.push(usageLine(c, seg, portion, currency));
    }
    for (const [dim, qty] of Object.entries(seg.usage).sort(([a], [b]) => a.localeCompare(b))) {
      if (charged.has(dim)) continue;
      lines.push({
        ...base,
        kind: 'usage',
        description: `${dim} (not charged on ${seg.planName})`,
        dimension: dim,
        quantity: String(qty),
        unitPrice: '0',
        amount: formatAmount(ZERO, currency),
        usageFrom: seg.usageFrom,
        usageTo: seg.usageTo,
        detail: {},
      });
    }
  }
  return { lines, subtotal: formatAmount(sum(lines.map((l) => l.amount)), currency) };
}

function usageLine(c: UsageCharge, seg: RatingSegment, portion: Decimal, currency: string): LineDraft {
  const qty = seg.usage[c.dimension] ?? 0;
  const r = rateUsage(c, qty);
  const amount = applyLimits(c, r.amount, portion);
  const detail: Record<string, unknown> = {
    model: c.model,
    includedUnits: c.includedUnits,
    billable: r.billable.toFixed(),
    exact: r.amount.toFixed(),
  };
  if (r.tiers) detail.tiers = r.tiers;
  if (r.packages !== undefined) {
    detail.packages = r.packages;
    detail.packageSize = c.model === 'package' ? c.packageSize : undefined;
  }
  if (!amount.eq(r.amount)) detail.limitedBy = amount.gt(r.amount) ? 'minimum' : 'maximum';
  return {
    kind: 'usage',
    planId: seg.planId,
    priceId: seg.priceId,
    description: c.description ?? c.dimension,
    dimension: c.dimension,
    quantity: String(qty),
    unitPrice:
      c.model === 'per_unit'
        ? c.unitPrice
        : c.model === 'package'
          ? c.packagePrice
          : r.unitPrice
            ? r.unitPrice.toFixed()
            : null,
    amount: formatAmount(amount, currency),
    usageFrom: seg.usageFrom,
    usageTo: seg.usageTo,
    detail,
  };
}

/** The nominal period of `interval` containing `t` (the subscription's own when it matches). */
function nominalFor(input: PeriodRating, interval: Interval, t: number): { start: number; end: number } {
  const p = periodContaining(input.anchor, interval, t);
  if (p.start === input.period.nominalStart)
    return { start: input.period.nominalStart, end: input.period.nominalEnd };
  return { start: p.start, end: p.end };
}

function day(t: number): string {
  return new Date(t).toISOString().slice(0, 10);
}
