/**
 * Calendar quota windows, pure (no I/O). A window is [start, end) in epoch ms.
 *
 * - DAY: local 00:00 to the next local 00:00 — 23 h or 25 h on DST change days.
 * - WEEK: ISO 8601 — Monday 00:00 local to the next Monday 00:00 local.
 * - MONTH: the 1st 00:00 local to the next 1st 00:00 local (28–31 days, leap Februaries included).
 * "Local" is an IANA time zone read through Intl.DateTimeFormat (UTC when the plan names none).
 * Where local midnight does not exist (a DST gap over midnight, e.g. America/Santiago), the day
 * starts at the first instant that carries its date.
 *
 * Offset (API Gateway, AWS::ApiGateway::UsagePlan QuotaSettings): "the number of requests
 * subtracted from the given limit in the initial time period" — applied only to the window
 * that contains the subscription's start.
 *
 * Cost: the gateway calls quotaWindow on every request, so the last window per (period, zone)
 * is cached and returned (frozen) while `now` stays inside it; Intl runs only at boundaries.
 */
import { invalid } from '../shared/errors.js';
import type { QuotaPeriod } from './types.js';

export interface QuotaWindow {
  readonly start: number;
  readonly end: number;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const UTC_NAMES = new Set(['UTC', 'Etc/UTC', 'Etc/UCT', 'Etc/GMT', 'GMT', 'Etc/Zulu', 'Zulu', 'UCT']);

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    try {
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
    } catch {
      throw invalid('timeZone', `"${timeZone}" is not an IANA time zone (e.g. UTC, Europe/Berlin)`);
    }
    formatters.set(timeZone, f);
  }
  return f;
}

/** True when `timeZone` names a zone this runtime knows (for validating plans). */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

interface LocalTime {
  y: number;
  m: number; // 1..12
  d: number;
  /** The local wall time read as if it were UTC, in ms (whole seconds). */
  wall: number;
}

function localTime(t: number, timeZone: string): LocalTime {
  if (UTC_NAMES.has(timeZone)) {
    const dt = new Date(t);
    return {
      y: dt.getUTCFullYear(),
      m: dt.getUTCMonth() + 1,
      d: dt.getUTCDate(),
      wall: t - (((t % 1000) + 1000) % 1000),
    };
  }
  let y = 0;
  let m = 0;
  let d = 0;
  let h = 0;
  let mi = 0;
  let s = 0;
  for (const p of formatter(timeZone).formatToParts(t)) {
    if (p.type === 'year') y = Number(p.value);
    else if (p.type === 'month') m = Number(p.value);
    else if (p.type === 'day') d = Number(p.value);
    else if (p.type === 'hour') h = Number(p.value);
    else if (p.type === 'minute') mi = Number(p.value);
    else if (p.type === 'second') s = Number(p.value);
  }
  return { y, m, d, wall: Date.UTC(y, m - 1, d, h, mi, s) };
}

/** The zone's UTC offset (ms) at instant t. */
function offsetAt(t: number, timeZone: string): number {
  return localTime(t, timeZone).wall - (t - (((t % 1000) + 1000) % 1000));
}

/** First instant whose local date is y-m-d (m may overflow: Date.UTC normalises it). */
export function startOfLocalDay(y: number, m: number, d: number, timeZone: string): number {
  const guess = Date.UTC(y, m - 1, d); // local midnight read as UTC
  if (UTC_NAMES.has(timeZone)) return guess;
  const norm = new Date(guess);
  const want = norm.getUTCFullYear() * 10_000 + (norm.getUTCMonth() + 1) * 100 + norm.getUTCDate();
  // The true instant lies within [guess − 14 h, guess + 12 h]; gather the offsets in force around it.
  const offsets = new Set<number>();
  for (const probe of [-15, -8, -1, 0, 1, 8, 15]) offsets.add(offsetAt(guess + probe * HOUR, timeZone));
  let best = Number.POSITIVE_INFINITY;
  for (const off of offsets) {
    const c = guess - off;
    const lt = localTime(c, timeZone);
    if (lt.y * 10_000 + lt.m * 100 + lt.d === want && c < best) best = c;
  }
  if (best === Number.POSITIVE_INFINITY) {
    // No candidate lands on the date (a gap that is not whole-offset shaped): step forward by
    // minutes from the earliest candidate until the date appears.
    let c = guess - Math.max(...offsets);
    for (let i = 0; i < 48 * 60; i++, c += 60_000) {
      const lt = localTime(c, timeZone);
      if (lt.y * 10_000 + lt.m * 100 + lt.d >= want) return c;
    }
  }
  return best;
}

function computeWindow(period: QuotaPeriod, timeZone: string, nowMs: number): QuotaWindow {
  const { y, m, d } = localTime(nowMs, timeZone);
  switch (period) {
    case 'DAY':
      return { start: startOfLocalDay(y, m, d, timeZone), end: startOfLocalDay(y, m, d + 1, timeZone) };
    case 'WEEK': {
      const sinceMonday = (new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7;
      return {
        start: startOfLocalDay(y, m, d - sinceMonday, timeZone),
        end: startOfLocalDay(y, m, d - sinceMonday + 7, timeZone),
      };
    }
    case 'MONTH':
      return { start: startOfLocalDay(y, m, 1, timeZone), end: startOfLocalDay(y, m + 1, 1, timeZone) };
    default:
      throw invalid('period', `"${String(period)}" is not one of DAY, WEEK, MONTH`);
  }
}

const cache: Record<QuotaPeriod, Map<string, QuotaWindow>> = {
  DAY: new Map(),
  WEEK: new Map(),
  MONTH: new Map(),
};

/** The calendar window of `period` in `timeZone` that contains `nowMs`. Throws a 400 for a bad zone/period. */
export function quotaWindow(period: QuotaPeriod, timeZone: string, nowMs: number): QuotaWindow {
  const byZone = cache[period] as Map<string, QuotaWindow> | undefined;
  const hit = byZone?.get(timeZone);
  if (hit !== undefined && nowMs >= hit.start && nowMs < hit.end) return hit;
  const w = Object.freeze(computeWindow(period, timeZone, nowMs));
  if (!(nowMs >= w.start && nowMs < w.end) || w.end - w.start < 22 * HOUR || w.end - w.start > 32 * DAY) {
    throw new Error(`quotaWindow: inconsistent window for ${period} ${timeZone} at ${nowMs}`);
  }
  if (byZone) {
    if (byZone.size > 1000) byZone.clear();
    byZone.set(timeZone, w);
  }
  return w;
}

/**
 * The limit that applies in one window: `limit − offset` (floored at 0) in the window that
 * contains `subscriptionStart` (the "initial time period"), `limit` in every other window, plus
 * `adjustments` (the sum of grants and reductions for this window); never below 0.
 */
export function effectiveQuotaLimit(args: {
  limit: number;
  offset: number;
  windowStart: number;
  subscriptionStart: number;
  windowEnd: number;
  adjustments: number;
}): number {
  const { limit, offset, windowStart, subscriptionStart, windowEnd, adjustments } = args;
  const initial = subscriptionStart >= windowStart && subscriptionStart < windowEnd;
  const base = initial ? Math.max(0, limit - offset) : limit;
  return Math.max(0, base + adjustments);
}
