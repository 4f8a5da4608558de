import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  effectiveQuotaLimit,
  isValidTimeZone,
  type QuotaPeriod,
  quotaWindow,
} from '../../src/limits/index.js';
import { TollgateError } from '../../src/shared/errors.js';

const at = (iso: string) => Date.parse(iso);
const H = 3_600_000;

function win(period: QuotaPeriod, tz: string, now: string) {
  const w = quotaWindow(period, tz, at(now));
  return {
    start: new Date(w.start).toISOString(),
    end: new Date(w.end).toISOString(),
    hours: (w.end - w.start) / H,
  };
}

describe('quota windows in UTC', () => {
  it('DAY runs midnight to midnight', () => {
    expect(win('DAY', 'UTC', '2026-03-15T13:00:00Z')).toEqual({
      start: '2026-03-15T00:00:00.000Z',
      end: '2026-03-16T00:00:00.000Z',
      hours: 24,
    });
    expect(win('DAY', 'UTC', '2026-03-15T23:59:59.999Z').end).toBe('2026-03-16T00:00:00.000Z');
    expect(win('DAY', 'UTC', '2026-03-16T00:00:00.000Z').start).toBe('2026-03-16T00:00:00.000Z');
  });

  it('WEEK starts Monday 00:00 (ISO 8601), also when now is a Sunday night or a Monday at 00:00', () => {
    expect(win('WEEK', 'UTC', '2026-03-15T23:59:59.999Z')).toEqual({
      start: '2026-03-09T00:00:00.000Z',
      end: '2026-03-16T00:00:00.000Z',
      hours: 168,
    });
    expect(win('WEEK', 'UTC', '2026-03-16T00:00:00Z').start).toBe('2026-03-16T00:00:00.000Z');
    // a week spanning a year end
    expect(win('WEEK', 'UTC', '2027-01-01T10:00:00Z')).toMatchObject({
      start: '2026-12-28T00:00:00.000Z',
      end: '2027-01-04T00:00:00.000Z',
    });
  });

  it('MONTH runs from the 1st to the next 1st: Jan 31 → Feb, 28 and 29-day Februaries, December → January', () => {
    expect(win('MONTH', 'UTC', '2026-01-31T23:59:59.999Z')).toEqual({
      start: '2026-01-01T00:00:00.000Z',
      end: '2026-02-01T00:00:00.000Z',
      hours: 31 * 24,
    });
    expect(win('MONTH', 'UTC', '2026-02-01T00:00:00Z')).toEqual({
      start: '2026-02-01T00:00:00.000Z',
      end: '2026-03-01T00:00:00.000Z',
      hours: 28 * 24,
    });
    expect(win('MONTH', 'UTC', '2028-02-29T12:00:00Z')).toEqual({
      start: '2028-02-01T00:00:00.000Z',
      end: '2028-03-01T00:00:00.000Z',
      hours: 29 * 24,
    });
    expect(win('DAY', 'UTC', '2028-02-29T12:00:00Z')).toMatchObject({
      start: '2028-02-29T00:00:00.000Z',
      end: '2028-03-01T00:00:00.000Z',
    });
    expect(win('MONTH', 'UTC', '2026-12-31T23:00:00Z').end).toBe('2027-01-01T00:00:00.000Z');
  });
});

