/**
 * Invoice lines a buyer can check with a calculator (pure).
 *
 * Every line carries a `calc`: an exact quantity (a decimal, or a fraction `a/b` for a
 * prorated share), an exact price per `per` units of `unit`, and the amount is
 *   amount = round(quantity × price / per)   (half up, to the currency's minor unit)
 * — nothing on a line is cut. A usage charge becomes several such lines:
 * - the included units (price 0), then
 * - per_unit: the billed units × the unit price, shown at a readable scale
 *   ("USD 0.02 per 1,000 characters" for 0.00002 a character);
 * - package: the number of packages × the package price;
 * - graduated: one line per tier touched (+ a line per tier flat fee);
 * - volume: the billed units × the tier's price (+ the tier's flat fee);
 * - minimum / maximum: a separate true-up (or cap) line bringing the charge's rounded lines
 *   to the prorated minimum (maximum), so the lines still add up exactly to the total.
 * The `quantity` field of usage lines counts the metered units each line covers, so the
 * usage quantities of one dimension still add up to its metered usage.
 */
import { type Decimal, dec, formatAmount, formatMoney, minorUnits, sum } from './money.js';
import type { Interval } from './periods.js';
import { secondsBetween } from './periods.js';
import { type Charge, rateUsage, type UsageCharge } from './pricing.js';

/** How a line's amount is worked out: amount = round(quantity × price / per). */
export interface LineCalc {
  /** Exact: a decimal ("11345") or a fraction of a period ("22/31"). */
  quantity: string;
  /** Exact decimal price per `per` units. */
  price: string;
  per: number;
  /** What is counted ("characters", "month", "package of 1,000 characters"); "" for a flat sum. */
  unit: string;
  /** How the quantity came about ("12,345 used, 1,000 included"; "2026-01-10 to 2026-02-01: 22 of 31 days"). */
  note: string | null;
}

/** A usage-charge line before the rating fills in plan, price and usage hours. */
export interface ChargeLine {
  kind: 'usage' | 'minimum' | 'maximum';
  description: string;
  /** Metered units this line covers (0 for fees and adjustments). */
  quantity: string;
  /** Price of one unit (the model's own figure), or null for adjustments. */
  unitPrice: string | null;
  amount: string;
  calc: LineCalc;
}

const SCALES = [1, 1_000, 1_000_000];

/** "1,234,567" — grouping without losing decimals. */
export function groupDigits(d: Decimal | number | string): string {
  // a string keeps its own decimals ("49.00"); a number or decimal shows what it needs
  const [int, frac] = (typeof d === 'string' ? d : dec(d).toFixed()).split('.');
  return `${int!.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}${frac ? `.${frac}` : ''}`;
}

/** The name of a dimension's unit as people read it: `api_calls` → "api calls". */
export function unitName(dimension: string): string {
  return dimension.replace(/[_.:-]+/g, ' ');
}

/**
 * A unit price at a readable scale: the smallest of 1, 1,000 and 1,000,000 units at which
 * the price needs no more decimals than the currency's minor unit (0.00002 USD → 0.02 per
 * 1,000); the largest when none does. Exact either way: price / per is the unit price.
 */
export function scaledPrice(unitPrice: Decimal | string, currency: string): { price: string; per: number } {
  const p = dec(unitPrice);
  const minor = minorUnits(currency);
  if (p.isZero()) return { price: p.toFixed(minor), per: 1 };
  const per = SCALES.find((s) => p.times(s).decimalPlaces() <= minor) ?? SCALES[SCALES.length - 1]!;
  const scaled = p.times(per);
  return { price: scaled.toFixed(Math.max(minor, scaled.decimalPlaces())), per };
}

/** "USD 0.02 per 1,000 characters", "USD 0.01 per request", "USD 49.00 per month", "USD 5.00". */
export function priceText(calc: Pick<LineCalc, 'price' | 'per' | 'unit'>, currency: string): string {
  const amount = `${currency} ${groupDigits(calc.price)}`;
  if (!calc.unit) return amount;
  return calc.per === 1
    ? `${amount} per ${singular(calc.unit)}`
    : `${amount} per ${groupDigits(calc.per)} ${calc.unit}`;
}

/** One of a counted unit: "requests" → "request", "searches" → "search" (English plurals only). */
export function singular(unit: string): string {
  const words = unit.split(' ');
  const last = words[words.length - 1]!;
  const one = /(ch|sh|ss|x)es$/.test(last)
    ? last.slice(0, -2)
    : /[^s]s$/.test(last)
      ? last.slice(0, -1)
      : last;
  return [...words.slice(0, -1), one].join(' ');
}

/** The exact amount of a calc (before rounding). */
export function calcExact(calc: Pick<LineCalc, 'quantity' | 'price' | 'per'>): Decimal {
  const [n, d] = calc.quantity.split('/');
  const q = d === undefined ? dec(n!) : dec(n!).div(d);
  return q.times(calc.price).div(calc.per);
}

/**
 * The share of [from, to) in the period [start, end) as an exact fraction: whole days when
 * both spans are whole days (the way people count), else seconds (as proration does).
 */
export function shareFraction(
  from: number,
  to: number,
  start: number,
  end: number,
): { text: string; note: string } {
  const part = secondsBetween(from, to);
  const whole = secondsBetween(start, end);
  const days = part % 86_400 === 0 && whole % 86_400 === 0;
  const [a, b, u] = days ? [part / 86_400, whole / 86_400, 'days'] : [part, whole, 'seconds'];
  return {
    text: `${a}/${b}`,
    note: `${day(from)} to ${day(to)}: ${groupDigits(a)} of ${groupDigits(b)} ${u}`,
  };
}

