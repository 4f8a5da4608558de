/**
 * The spending steps (src/gateway/steps/admit.ts) over the real in-memory limits: the spend
 * cap, admit's all-or-nothing request, the verdict it turns into (what goes on the call, the
 * 429s with their limit fields, the plan's failure mode), and a licence ceiling on a public route.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTINUE, DENIED, Denial } from '../../../src/gateway/denial.js';
import type { GatewayObserver } from '../../../src/gateway/hooks.js';
import type { QuotaRef } from '../../../src/gateway/quota-sync.js';
import type { CompiledRoute, KeyEntry } from '../../../src/gateway/snapshot.js';
import {
  type AdmitTarget,
  admit,
  admitted,
  spendCap,
  underCeiling,
} from '../../../src/gateway/steps/admit.js';
import { identify } from '../../../src/gateway/steps/authenticate.js';
import { route } from '../../../src/gateway/steps/match.js';
import { MemoryLimits } from '../../../src/limits/index.js';
import { NOW, type StepFixture, stepFixture } from './fixture.js';

/** What the steps write on a call, and what they tell the observer and the outage ledger. */
function recorder() {
  const unavailable: boolean[] = [];
  const counted: QuotaRef[] = [];
  const target: AdmitTarget = {
    quota: null,
    servedOpen: null,
    limitFields: null,
  };
  const observer: GatewayObserver = { request() {}, limitsUnavailable: (open) => unavailable.push(open) };
  const fx = { observer, outage: { count: (q: QuotaRef) => counted.push(q), giveBack() {} } };
  return { unavailable, counted, target, fx };
}

describe('steps: spend cap, admit and its verdict', () => {
  let f: StepFixture;
  let key: KeyEntry;
  let item: CompiledRoute;
  beforeAll(async () => {
    f = await stepFixture();
    key = identify(f.snapshot, f.keys.good, f.apiId, NOW) as KeyEntry;
    const m = route(f.snapshot, undefined, 'GET', '/shop/items/1');
    if (m instanceof Denial) throw new Error('no route');
    item = m.route;
  });
  afterAll(async () => {
    await f.store.close();
  });

  it('the spend cap refuses like a spent quota until the budget window ends', () => {
    const capped = identify(f.snapshot, f.keys.capped, f.apiId, NOW) as KeyEntry;
    const d = spendCap(capped, NOW);
    expect(d).toMatchObject({ status: 429, body: '{"message":"Limit Exceeded"}', code: 'QUOTA_EXCEEDED' });
    expect(d?.headers).toEqual({ 'retry-after': '90' });
    expect(spendCap(capped, NOW + 90_000)).toBe(CONTINUE);
    expect(spendCap(key, NOW)).toBe(CONTINUE);
  });

  it('admits within throttle and quota, putting the spent quota and the RateLimit fields on the call', () => {
    const limits = new MemoryLimits();
    const r = recorder();
    const a = admit(limits, f.snapshot, key, item, NOW, null, true);
    if (a instanceof Promise) throw new Error('memory limits answer synchronously');
    expect(admitted(a, r.target, key, NOW, r.fx)).toBe(CONTINUE);
    expect(r.target.quota).toEqual({ key: `q:${key.subscriptionId}`, windowStart: Date.UTC(2026, 10, 26) });
    expect(r.target.limitFields).toEqual({
      'ratelimit-policy': '"throttle";q=2;w=1, "quota";q=3;w=86400',
      ratelimit: '"throttle";r=1;t=1, "quota";r=2;t=43200',
    });
  });

  it('an empty bucket is a 429 Too Many Requests with its limit fields; a spent quota a 429 Limit Exceeded', () => {
    const limits = new MemoryLimits();
    const at = (t: number) => {
      const r = recorder();
      const a = admit(limits, f.snapshot, key, item, t);
      if (a instanceof Promise) throw new Error('memory limits answer synchronously');
      return admitted(a, r.target, key, t, r.fx);
    };
    expect(at(NOW)).toBe(CONTINUE);
    expect(at(NOW)).toBe(CONTINUE);
    const throttled = at(NOW);
    expect(throttled).toMatchObject({
      status: 429,
      body: '{"message":"Too Many Requests"}',
      code: 'THROTTLED',
    });
    expect(throttled?.headers).toEqual({
      'retry-after': '1',
      'ratelimit-policy': '"throttle";q=2;w=1',
      ratelimit: '"throttle";r=0;t=1',
    });
    expect(at(NOW + 10_000)).toBe(CONTINUE); // the third of three a day
    const spent = at(NOW + 20_000);
    expect(spent).toMatchObject({
      status: 429,
      body: '{"message":"Limit Exceeded"}',
      code: 'QUOTA_EXCEEDED',
    });
    expect(spent?.headers?.['ratelimit-policy']).toBe('"quota";q=3;w=86400');
    expect(spent?.headers?.['retry-after']).toBe(String(12 * 3600 - 20));
  });

  it('a limit store that is down follows the plan: open serves and counts, closed answers 503', () => {
    const quota = { key: `q:${key.subscriptionId}`, windowStart: 1, windowEnd: 2 };
    const open = recorder();
    const v = admitted(
      { ok: false, code: 'LIMITS_UNAVAILABLE', failOpen: true, quota },
      open.target,
      key,
      NOW,
      open.fx,
    );
    expect(v).toBe(CONTINUE);
    expect(open.target.servedOpen).toBe(quota);
    expect(open.counted).toEqual([quota]);
    expect(open.unavailable).toEqual([true]);

    const closed = recorder();
    const d = admitted(
      { ok: false, code: 'LIMITS_UNAVAILABLE', failOpen: false, quota },
      closed.target,
      key,
      NOW,
      closed.fx,
    );
    expect(d).toBe(DENIED.limitsUnavailable);
    expect(d).toMatchObject({ status: 503, code: 'LIMITS_UNAVAILABLE', headers: { 'retry-after': '1' } });
    expect(closed.counted).toEqual([]);
    expect(closed.target.servedOpen).toBeNull();
    expect(closed.unavailable).toEqual([false]);
  });

  it('a licence ceiling on a public route: throttled with its limit fields, served when the store is down', () => {
    const limits = new MemoryLimits();
    const ceiling = { key: 'licence', rate: 1, burst: 1 };
    const r = recorder();
    const once = () => {
      const d = limits.admit({ throttles: [ceiling] }, NOW);
      if (d instanceof Promise) throw new Error('memory limits answer synchronously');
      return underCeiling(d, ceiling, r.fx);
    };
    expect(once()).toBe(CONTINUE);
    const d = once();
    expect(d).toMatchObject({ status: 429, code: 'THROTTLED' });
    expect(d?.headers).toEqual({
      'retry-after': '1',
      'ratelimit-policy': '"throttle";q=1;w=1',
      ratelimit: '"throttle";r=0;t=1',
    });
    const down = { ok: false as const, code: 'LIMITS_UNAVAILABLE' as const, error: new Error('down') };
    expect(underCeiling(down, ceiling, r.fx)).toBe(CONTINUE);
    expect(r.unavailable).toEqual([true]);
  });
});
