import { describe, expect, it } from 'vitest';
import { quotaWindow } from '../../src/limits/index.js';
import { bucketStart, isTimeZone, localDate, nextBucket } from '../../src/metering/index.js';
import { defaultQuotaWindow } from '../../src/quota/index.js';

const Z = (s: string) => Date.parse(s);

describe('report buckets', () => {
  it('finds UTC hours, days and months', () => {
    const t = Z('2026-11-26T07:30:00Z');
    expect(bucketStart(t, 'hour')).toBe(Z('2026-11-26T07:00:00Z'));
    expect(bucketStart(t, 'day')).toBe(Z('2026-11-26T00:00:00Z'));
    expect(bucketStart(t, 'month')).toBe(Z('2026-11-01T00:00:00Z'));
    expect(nextBucket(Z('2026-12-01T00:00:00Z'), 'month')).toBe(Z('2027-01-01T00:00:00Z'));
    expect(nextBucket(Z('2026-12-31T00:00:00Z'), 'day')).toBe(Z('2027-01-01T00:00:00Z'));
  });

  it('follows a time zone across DST changes', () => {
    // New York: DST ends 2026-11-01 02:00 EDT, so that day is 25 hours long.
    const start = bucketStart(Z('2026-11-01T12:00:00Z'), 'day', 'America/New_York');
    expect(start).toBe(Z('2026-11-01T04:00:00Z'));
    expect(nextBucket(start, 'day', 'America/New_York')).toBe(Z('2026-11-02T05:00:00Z'));
    // DST starts 2026-03-08: a 23-hour day.
    const s = bucketStart(Z('2026-03-08T12:00:00Z'), 'day', 'America/New_York');
    expect(nextBucket(s, 'day', 'America/New_York') - s).toBe(23 * 3_600_000);
    expect(bucketStart(Z('2026-11-30T23:00:00Z'), 'month', 'Asia/Tokyo')).toBe(Z('2026-11-30T15:00:00Z'));
    expect(nextBucket(Z('2026-11-01T04:00:00Z'), 'month', 'America/New_York')).toBe(
      Z('2026-12-01T05:00:00Z'),
    );
    expect(localDate(Z('2026-11-26T02:00:00Z'), 'America/Los_Angeles')).toBe('2026-11-25');
    expect(isTimeZone('Europe/Paris')).toBe(true);
    expect(isTimeZone('Nowhere/Special')).toBe(false);
  });

  it('puts day buckets on the same boundaries as the gateway’s DAY and MONTH quota windows', () => {
    for (const tz of ['UTC', 'America/New_York', 'Europe/Paris', 'Australia/Lord_Howe', 'Asia/Kathmandu']) {
      for (
        let t = Z('2026-01-01T00:00:00Z');
        t < Z('2027-01-01T00:00:00Z');
        t += 13 * 3_600_000 + 7 * 60_000
      ) {
        expect(bucketStart(t, 'day', tz), `${tz} ${new Date(t).toISOString()}`).toBe(
          quotaWindow('DAY', tz, t).start,
        );
        expect(bucketStart(t, 'month', tz)).toBe(quotaWindow('MONTH', tz, t).start);
      }
    }
    expect(defaultQuotaWindow(Z('2026-11-26T07:30:00Z'), 'WEEK', 'UTC', 0)).toEqual({
      start: Z('2026-11-23T00:00:00Z'),
      end: Z('2026-11-30T00:00:00Z'),
    });
  });
});
