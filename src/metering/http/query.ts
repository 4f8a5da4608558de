/**
 * Query-string parsing for the usage admin routes: time bounds (an ISO 8601 instant with an
 * offset, or a calendar date `YYYY-MM-DD` read as local midnight in the query's time zone),
 * comma lists for `groupBy`, and the checks the report functions would otherwise word in
 * milliseconds. Every refusal names the query field.
 */
import { invalid } from '../../shared/errors.js';
import type { Granularity } from '../windows.js';
import { isTimeZone, localMidnight, parseDate } from '../windows.js';

const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/** Max span per granularity, days (the report functions enforce the same bounds). */
export const MAX_DAYS: Record<Granularity, number> = { hour: 400, day: 5 * 366, month: 20 * 366 };

export function parseTime(field: string, value: string, timeZone: string): number {
  const d = parseDate(value);
  if (d) return localMidnight(d.year, d.month, d.day, timeZone);
  const ms = INSTANT.test(value) ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(ms) || ms < 0) {
    throw invalid(
      field,
      'must be a date (2026-11-01) or an ISO 8601 time with offset (2026-11-01T00:00:00Z)',
    );
  }
  return ms;
}

export interface RangeInput {
  from?: string | undefined;
  to?: string | undefined;
  granularity?: string | undefined;
  timeZone?: string | undefined;
}

export interface Range {
  from: number;
  to: number;
  granularity: Granularity;
  timeZone: string;
}

/** from (required), to (default now), granularity (default day), timeZone (default UTC). */
export function parseRange(q: RangeInput, now: number): Range {
  const timeZone = q.timeZone ?? 'UTC';
  if (!isTimeZone(timeZone)) throw invalid('timeZone', 'must be an IANA time zone such as Europe/Paris');
  const granularity = (q.granularity ?? 'day') as Granularity;
  if (!(granularity in MAX_DAYS)) throw invalid('granularity', 'must be hour, day or month');
  if (q.from === undefined) throw invalid('from', 'is required');
  const from = parseTime('from', q.from, timeZone);
  const to = q.to === undefined ? now : parseTime('to', q.to, timeZone);
  if (to <= from) {
    throw q.to === undefined
      ? invalid('from', 'must be in the past (to defaults to now)')
      : invalid('to', 'must be after from');
  }
  if (to - from > MAX_DAYS[granularity] * 86_400_000) {
    throw invalid('to', `a ${granularity} report spans at most ${MAX_DAYS[granularity]} days after from`);
  }
  return { from, to, granularity, timeZone };
}

/** `a,b` → ['a','b'], each one of `allowed`, none twice. */
export function parseList<T extends string>(
  field: string,
  value: string | undefined,
  allowed: readonly T[],
): T[] {
  if (value === undefined || value === '') return [];
  const out = value.split(',').map((s) => s.trim());
  for (const g of out) {
    if (!allowed.includes(g as T))
      throw invalid(field, `unknown value ${JSON.stringify(g)}; use ${allowed.join(', ')}`);
  }
  if (new Set(out).size !== out.length) throw invalid(field, 'lists a value twice');
  return out as T[];
}
