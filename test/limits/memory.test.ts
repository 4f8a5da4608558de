/** What only the in-process backend promises: synchronous answers and bounded memory. */
import { describe, expect, it } from 'vitest';
import { MemoryLimits, QUOTA_GRACE_MS, quotaWindow } from '../../src/limits/index.js';

const T0 = Date.UTC(2026, 2, 10, 12);

describe('MemoryLimits', () => {
  it('answers synchronously', () => {
    const m = new MemoryLimits();
    const d = m.admit({ throttles: [{ key: 'c', rate: 1, burst: 1 }] }, T0);
    expect(d).toEqual({ ok: true, throttleRemaining: 0 });
    expect(m.quotaUsed('q', 0)).toBe(0);
  });

  it('forgets a bucket once it has refilled, and a counter an hour after its window', () => {
    const m = new MemoryLimits();
    const w = quotaWindow('DAY', 'UTC', T0);
    m.admit(
      {
        throttles: [{ key: 'c', rate: 1, burst: 10 }],
        quota: { key: 'q', limit: 5, windowStart: w.start, windowEnd: w.end, mode: 'block' },
      },
      T0,
    );
    expect(m.size).toBe(2);
    m.sweep(T0 + 999);
    expect(m.size).toBe(2); // 9 of 10 tokens: not full yet
    m.sweep(T0 + 1000);
    expect(m.size).toBe(1); // full again: forgetting it changes nothing
    m.sweep(w.end + QUOTA_GRACE_MS - 1);
    expect(m.quotaUsed('q', w.start)).toBe(1);
    m.sweep(w.end + QUOTA_GRACE_MS);
    expect(m.size).toBe(0);
  });

  it('sweeps as caller time passes, without timers', () => {
    const m = new MemoryLimits();
    for (let i = 0; i < 100; i++) m.admit({ throttles: [{ key: `c${i}`, rate: 10, burst: 2 }] }, T0);
    expect(m.size).toBe(100);
    m.admit({ throttles: [] }, T0 + 120_000);
    expect(m.size).toBe(0);
  });

  it('holds at most maxEntries, evicting buckets before quota counters', () => {
    const m = new MemoryLimits({ maxEntries: 100 });
    const w = quotaWindow('MONTH', 'UTC', T0);
    for (let i = 0; i < 20; i++)
      m.admit(
        {
          throttles: [],
          quota: { key: `q${i}`, limit: 9, windowStart: w.start, windowEnd: w.end, mode: 'block' },
        },
        T0,
      );
    for (let i = 0; i < 1000; i++) {
      m.admit({ throttles: [{ key: `c${i}`, rate: 0.001, burst: 5 }] }, T0 + i);
      expect(m.size).toBeLessThanOrEqual(101);
    }
    for (let i = 0; i < 20; i++) expect(m.quotaUsed(`q${i}`, w.start)).toBe(1);
    // an evicted bucket reads as full: overshoot, never a false refusal
    expect(m.admit({ throttles: [{ key: 'c0', rate: 0.001, burst: 5 }] }, T0 + 2000)).toEqual({
      ok: true,
      throttleRemaining: 4,
    });
  });
});