describe('quota windows in IANA time zones', () => {
  it('Europe/Berlin: the spring-forward day has 23 h, the fall-back day 25 h', () => {
    expect(win('DAY', 'Europe/Berlin', '2026-03-29T12:00:00Z')).toEqual({
      start: '2026-03-28T23:00:00.000Z',
      end: '2026-03-29T22:00:00.000Z',
      hours: 23,
    });
    expect(win('DAY', 'Europe/Berlin', '2026-10-25T12:00:00Z')).toEqual({
      start: '2026-10-24T22:00:00.000Z',
      end: '2026-10-25T23:00:00.000Z',
      hours: 25,
    });
    // the 25-hour day still covers its repeated hour
    expect(win('DAY', 'Europe/Berlin', '2026-10-25T00:30:00Z').start).toBe('2026-10-24T22:00:00.000Z');
    expect(win('DAY', 'Europe/Berlin', '2026-10-25T01:30:00Z').start).toBe('2026-10-24T22:00:00.000Z');
  });

  it('Europe/Berlin: a week and a month across the DST change start at local midnight', () => {
    expect(win('WEEK', 'Europe/Berlin', '2026-03-29T12:00:00Z')).toEqual({
      start: '2026-03-22T23:00:00.000Z',
      end: '2026-03-29T22:00:00.000Z',
      hours: 167,
    });
    expect(win('MONTH', 'Europe/Berlin', '2026-03-10T00:00:00Z')).toEqual({
      start: '2026-02-28T23:00:00.000Z',
      end: '2026-03-31T22:00:00.000Z',
      hours: 31 * 24 - 1,
    });
    // 23:30 UTC on Feb 28 is already March 1 in Berlin
    expect(win('MONTH', 'Europe/Berlin', '2026-02-28T23:30:00Z').start).toBe('2026-02-28T23:00:00.000Z');
  });

  it('America/New_York: DST days and a local month that ends after UTC has moved on', () => {
    expect(win('DAY', 'America/New_York', '2026-03-08T12:00:00Z')).toEqual({
      start: '2026-03-08T05:00:00.000Z',
      end: '2026-03-09T04:00:00.000Z',
      hours: 23,
    });
    expect(win('DAY', 'America/New_York', '2026-11-01T12:00:00Z')).toEqual({
      start: '2026-11-01T04:00:00.000Z',
      end: '2026-11-02T05:00:00.000Z',
      hours: 25,
    });
    // 04:30 UTC Feb 1 = 23:30 Jan 31 in New York: still January there
    expect(win('MONTH', 'America/New_York', '2026-02-01T04:30:00Z')).toEqual({
      start: '2026-01-01T05:00:00.000Z',
      end: '2026-02-01T05:00:00.000Z',
      hours: 31 * 24,
    });
    // 23:30 Sunday local (04:30 UTC Monday) is still the old week
    expect(win('WEEK', 'America/New_York', '2026-03-16T03:30:00Z')).toMatchObject({
      start: '2026-03-09T04:00:00.000Z',
      end: '2026-03-16T04:00:00.000Z',
    });
  });

  it('Asia/Kolkata (+05:30): days and months start at half past UTC hours', () => {
    expect(win('DAY', 'Asia/Kolkata', '2026-06-10T20:00:00Z')).toEqual({
      start: '2026-06-10T18:30:00.000Z',
      end: '2026-06-11T18:30:00.000Z',
      hours: 24,
    });
    expect(win('MONTH', 'Asia/Kolkata', '2026-01-31T18:29:59.999Z').end).toBe('2026-01-31T18:30:00.000Z');
    expect(win('MONTH', 'Asia/Kolkata', '2026-01-31T18:30:00Z')).toMatchObject({
      start: '2026-01-31T18:30:00.000Z',
      end: '2026-02-28T18:30:00.000Z',
      hours: 28 * 24,
    });
  });

  it('America/Santiago: a day whose midnight does not exist starts at 01:00 local', () => {
    // Chile springs forward from 00:00 to 01:00 on 2026-09-06
    expect(win('DAY', 'America/Santiago', '2026-09-06T12:00:00Z')).toEqual({
      start: '2026-09-06T04:00:00.000Z',
      end: '2026-09-07T03:00:00.000Z',
      hours: 23,
    });
    expect(win('DAY', 'America/Santiago', '2026-09-05T12:00:00Z').hours).toBe(24);
    // and falls back from 00:00 to 23:00 on the night of 2026-04-04/05: Saturday has 25 h
    expect(win('DAY', 'America/Santiago', '2026-04-04T12:00:00Z').hours).toBe(25);
  });

  it('windows tile time: each contains now, the next starts where it ends, local midnight starts each', () => {
    const zones = [
      'UTC',
      'Europe/Berlin',
      'America/New_York',
      'Asia/Kolkata',
      'Australia/Lord_Howe',
      'Pacific/Chatham',
      'America/Santiago',
    ];
    fc.assert(
      fc.property(
        fc.constantFrom<QuotaPeriod>('DAY', 'WEEK', 'MONTH'),
        fc.constantFrom(...zones),
        fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2035, 0, 1) }),
        (period, tz, now) => {
          const w = quotaWindow(period, tz, now);
          expect(now).toBeGreaterThanOrEqual(w.start);
          expect(now).toBeLessThan(w.end);
          const next = quotaWindow(period, tz, w.end);
          expect(next.start).toBe(w.end);
          expect(quotaWindow(period, tz, w.start - 1).end).toBe(w.start);
          const local = new Intl.DateTimeFormat('en-GB', {
            timeZone: tz,
            hourCycle: 'h23',
            weekday: 'short',
            day: 'numeric',
            hour: '2-digit',
            minute: '2-digit',
          }).formatToParts(w.start);
          const part = (t: string) => local.find((p) => p.type === t)?.value;
          // where midnight is skipped (Santiago's spring-forward) the day starts at 01:00
          expect(['00:00', tz === 'America/Santiago' ? '01:00' : '00:00']).toContain(
            `${part('hour')}:${part('minute')}`,
          );
          if (period === 'WEEK') expect(part('weekday')).toBe('Mon');
          if (period === 'MONTH') expect(part('day')).toBe('1');
        },
      ),
      { numRuns: 400 },
    );
  });

  it('refuses an unknown time zone with a 400 naming the field', () => {
    expect(isValidTimeZone('Europe/Berlin')).toBe(true);
    expect(isValidTimeZone('Mars/Olympus_Mons')).toBe(false);
    let err: unknown;
    try {
      quotaWindow('DAY', 'Mars/Olympus_Mons', Date.now());
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TollgateError);
    expect((err as TollgateError).status).toBe(400);
    expect((err as TollgateError).issues[0]?.field).toBe('timeZone');
    expect(() => quotaWindow('YEAR' as QuotaPeriod, 'UTC', Date.now())).toThrow(/period/);
  });
});

