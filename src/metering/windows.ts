/**
 * Calendar arithmetic in UTC or an IANA time zone, without a date library: Intl gives the
 * wall-clock parts of an instant, and a local midnight is found by subtracting the zone's
 * offset twice (the second pass settles DST changes). Where a zone skips midnight (a few DST
 * rules do) the day starts at the first instant after the gap.
 *
 * These are report buckets only; quota windows come from src/limits (quota.ts), the rule the
 * gateway enforces.
 */

export type Granularity = 'hour' | 'day' | 'month';
export type { QuotaPeriod } from '../limits/index.js';

import { isValidTimeZone, startOfLocalDay } from '../limits/index.js';

export interface Window {
  start: number;
  end: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** One rule for what a time zone is: the one quotas use. */
export const isTimeZone = isValidTimeZone;

export interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

export function localParts(at: number, timeZone: string): LocalParts {
  if (timeZone === 'UTC') {
    const d = new Date(at);
    return {
      year: d.getUTCFullYear(),
      month: d.getUTCMonth() + 1,
      day: d.getUTCDate(),
      hour: d.getUTCHours(),
      minute: d.getUTCMinutes(),
      second: d.getUTCSeconds(),
    };
  }
  const p: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(new Date(at))) {
    if (part.type !== 'literal') p[part.type] = Number(part.value);
  }
  return {
    year: p.year!,
    month: p.month!,
    day: p.day!,
    hour: p.hour!,
    minute: p.minute!,
    second: p.second!,
  };
}

/**
 * The instant of local midnight starting `year-month-day` (month 1-12; overflow allowed), by
 * the same rule as quota windows, so report days and quota days always line up.
 */
export const localMidnight = startOfLocalDay;

/** Start of the bucket of `granularity` containing `at`. Hours are UTC hours. */
export function bucketStart(at: number, granularity: Granularity, timeZone = 'UTC'): number {
  if (granularity === 'hour') return at - (((at % 3_600_000) + 3_600_000) % 3_600_000);
  const p = localParts(at, timeZone);
  return granularity === 'day'
    ? localMidnight(p.year, p.month, p.day, timeZone)
    : localMidnight(p.year, p.month, 1, timeZone);
}

/** Start of the bucket after the one starting at `start`. */
export function nextBucket(start: number, granularity: Granularity, timeZone = 'UTC'): number {
  if (granularity === 'hour') return start + 3_600_000;
  // Noon of the bucket's first day is safely inside it whatever the DST rules.
  const p = localParts(start + 12 * 3_600_000, timeZone);
  return granularity === 'day'
    ? localMidnight(p.year, p.month, p.day + 1, timeZone)
    : localMidnight(p.year, p.month + 1, 1, timeZone);
}

/** `YYYY-MM-DD` of `at` in `timeZone`. */
export function localDate(at: number, timeZone = 'UTC'): string {
  const p = localParts(at, timeZone);
  return `${String(p.year).padStart(4, '0')}-${String(p.month).padStart(2, '0')}-${String(p.day).padStart(2, '0')}`;
}

/** Parses `YYYY-MM-DD` (a real calendar date) or returns null. */
export function parseDate(s: string): { year: number; month: number; day: number } | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return null;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const d = new Date(Date.UTC(year, month - 1, day));
  if (d.getUTCFullYear() !== year || d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day) return null;
  return { year, month, day };
}
