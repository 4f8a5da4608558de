/**
 * Billing periods, anchored at the subscription's start (anniversary billing) or at the 1st
 * of the calendar month or year (calendar billing, see anchorFor), in UTC.
 *
 * Period n runs from addMonths(anchor, n·k) to addMonths(anchor, (n+1)·k), k = 1 (month)
 * or 12 (year). Each boundary is computed from the anchor, never from the previous
 * boundary, so a subscription started on 31 January bills 31 Jan → 28 Feb (29 in a leap
 * year) → 31 Mar → 30 Apr → 31 May…: the day clamps to the month's last day and returns to
 * the 31st as soon as the month has one. The time of day of the anchor is kept.
 *
 * Usage is stored per UTC hour (the row's `hour` is the hour's start). A period's usage
 * window is [floorHour(start), floorHour(end)): every hour belongs to exactly one period —
 * the one in which the hour starts, after the boundaries are floored to the hour. A final
 * period cut short by a cancellation ends its window at ceilHour(cancelledAt), so the hour
 * in which the subscription was cancelled is billed in it.
 */
import { Decimal } from './money.js';

export type Interval = 'month' | 'year';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

export interface Period {
  /** Index from the anchor: 0 is the first period. */
  index: number;
  /** Inclusive start, ms. */
  start: number;
  /** Exclusive end, ms (earlier than nominalEnd when a cancellation cut the period short). */
  end: number;
  /** The anchor-based bounds of the whole period: the denominator of every proration. */
  nominalStart: number;
  nominalEnd: number;
  /** True when the subscription ended inside this period (it is the last one). */
  final: boolean;
}

function daysInMonth(year: number, month0: number): number {
  return new Date(Date.UTC(year, month0 + 1, 0)).getUTCDate();
}

/** The same instant `months` calendar months later, the day clamped to the month's length. */
export function addMonths(t: number, months: number): number {
  const d = new Date(t);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth() + months;
  const ty = y + Math.floor(m / 12);
  const tm = ((m % 12) + 12) % 12;
  const day = Math.min(d.getUTCDate(), daysInMonth(ty, tm));
  return Date.UTC(ty, tm, day, d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds());
}

/** Where periods begin: at the subscription's start, or on the calendar (the 1st, UTC). */
export type BillingTime = 'anniversary' | 'calendar';

/**
 * The anchor of periods that begin at `from`: `from` itself (anniversary), or the start of
 * the calendar month (year) containing it, 00:00 UTC on the 1st — so the first period runs
 * from `from` to the next 1st and is prorated against the whole calendar month (year).
 */
export function anchorFor(from: number, interval: Interval, time: BillingTime = 'anniversary'): number {
  if (time === 'anniversary') return from;
  const d = new Date(from);
  return Date.UTC(d.getUTCFullYear(), interval === 'year' ? 0 : d.getUTCMonth(), 1);
}

export function monthsPerInterval(interval: Interval): number {
  return interval === 'year' ? 12 : 1;
}

/** Period number `index` of a subscription anchored at `anchor`. */
export function periodAt(anchor: number, interval: Interval, index: number): Period {
  const k = monthsPerInterval(interval);
  const start = addMonths(anchor, index * k);
  const end = addMonths(anchor, (index + 1) * k);
  return { index, start, end, nominalStart: start, nominalEnd: end, final: false };
}

/** The period containing instant `t` (t ≥ anchor). */
export function periodContaining(anchor: number, interval: Interval, t: number): Period {
  if (t < anchor) throw new RangeError('instant before the anchor');
  const a = new Date(anchor);
  const b = new Date(t);
  const k = monthsPerInterval(interval);
  const months = (b.getUTCFullYear() - a.getUTCFullYear()) * 12 + (b.getUTCMonth() - a.getUTCMonth());
  let i = Math.max(0, Math.floor(months / k) - 1);
  // at most two steps: the estimate is off by one around clamped month ends
  while (periodAt(anchor, interval, i + 1).start <= t) i++;
  while (i > 0 && periodAt(anchor, interval, i).start > t) i--;
  return periodAt(anchor, interval, i);
}

/**
 * Periods that have ended by `until` (end ≤ until), from index `fromIndex` on. A
 * cancellation at `cancelledAt` truncates the period containing it (its end becomes
 * `cancelledAt`) and ends the sequence.
 */
export function endedPeriods(
  anchor: number,
  interval: Interval,
  until: number,
  options: { fromIndex?: number; cancelledAt?: number | null } = {},
): Period[] {
  const out: Period[] = [];
  let cursor = periodAt(anchor, interval, options.fromIndex ?? 0).start;
  for (;;) {
    const p = nextPeriod(anchor, interval, cursor, options.cancelledAt ?? null);
    if (!p || p.end > until) break;
    out.push(p);
    if (p.final) break;
    cursor = p.end;
  }
  return out;
}

/**
 * The period that starts at `cursor` (normally a period boundary; after a change of
 * interval it may fall inside a nominal period, which is then billed from `cursor`).
 * Null when the subscription was cancelled at or before `cursor`.
 */
export function nextPeriod(
  anchor: number,
  interval: Interval,
  cursor: number,
  cancelledAt: number | null,
): Period | null {
  if (cancelledAt !== null && cancelledAt <= cursor) return null;
  const p = periodContaining(anchor, interval, cursor);
  const final = cancelledAt !== null && cancelledAt <= p.end;
  return { ...p, start: cursor, end: final ? cancelledAt : p.end, final };
}

export function floorHour(t: number): number {
  return Math.floor(t / HOUR_MS) * HOUR_MS;
}

export function ceilHour(t: number): number {
  return Math.ceil(t / HOUR_MS) * HOUR_MS;
}

/** Whole seconds on the UTC timeline: the unit of proration. */
export function toSeconds(t: number): number {
  return Math.floor(t / 1000);
}

/** Seconds from `from` to `to` on the whole-second timeline (sums telescope exactly). */
export function secondsBetween(from: number, to: number): number {
  return toSeconds(to) - toSeconds(from);
}

/** The share of [periodStart, periodEnd) that [from, to) covers, by the second (40 digits). */
export function share(from: number, to: number, periodStart: number, periodEnd: number): Decimal {
  return prorate(new Decimal(1), from, to, periodStart, periodEnd);
}

/** `amount × seconds(from, to) / seconds(period)`, multiplying before dividing. */
export function prorate(
  amount: Decimal,
  from: number,
  to: number,
  periodStart: number,
  periodEnd: number,
): Decimal {
  const whole = secondsBetween(periodStart, periodEnd);
  if (whole <= 0) return new Decimal(0);
  return amount.times(secondsBetween(from, to)).div(whole);
}