export function day(t: number): string {
  return new Date(t).toISOString().slice(0, 10);
}

function line(
  currency: string,
  description: string,
  quantity: string | number,
  unitPrice: string | null,
  calc: LineCalc,
  kind: ChargeLine['kind'] = 'usage',
): ChargeLine {
  return {
    kind,
    description,
    quantity: String(quantity),
    unitPrice,
    amount: formatAmount(calcExact(calc), currency),
    calc,
  };
}

/** A usage line at the charge's unit price: billed units × price (at its readable scale). */
function unitsLine(
  currency: string,
  description: string,
  units: Decimal,
  unitPrice: string,
  unit: string,
  note: string | null,
): ChargeLine {
  const s = scaledPrice(unitPrice, currency);
  return line(currency, description, units.toFixed(), unitPrice, {
    quantity: units.toFixed(),
    ...s,
    unit,
    note,
  });
}

function flatLine(currency: string, description: string, fee: string, kind: ChargeLine['kind'] = 'usage') {
  const price = dec(fee).toFixed(Math.max(minorUnits(currency), dec(fee).decimalPlaces()));
  return line(
    currency,
    description,
    0,
    kind === 'usage' ? fee : null,
    { quantity: '1', price, per: 1, unit: '', note: null },
    kind,
  );
}

/**
 * The lines of one usage charge over a segment: included units, the billed units by model,
 * and a minimum/maximum adjustment, prorated by `portion` ({share, text} of the period).
 */
export function chargeLines(
  c: UsageCharge,
  used: number,
  currency: string,
  interval: Interval,
  portion: { share: Decimal; fraction: string | null },
): ChargeLine[] {
  const name = c.description ?? c.dimension;
  const unit = unitName(c.dimension);
  const r = rateUsage(c, used);
  const out: ChargeLine[] = [];
  const included = Math.min(used, c.includedUnits);
  if (c.includedUnits > 0 && used > 0)
    out.push(
      unitsLine(
        currency,
        `${name}: ${groupDigits(included)} of ${groupDigits(c.includedUnits)} included`,
        dec(included),
        '0',
        unit,
        null,
      ),
    );
  const billedNote =
    c.includedUnits > 0 ? `${groupDigits(used)} used, ${groupDigits(c.includedUnits)} included` : null;
  if (c.model === 'per_unit') {
    out.push(unitsLine(currency, name, r.billable, c.unitPrice, unit, billedNote));
  } else if (c.model === 'package') {
    const pkgUnit = `package of ${groupDigits(c.packageSize)} ${unit}`;
    const price = dec(c.packagePrice);
    out.push(
      line(
        currency,
        `${name}: ${groupDigits(r.packages ?? 0)} × ${groupDigits(c.packageSize)} ${unit}`,
        r.billable.toFixed(),
        c.packagePrice,
        {
          quantity: String(r.packages ?? 0),
          price: price.toFixed(Math.max(minorUnits(currency), price.decimalPlaces())),
          per: 1,
          unit: pkgUnit,
          note: `${groupDigits(r.billable)} ${unit} billed${billedNote ? ` (${billedNote})` : ''}, in started packages`,
        },
      ),
    );
  } else if (!r.tiers || r.tiers.length === 0) {
    out.push(unitsLine(currency, name, r.billable, c.tiers[0]!.unitPrice, unit, billedNote));
  } else {
    for (const t of r.tiers) {
      const what =
        c.model === 'graduated'
          ? `${name}: tier ${t.tier}, ${groupDigits(t.from)}–${groupDigits(t.to)}`
          : `${name}: all ${groupDigits(t.units)} at tier ${t.tier}`;
      out.push(
        unitsLine(currency, what, dec(t.units), t.unitPrice, unit, c.model === 'volume' ? billedNote : null),
      );
      if (dec(t.flatFee).gt(0)) out.push(flatLine(currency, `${name}: tier ${t.tier} flat fee`, t.flatFee));
    }
  }
  const adjustment = limitLine(c, out, currency, interval, portion);
  if (adjustment) out.push(adjustment);
  return out;
}

/**
 * The minimum true-up (or maximum cap) of a charge: the prorated limit, rounded, less the
 * rounded lines already written for the charge. No line when the limit is not reached.
 */
export function limitLine(
  c: Charge,
  lines: Array<{ amount: string }>,
  currency: string,
  interval: Interval,
  portion: { share: Decimal; fraction: string | null },
): ChargeLine | null {
  const billed = sum(lines.map((l) => l.amount));
  const name = c.description ?? c.dimension;
  for (const kind of ['minimum', 'maximum'] as const) {
    const limit = c[kind];
    if (limit === undefined) continue;
    const due = dec(formatAmount(dec(limit).times(portion.share), currency));
    const diff = due.minus(billed);
    if (kind === 'minimum' ? !diff.gt(0) : !diff.lt(0)) continue;
    const per = `${formatMoney(limit, currency)} per ${interval}${portion.fraction ? ` × ${portion.fraction}` : ''}`;
    const l = flatLine(
      currency,
      kind === 'minimum'
        ? `${name}: minimum ${per} = ${formatMoney(due, currency)}, less ${formatMoney(billed, currency)} billed`
        : `${name}: cap ${per} = ${formatMoney(due, currency)}, less ${formatMoney(billed, currency)} billed`,
      diff.toFixed(),
      kind,
    );
    return l;
  }
  return null;
}
