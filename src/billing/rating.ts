/**
 * Rating (pure): a period's segments + prices + metered usage → invoice lines.
 *
 * Every line is rounded exactly once (money.roundMoney); the subtotal is the sum of the
 * rounded lines. Every metered dimension of a segment gets a line — dimensions the price
 * does not charge appear at 0 — so the usage quantities on an invoice always equal the
 * metered usage of its period, unit for unit, and each usage line names the hours
 * [usageFrom, usageTo) it came from. Each line also says how its amount is worked out
 * (`calc`, see lines.ts), so a buyer can check every line with a calculator.
 */
import {
  type ChargeLine,
  chargeLines,
  day,
  groupDigits,
  type LineCalc,
  limitLine,
  shareFraction,
  unitName,
} from './lines.js';
import { type Decimal, dec, decText, formatAmount, minorUnits, sum, ZERO } from './money.js';
import { type Interval, type Period, periodContaining, prorate, secondsBetween } from './periods.js';
import { type DeploymentCharge, type DeploymentSpan, type Price, rateDeployments } from './pricing.js';
import { recurringFor, type Segment } from './proration.js';

/** `minimum` and `maximum` lines bring a charge's lines up to its minimum or down to its cap. */
export type LineKind = 'recurring' | 'setup' | 'usage' | 'deployment' | 'minimum' | 'maximum';

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
  /** How the amount is worked out: round(quantity × price / per). */
  calc: LineCalc;
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
    const portion = {
      share: prorate(dec(1), seg.from, seg.to, nominal.start, nominal.end),
      fraction: fullPeriod ? null : shareFraction(seg.from, seg.to, nominal.start, nominal.end).text,
    };
    const noUsage = { usageFrom: null, usageTo: null };

    if (seg.planStarts && dec(seg.price.setupFee).gt(0)) {
      lines.push({
        ...base,
        ...noUsage,
        kind: 'setup',
        description: `${seg.planName}: setup fee`,
        dimension: null,
        quantity: '1',
        unitPrice: seg.price.setupFee,
        amount: formatAmount(dec(seg.price.setupFee), currency),
        detail: {},
        calc: {
          quantity: '1',
          price: money(seg.price.setupFee, currency),
          per: 1,
          unit: 'setup',
          note: null,
        },
      });
    }

    const fee = dec(seg.price.recurringFee);
    if (fee.gt(0)) {
      const r = recurringFor(fee, seg.from, seg.to, nominal, input.trialEndsAt);
      const prorated = !fullPeriod || r.chargedFrom !== seg.from;
      const trial = r.chargedFrom !== seg.from ? ', after trial' : '';
      const f = shareFraction(r.chargedFrom, seg.to, nominal.start, nominal.end);
      lines.push({
        ...base,
        ...noUsage,
        kind: 'recurring',
        description:
          `${seg.planName}: ${seg.price.interval}ly fee` +
          (prorated ? ` (${day(r.chargedFrom)} to ${day(seg.to)}, prorated${trial})` : ''),
        dimension: null,
        quantity: decText(r.share.toDecimalPlaces(6)),
        unitPrice: seg.price.recurringFee,
        amount: formatAmount(r.amount, currency),
        detail: {
          from: r.chargedFrom,
          to: seg.to,
          nominalStart: nominal.start,
          nominalEnd: nominal.end,
          share: r.share.toSignificantDigits(12).toFixed(),
        },
        calc: {
          quantity: prorated ? f.text : '1',
          price: money(seg.price.recurringFee, currency),
          per: 1,
          unit: seg.price.interval,
          note: prorated ? f.note : null,
        },
      });
    }

    const charged = new Set<string>();
    for (const c of seg.price.charges) {
      charged.add(c.dimension);
      if (c.model === 'per_deployment') {
        lines.push(
          ...deploymentLines(c, seg, nominal, currency, portion).map((l) => ({ ...base, ...noUsage, ...l })),
        );
        continue;
      }
      const used = seg.usage[c.dimension] ?? 0;
      for (const l of chargeLines(c, used, currency, seg.price.interval, portion))
        lines.push({
          ...base,
          ...fromCharge(l, c.dimension),
          usageFrom: seg.usageFrom,
          usageTo: seg.usageTo,
        });
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
        calc: { quantity: String(qty), price: money('0', currency), per: 1, unit: unitName(dim), note: null },
      });
    }
  }
  return { lines, subtotal: formatAmount(sum(lines.map((l) => l.amount)), currency) };
}

/** A price figure with at least the currency's decimals: 49 → "49.00", 0.0004 → "0.0004". */
function money(v: string, currency: string): string {
  const d = dec(v);
  return d.toFixed(Math.max(minorUnits(currency), d.decimalPlaces()));
}

function fromCharge(
  l: ChargeLine,
  dimension: string,
): Omit<LineDraft, 'planId' | 'priceId' | 'usageFrom' | 'usageTo'> {
  return { ...l, dimension, detail: {} };
}

/**
 * A per-deployment charge: one line whose quantity is deployment-days (or -seconds) over the
 * period's days (seconds), so fee × quantity is exact; then its minimum/maximum line.
 */
function deploymentLines(
  c: DeploymentCharge,
  seg: RatingSegment,
  nominal: { start: number; end: number },
  currency: string,
  portion: { share: Decimal; fraction: string | null },
): Array<Omit<LineDraft, 'planId' | 'priceId' | 'usageFrom' | 'usageTo'>> {
  const timeline = seg.deployments?.[c.dimension] ?? [];
  const r = rateDeployments(c, timeline, { from: seg.from, to: seg.to }, nominal);
  const whole = secondsBetween(nominal.start, nominal.end);
  const parts = r.spans.map((s) => ({ n: s.billable, secs: secondsBetween(s.from, s.to) }));
  const days = whole % 86_400 === 0 && parts.every((p) => p.secs % 86_400 === 0);
  const scale = days ? 86_400 : 1;
  const num = parts.reduce((a, p) => a + p.n * (p.secs / scale), 0);
  const unit = days ? 'days' : 'seconds';
  const spanNote = parts.map((p) => `${p.n} × ${groupDigits(p.secs / scale)}`).join(' + ');
  const main = {
    kind: 'deployment' as const,
    description: c.description ?? 'Licensed deployments',
    dimension: c.dimension,
    quantity: decText(r.quantity.toDecimalPlaces(6)),
    unitPrice: c.fee,
    amount: formatAmount(r.amount, currency),
    detail: { spans: r.spans, includedUnits: c.includedUnits, exact: r.amount.toFixed() },
    calc: {
      quantity: `${num}/${whole / scale}`,
      price: money(c.fee, currency),
      per: 1,
      unit: `deployment per ${seg.price.interval}`,
      note: `deployment-${unit}: ${spanNote || '0'} of ${groupDigits(whole / scale)} ${unit}`,
    },
  };
  const limit = limitLine(c, [main], currency, seg.price.interval, portion);
  return limit ? [main, { ...limit, dimension: c.dimension, detail: {} }] : [main];
}

/** The nominal period of `interval` containing `t` (the subscription's own when it matches). */
function nominalFor(input: PeriodRating, interval: Interval, t: number): { start: number; end: number } {
  const p = periodContaining(input.anchor, interval, t);
  if (p.start === input.period.nominalStart)
    return { start: input.period.nominalStart, end: input.period.nominalEnd };
  return { start: p.start, end: p.end };
}
