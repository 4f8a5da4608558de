import { describe, expect, it } from 'vitest';
import {
  fromValue,
  generateKey,
  hashKey,
  importProblem,
  KEY_PREFIX,
  safeEqual,
} from '../../src/keys/index.js';

describe('api keys', () => {
  it('generates distinct high-entropy keys with a visible prefix and a sha-256 hash', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const k = generateKey();
      expect(k.value).toMatch(/^tg_[0-9A-Za-z]{40}$/);
      expect(k.hash).toBe(hashKey(k.value));
      expect(k.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(k.value.startsWith(k.prefix)).toBe(true);
      expect(k.prefix.startsWith(KEY_PREFIX)).toBe(true);
      seen.add(k.value);
    }
    expect(seen.size).toBe(1000);
  });

  it('uses every base62 symbol roughly uniformly', () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 2000; i++)
      for (const c of generateKey().value.slice(3)) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect(counts.size).toBe(62);
    const mean = (2000 * 40) / 62;
    for (const n of counts.values()) expect(Math.abs(n - mean) / mean).toBeLessThan(0.2);
  });

  it('validates imported values like API Gateway (20–128 chars)', () => {
    expect(importProblem('a'.repeat(19))).toMatch(/20–128/);
    expect(importProblem('a'.repeat(20))).toBeNull();
    expect(importProblem('a'.repeat(128))).toBeNull();
    expect(importProblem('a'.repeat(129))).toMatch(/20–128/);
    expect(importProblem('has a space in it 12345')).toMatch(/printable/);
    expect(importProblem(42)).toMatch(/string/);
    expect(fromValue('imported-key-value-0123456789').hash).toBe(hashKey('imported-key-value-0123456789'));
  });

  it('compares in constant time and never equates different lengths', () => {
    expect(safeEqual('abc', 'abc')).toBe(true);
    expect(safeEqual('abc', 'abd')).toBe(false);
    expect(safeEqual('abc', 'abcd')).toBe(false);
  });
});
