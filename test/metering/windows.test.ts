import { describe, expect, it } from 'vitest';
import { bucketStart, isTimeZone, localDate, nextBucket, quotaWindow } from '../../src/metering/index.js';

const Z = (s: string) => Date.parse(s);

describe('calendar windows', () => {
  it('finds days, ISO weeks and months in UTC', () => {
    const t = Z('2026-11-26T07:30:00Z'); // a Thursday
    expect(quotaWindow(t, 'DAY')).toEqual({
      start: Z('2026-11-26T00:00:00Z'),
      end: Z('2026-11-27T00:00:00Z'),
    });
    expect(quotaWindow(t, 'WEEK')).toEqual({
      start: Z('2026-11-23T00:00:00Z'),
      end: Z('2026-11-30T00:00:00Z'),
    });
    expect(quotaWindow(Z('2026-11-23T00:00:00Z'), 'WEEK').start).toBe(Z('2026-11-23T00:00:00Z'));
    expect(quotaWindow(Z('2026-11-29T23:59:59Z'), 'WEEK').start).toBe(Z('2026-11-23T00:00:00Z'));
    expect(quotaWindow(t, 'MONTH')).toEqual({
      start: Z('2026-11-01T00:00:00Z'),
      end: Z('2026-12-01T00:00:00Z'),
    });
    expect(quotaWindow(Z('2026-12-31T23:00:00Z'), 'MONTH').end).toBe(Z('2027-01-01T00:00:00Z'));
  });

  it('follows a time zone across DST changes', () => {
    // New York: DST ends 2026-11-01 02:00 EDT; the day is 25 hours long.
    const w = quotaWindow(Z('2026-11-01T12:00:00Z'), 'DAY', 'America/New_York');
    expect(w).toEqual({ start: Z('2026-11-01T04:00:00Z'), end: Z('2026-11-02T05:00:00Z') });
    // DST starts 2026-03-08: a 23-hour day.
    const s = quotaWindow(Z('2026-03-08T12:00:00Z'), 'DAY', 'America/New_York');
    expect(s.end - s.start).toBe(23 * 3_600_000);
    expect(bucketStart(Z('2026-11-30T23:00:00Z'), 'month', 'Asia/Tokyo')).toBe(Z('2026-11-30T15:00:00Z'));
    expect(nextBucket(Z('2026-11-01T04:00:00Z'), 'month', 'America/New_York')).toBe(
      Z('2026-12-01T05:00:00Z'),
    );
    expect(nextBucket(Z('2026-11-01T04:00:00Z'), 'day', 'America/New_York')).toBe(Z('2026-11-02T05:00:00Z'));
    expect(localDate(Z('2026-11-26T02:00:00Z'), 'America/Los_Angeles')).toBe('2026-11-25');
    expect(isTimeZone('Europe/Paris')).toBe(true);
    expect(isTimeZone('Nowhere/Special')).toBe(false);
  });
});