describe('effective quota limit (offset and adjustments)', () => {
  const month = quotaWindow('MONTH', 'UTC', at('2026-03-10T00:00:00Z'));
  const base = { limit: 1000, offset: 300, windowStart: month.start, windowEnd: month.end, adjustments: 0 };

  it('subtracts the offset only in the window that contains the subscription start', () => {
    expect(effectiveQuotaLimit({ ...base, subscriptionStart: at('2026-03-09T08:00:00Z') })).toBe(700);
    expect(effectiveQuotaLimit({ ...base, subscriptionStart: month.start })).toBe(700);
    expect(effectiveQuotaLimit({ ...base, subscriptionStart: month.end })).toBe(1000);
    expect(effectiveQuotaLimit({ ...base, subscriptionStart: at('2026-02-09T08:00:00Z') })).toBe(1000);
    const april = quotaWindow('MONTH', 'UTC', month.end);
    expect(
      effectiveQuotaLimit({
        ...base,
        windowStart: april.start,
        windowEnd: april.end,
        subscriptionStart: at('2026-03-09T08:00:00Z'),
      }),
    ).toBe(1000);
  });

  it('floors limit − offset at 0, then adds the window adjustments, never below 0', () => {
    const first = { ...base, subscriptionStart: at('2026-03-09T08:00:00Z') };
    expect(effectiveQuotaLimit({ ...first, offset: 5000 })).toBe(0);
    expect(effectiveQuotaLimit({ ...first, offset: 5000, adjustments: 50 })).toBe(50);
    expect(effectiveQuotaLimit({ ...first, adjustments: 50 })).toBe(750);
    expect(effectiveQuotaLimit({ ...first, adjustments: -200 })).toBe(500);
    expect(effectiveQuotaLimit({ ...first, adjustments: -5000 })).toBe(0);
  });
});
