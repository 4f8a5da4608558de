/**
 * Money: exact decimals (decimal.js) and ISO 4217 minor units.
 *
 * Every price and intermediate amount stays an exact Decimal; an amount is rounded exactly
 * once, when it becomes an invoice line, to the currency's minor unit (USD 2 → 0.01,
 * JPY 0 → 1, KWD 3 → 0.001). Totals are sums of already-rounded lines, so the total
 * always equals the sum of the lines a reader sees.
 *
 * Rounding rule: ROUND_HALF_UP (half away from zero: 0.125 → 0.13, −0.125 → −0.13).
 * Why not half-even: each line is rounded once, never re-rounded, so the statistical bias
 * half-even removes from long chains of roundings does not accumulate here; what matters on
 * an invoice is that a buyer checking a line by hand gets the same cents, and "half up" is
 * the commercial rule people (and most tax authorities) apply. Being symmetric about zero,
 * a prorated credit and the matching charge round to the same magnitude.
 */
import { Decimal as DecimalJs } from 'decimal.js';

/** Decimal with 40 significant digits: plenty for 0.00000001 × 10^15 units. */
export const Decimal = DecimalJs.clone({ precision: 40, rounding: DecimalJs.ROUND_HALF_UP });
export type Decimal = DecimalJs;

/** The rounding mode applied to invoice lines (see header). */
export const LINE_ROUNDING = DecimalJs.ROUND_HALF_UP;

/** ISO 4217 minor units (exponent) of the currencies Tollgate accepts. */
export const MINOR_UNITS: Readonly<Record<string, number>> = Object.freeze({
  // three decimals
  BHD: 3,
  IQD: 3,
  JOD: 3,
  KWD: 3,
  LYD: 3,
  OMR: 3,
  TND: 3,
  // zero decimals
  BIF: 0,
  CLP: 0,
  DJF: 0,
  GNF: 0,
  ISK: 0,
  JPY: 0,
  KMF: 0,
  KRW: 0,
  PYG: 0,
  RWF: 0,
  UGX: 0,
  UYI: 0,
  VND: 0,
  VUV: 0,
  XAF: 0,
  XOF: 0,
  XPF: 0,
  // two decimals
  AED: 2,
  ARS: 2,
  AUD: 2,
  BGN: 2,
  BRL: 2,
  CAD: 2,
  CHF: 2,
  CNY: 2,
  COP: 2,
  CZK: 2,
  DKK: 2,
  EGP: 2,
  EUR: 2,
  GBP: 2,
  HKD: 2,
  HUF: 2,
  IDR: 2,
  ILS: 2,
  INR: 2,
  KES: 2,
  MAD: 2,
  MXN: 2,
  MYR: 2,
  NGN: 2,
  NOK: 2,
  NZD: 2,
  PEN: 2,
  PHP: 2,
  PKR: 2,
  PLN: 2,
  QAR: 2,
  RON: 2,
  RSD: 2,
  SAR: 2,
  SEK: 2,
  SGD: 2,
  THB: 2,
  TRY: 2,
  TWD: 2,
  UAH: 2,
  USD: 2,
  ZAR: 2,
});

export function isCurrency(code: string): boolean {
  return Object.hasOwn(MINOR_UNITS, code);
}

/** The number of decimals of a currency's minor unit; throws on an unknown code. */
export function minorUnits(currency: string): number {
  const n = MINOR_UNITS[currency];
  if (n === undefined) throw new Error(`unknown currency ${currency}`);
  return n;
}

/** A decimal from a price string (or a count). Never pass a float that came from arithmetic. */
export function dec(v: DecimalJs.Value): Decimal {
  return new Decimal(v);
}

export const ZERO = new Decimal(0);

/** Rounds an amount once to the currency's minor unit (the invoice-line rounding). */
export function roundMoney(amount: Decimal, currency: string): Decimal {
  return amount.toDecimalPlaces(minorUnits(currency), LINE_ROUNDING);
}

/** Fixed-point text with exactly the currency's decimals: `12.30`, `1200`, `0.125`. */
export function formatAmount(amount: Decimal, currency: string): string {
  return amount.toFixed(minorUnits(currency), LINE_ROUNDING);
}

/** Human form for documents: `USD 1,234.50`. */
export function formatMoney(amount: Decimal | string, currency: string): string {
  const fixed = formatAmount(dec(amount), currency);
  const neg = fixed.startsWith('-');
  const [int, frac] = (neg ? fixed.slice(1) : fixed).split('.');
  const grouped = int!.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${currency} ${neg ? '-' : ''}${grouped}${frac ? `.${frac}` : ''}`;
}

/** Sums already-rounded amounts (strings or decimals) exactly. */
export function sum(amounts: Iterable<Decimal | string>): Decimal {
  let total = new Decimal(0);
  for (const a of amounts) total = total.plus(a);
  return total;
}

/** Canonical text form of a decimal for storage: no exponent, no trailing zeros beyond need. */
export function decText(d: Decimal): string {
  return d.toFixed();
}
