import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canSpend,
  MAX_RETRY_MS,
  msUntilFull,
  retryAfterMs,
  tokensAt,
  wholeTokens,
} from '../../src/limits/index.js';

describe('token bucket arithmetic', () => {
  it('refills at rate tokens per second up to burst', () => {
    expect(tokensAt(0, 1000, 2, 4, 1000)).toBe(0);
    expect(tokensAt(0, 1000, 2, 4, 1500)).toBe(1);
    expect(tokensAt(0, 1000, 2, 4, 2250)).toBe(2.5);
    expect(tokensAt(0, 1000, 2, 4, 60_000)).toBe(4);
  });

  it('never refills when time runs backwards, and clamps to a lowered burst', () => {
    expect(tokensAt(1.5, 5000, 10, 4, 4000)).toBe(1.5);
    expect(tokensAt(8, 5000, 10, 4, 5000)).toBe(4);
  });

  it('reproduces API Gateway’s worked example: 10,000 rps / 5,000 burst', () => {
    // 5,000 at t=0 drain the bucket; 100 ms later it holds 1,000 tokens: 1,000 of the next 5,000 pass
    let tokens = 5000 - 5000;
    tokens = tokensAt(tokens, 0, 10_000, 5000, 101);
    expect(Math.floor(tokens)).toBe(1010);
  });

  it('says how long until one token, exactly enough to be admitted after waiting', () => {
    expect(retryAfterMs(1, 5, 5)).toBe(0);
    expect(retryAfterMs(0, 5, 5)).toBe(200);
    expect(retryAfterMs(0.5, 0.5, 1)).toBe(1000);
    expect(retryAfterMs(0, 3, 1)).toBe(334);
    expect(canSpend(tokensAt(0, 0, 3, 1, 333))).toBe(false);
    expect(canSpend(tokensAt(0, 0, 3, 1, 334))).toBe(true);
    for (const rate of [0.1, 0.3, 0.7, 1, 3, 7, 13, 333.3, 1e4]) {
      for (const start of [0, 0.1, 0.6, 0.9999, -0.4]) {
        const ra = retryAfterMs(start, rate, 10);
        expect(canSpend(tokensAt(start, 0, rate, 10, ra))).toBe(true);
        if (ra > 1) expect(canSpend(tokensAt(start, 0, rate, 10, ra - 1))).toBe(false);
      }
    }
  });

  it('the hint is the least whole number of ms that admits (property)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.01, max: 1e5, noNaN: true }),
        fc.double({ min: -1, max: 0.999, noNaN: true }),
        (rate, start) => {
          const ra = retryAfterMs(start, rate, 1e9);
          expect(canSpend(tokensAt(start, 0, rate, 1e9, ra))).toBe(true);
          if (ra >= 1) expect(canSpend(tokensAt(start, 0, rate, 1e9, ra - 1))).toBe(false);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('caps the hint when the bucket can never refill', () => {
    expect(retryAfterMs(0, 0, 5)).toBe(MAX_RETRY_MS);
    expect(retryAfterMs(0, 10, 0)).toBe(MAX_RETRY_MS);
    expect(retryAfterMs(0, 1e-9, 5)).toBe(MAX_RETRY_MS);
  });

  it('knows when a bucket is full again, and reports whole tokens', () => {
    expect(msUntilFull(4, 2, 4)).toBe(0);
    expect(msUntilFull(0, 2, 4)).toBe(2000);
    expect(msUntilFull(0, 0, 4)).toBe(MAX_RETRY_MS); // never refills: forgotten a day after its last spend, as on Redis
    expect(wholeTokens(2.7)).toBe(2);
    expect(wholeTokens(-0.3)).toBe(0);
    expect(wholeTokens(0.9999999999999)).toBe(1);
  });
});
