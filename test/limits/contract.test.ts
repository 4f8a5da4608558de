/**
 * One contract, every backend: the same cases run on MemoryLimits, on RedisLimits (the
 * machine's Redis, a unique key prefix, time injected through `nowMs`) and on LeasedLimits
 * (fixed and adaptive lease sizes, see backends.ts). On a single node leasing changes no
 * answer here; what it changes across nodes is in leased.test.ts and docs/limits.md.
 */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type AdmitRequest,
  type Decision,
  MAX_RETRY_MS,
  type QuotaRule,
  quotaWindow,
  type ThrottleRule,
} from '../../src/limits/index.js';
import { limitsBackends, type SeedableLimits } from './backends.js';

const T0 = Date.UTC(2026, 2, 10, 12, 0, 0); // Tue 2026-03-10 12:00 UTC
const DAY = quotaWindow('DAY', 'UTC', T0);

const bucket = (key: string, rate: number, burst: number): ThrottleRule => ({ key, rate, burst });
const quota = (limit: number, mode: QuotaRule['mode'] = 'block', w = DAY, key = 'q:sub'): QuotaRule => ({
  key,
  limit,
  windowStart: w.start,
  windowEnd: w.end,
  mode,
});

for (const kind of await limitsBackends()) {
  describe(`limits contract: ${kind.name}`, () => {
    let b: SeedableLimits;
    const admit = async (req: AdmitRequest, now = T0): Promise<Decision> => await b.admit(req, now);
    const oks = async (req: AdmitRequest, n: number, now = T0) => {
      const out: boolean[] = [];
      for (let i = 0; i < n; i++) out.push((await admit(req, now)).ok);
      return out;
    };

    beforeEach(() => {
      b = kind.make();
    });
    afterAll(() => kind.done());

    it('admits a burst at once, then refills at the rate (injected time)', async () => {
      const req = { throttles: [bucket('c:1', 2, 4)] };
      const first = [];
      for (let i = 0; i < 5; i++) first.push(await admit(req));
      expect(first.map((d) => (d.ok ? d.throttleRemaining : d.code))).toEqual([3, 2, 1, 0, 'THROTTLED']);
      expect(first[4]).toEqual({ ok: false, code: 'THROTTLED', retryAfterMs: 500 });
      expect(await admit(req, T0 + 499)).toEqual({ ok: false, code: 'THROTTLED', retryAfterMs: 1 });
      expect(await oks(req, 2, T0 + 500)).toEqual([true, false]);
      expect(await oks(req, 3, T0 + 1500)).toEqual([true, true, false]);
      // a long pause fills the bucket to burst, never beyond
      expect(await oks(req, 5, T0 + 3_600_000)).toEqual([true, true, true, true, false]);
    });

    it('tells how long to wait: exactly long enough, for slow, fractional and never-refilling buckets', async () => {
      expect(await oks({ throttles: [bucket('slow', 0.5, 1)] }, 1)).toEqual([true]);
      expect(await admit({ throttles: [bucket('slow', 0.5, 1)] })).toMatchObject({ retryAfterMs: 2000 });
      expect(await admit({ throttles: [bucket('slow', 0.5, 1)] }, T0 + 1500)).toMatchObject({
        retryAfterMs: 500,
      });
      await admit({ throttles: [bucket('third', 3, 1)] });
      expect(await admit({ throttles: [bucket('third', 3, 1)] })).toMatchObject({ retryAfterMs: 334 });
      expect((await admit({ throttles: [bucket('third', 3, 1)] }, T0 + 333)).ok).toBe(false);
      expect((await admit({ throttles: [bucket('third', 3, 1)] }, T0 + 334)).ok).toBe(true);
      await admit({ throttles: [bucket('stuck', 0, 1)] });
      expect(await admit({ throttles: [bucket('stuck', 0, 1)] })).toMatchObject({
        retryAfterMs: MAX_RETRY_MS,
      });
      expect(await admit({ throttles: [bucket('closed', 5, 0)] })).toMatchObject({
        code: 'THROTTLED',
        retryAfterMs: MAX_RETRY_MS,
      });
    });

    it('takes limits of 0 as API Gateway does: burst 0 or quota 0 admit nothing, rate 0 never refills', async () => {
      // burst 0: the bucket can never hold a token; the quota beside it is not spent
      const closed = { throttles: [bucket('zero', 0, 0)], quota: quota(5) };
      expect(await admit(closed)).toEqual({
        ok: false,
        code: 'THROTTLED',
        retryAfterMs: MAX_RETRY_MS,
        quotaUsed: 0,
        quotaRemaining: 5,
      });
      expect((await admit(closed, T0 + 3_600_000)).ok).toBe(false);
      expect(await b.quotaUsed('q:sub', DAY.start)).toBe(0);
      // rate 0: the burst is all there is, an hour later too
      const once = { throttles: [bucket('norefill', 0, 2)] };
      expect(await oks(once, 3)).toEqual([true, true, false]);
      expect(await admit(once, T0 + 3_600_000)).toEqual({
        ok: false,
        code: 'THROTTLED',
        retryAfterMs: MAX_RETRY_MS,
      });
      // quota 0: refused until the window ends
      expect(await admit({ throttles: [], quota: quota(0, 'block', DAY, 'q:none') })).toEqual({
        ok: false,
        code: 'QUOTA_EXCEEDED',
        retryAfterMs: DAY.end - T0,
        quotaUsed: 0,
        quotaRemaining: 0,
      });
    });

    it('with several throttles, waits for the slowest and reports the smallest remainder', async () => {
      const req = { throttles: [bucket('sub', 10, 5), bucket('route', 1, 2)] };
      expect(await admit(req)).toEqual({ ok: true, throttleRemaining: 1 });
      expect(await admit(req)).toEqual({ ok: true, throttleRemaining: 0 });
      expect(await admit(req)).toEqual({ ok: false, code: 'THROTTLED', retryAfterMs: 1000 });
    });

    it('is all-or-nothing: a throttle that refuses spends neither the other throttles nor the quota', async () => {
      const wide = bucket('wide', 0.001, 5);
      const narrow = bucket('narrow', 0.001, 1);
      const q = quota(100);
      expect(await admit({ throttles: [wide, narrow], quota: q })).toMatchObject({ ok: true, quotaUsed: 1 });
      const refused = await admit({ throttles: [wide, narrow], quota: q });
      expect(refused).toMatchObject({ ok: false, code: 'THROTTLED', quotaUsed: 1, quotaRemaining: 99 });
      expect(await b.quotaUsed(q.key, q.windowStart)).toBe(1);
      expect(await admit({ throttles: [wide] })).toEqual({ ok: true, throttleRemaining: 3 });
    });

    it('is all-or-nothing: a quota that refuses spends no throttle', async () => {
      const t = bucket('t', 0.001, 5);
      const q = quota(1);
      expect(await admit({ throttles: [t], quota: q })).toEqual({
        ok: true,
        quotaUsed: 1,
        quotaRemaining: 0,
        throttleRemaining: 4,
      });
      expect(await admit({ throttles: [t], quota: q })).toEqual({
        ok: false,
        code: 'QUOTA_EXCEEDED',
        retryAfterMs: DAY.end - T0,
        quotaUsed: 1,
        quotaRemaining: 0,
      });
      expect(await admit({ throttles: [t] })).toEqual({ ok: true, throttleRemaining: 3 });
    });

    it('reports the quota when both the quota and a throttle refuse', async () => {
      const t = bucket('t', 1, 1);
      await admit({ throttles: [t], quota: quota(1) });
      expect(await admit({ throttles: [t], quota: quota(1) })).toMatchObject({
        code: 'QUOTA_EXCEEDED',
        retryAfterMs: DAY.end - T0,
      });
    });

    it('exhausts a quota, then resets it at the window boundary', async () => {
      const results = [];
      for (let i = 0; i < 4; i++) results.push(await admit({ throttles: [], quota: quota(3) }, T0 + i));
      expect(results.slice(0, 3)).toEqual([
        { ok: true, quotaUsed: 1, quotaRemaining: 2, throttleRemaining: Number.POSITIVE_INFINITY },
        { ok: true, quotaUsed: 2, quotaRemaining: 1, throttleRemaining: Number.POSITIVE_INFINITY },
        { ok: true, quotaUsed: 3, quotaRemaining: 0, throttleRemaining: Number.POSITIVE_INFINITY },
      ]);
      expect(results[3]).toEqual({
        ok: false,
        code: 'QUOTA_EXCEEDED',
        retryAfterMs: DAY.end - (T0 + 3),
        quotaUsed: 3,
        quotaRemaining: 0,
      });
      expect(await admit({ throttles: [], quota: quota(3) }, DAY.end - 1)).toMatchObject({ retryAfterMs: 1 });
      const next = quotaWindow('DAY', 'UTC', DAY.end);
      expect(next.start).toBe(DAY.end);
      expect(await admit({ throttles: [], quota: quota(3, 'block', next) }, DAY.end)).toMatchObject({
        ok: true,
        quotaUsed: 1,
        quotaRemaining: 2,
      });
      expect(await b.quotaUsed('q:sub', DAY.start)).toBe(3);
      expect(await b.quotaUsed('q:sub', next.start)).toBe(1);
    });

    it("'count' mode (overage) never blocks, still counts, and flags the overage", async () => {
      const d = [];
      for (let i = 0; i < 5; i++) d.push(await admit({ throttles: [], quota: quota(2, 'count') }));
      expect(d.map((x) => x.ok)).toEqual([true, true, true, true, true]);
      expect(d[1]).toMatchObject({ quotaUsed: 2, quotaRemaining: 0 });
      expect(d[1]).not.toHaveProperty('overage');
      expect(d[2]).toMatchObject({ quotaUsed: 3, quotaRemaining: 0, overage: true });
      expect(await b.quotaUsed('q:sub', DAY.start)).toBe(5);
      // a throttle still refuses in count mode, and the refused call is not counted
      const t = bucket('t', 0.001, 1);
      await admit({ throttles: [t], quota: quota(2, 'count') });
      expect(await admit({ throttles: [t], quota: quota(2, 'count') })).toMatchObject({ code: 'THROTTLED' });
      expect(await b.quotaUsed('q:sub', DAY.start)).toBe(6);
    });

    it('a zero limit refuses every call in block mode', async () => {
      expect(await admit({ throttles: [], quota: quota(0) })).toMatchObject({
        ok: false,
        code: 'QUOTA_EXCEEDED',
        quotaUsed: 0,
        quotaRemaining: 0,
      });
    });

    it('refunds one unit, never below zero', async () => {
      for (let i = 0; i < 3; i++) await admit({ throttles: [], quota: quota(3) });
      expect((await admit({ throttles: [], quota: quota(3) })).ok).toBe(false);
      await b.refund('q:sub', DAY.start);
      expect(await b.quotaUsed('q:sub', DAY.start)).toBe(2);
      expect(await admit({ throttles: [], quota: quota(3) })).toMatchObject({ ok: true, quotaUsed: 3 });
      for (let i = 0; i < 5; i++) await b.refund('q:sub', DAY.start);
      expect(await b.quotaUsed('q:sub', DAY.start)).toBe(0);
      await b.refund('q:nobody', DAY.start);
      expect(await b.quotaUsed('q:nobody', DAY.start)).toBe(0);
    });

    it('setQuotaUsed replaces the count; seedQuotaUsed only raises it', async () => {
      await b.setQuotaUsed('q:sub', DAY.start, DAY.end, 10);
      expect(await b.quotaUsed('q:sub', DAY.start)).toBe(10);
      expect(await admit({ throttles: [], quota: quota(10) })).toMatchObject({
        code: 'QUOTA_EXCEEDED',
        quotaUsed: 10,
      });
      await b.setQuotaUsed('q:sub', DAY.start, DAY.end, 4);
      expect(await admit({ throttles: [], quota: quota(10) })).toMatchObject({ ok: true, quotaUsed: 5 });
      await b.seedQuotaUsed('q:sub', DAY.start, DAY.end, 3);
      expect(await b.quotaUsed('q:sub', DAY.start)).toBe(5);
      await b.seedQuotaUsed('q:sub', DAY.start, DAY.end, 8);
      expect(await b.quotaUsed('q:sub', DAY.start)).toBe(8);
      await b.setQuotaUsed('q:sub', DAY.start, DAY.end, 0);
      expect(await b.quotaUsed('q:sub', DAY.start)).toBe(0);
    });

    it('keeps windows and keys apart', async () => {
      const week = quotaWindow('WEEK', 'UTC', T0);
      await admit({ throttles: [], quota: quota(5, 'block', DAY, 'q:a') });
      await admit({ throttles: [], quota: quota(5, 'block', week, 'q:a') });
      await admit({ throttles: [], quota: quota(5, 'block', week, 'q:a') });
      await admit({ throttles: [], quota: quota(5, 'block', DAY, 'q:b') });
      expect(await b.quotaUsed('q:a', DAY.start)).toBe(1);
      expect(await b.quotaUsed('q:a', week.start)).toBe(2);
      expect(await b.quotaUsed('q:b', DAY.start)).toBe(1);
    });

    it('a request without limits is admitted; time running backwards refills nothing', async () => {
      expect(await admit({ throttles: [] })).toEqual({
        ok: true,
        throttleRemaining: Number.POSITIVE_INFINITY,
      });
      const t = bucket('t', 1, 2);
      await oks({ throttles: [t] }, 2, T0 + 10_000);
      expect(await admit({ throttles: [t] }, T0)).toMatchObject({ ok: false, retryAfterMs: 1000 });
      expect((await admit({ throttles: [t] }, T0 + 11_000)).ok).toBe(true);
    });

    it('a plan change (new rate/burst) applies to the bucket as it stands', async () => {
      await oks({ throttles: [bucket('t', 1, 10)] }, 10);
      expect((await admit({ throttles: [bucket('t', 100, 2)] }, T0 + 10)).ok).toBe(true);
      const d = await admit({ throttles: [bucket('t', 100, 2)] }, T0 + 1000);
      expect(d).toEqual({ ok: true, throttleRemaining: 1 });
    });
  });
}
